/**
 * The exact-duplicate key: a hash of the normalized text. Shared by the exact-only dedupe (in memory) and the
 * near-dedupe fan-out, where the key's first 64 bits go into the same sorted bucket files as the LSH bands.
 */
import { createHash } from 'node:crypto';
import type { StageParams } from '../../../../schemas/stages';

export type DedupeNormalize = StageParams<'dedupe'>['normalize'];

/** The text as the hash sees it: NFKC always (full-width and ligature forms equal their plain forms). */
export function normalizeForDedupe(text: string, opts: DedupeNormalize): string {
  let t = text.normalize('NFKC');
  if (opts.lowercase) t = t.toLowerCase();
  if (opts.punctuation) t = t.replace(/\p{P}+/gu, '');
  if (opts.whitespace) t = t.replace(/\s+/gu, ' ').trim();
  return t;
}

/** 16-byte digest prefix of the normalized text. */
export function exactDigest(text: string, opts: DedupeNormalize): Buffer {
  return createHash('sha256').update(normalizeForDedupe(text, opts)).digest().subarray(0, 16);
}
