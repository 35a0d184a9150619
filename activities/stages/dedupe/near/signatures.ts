/**
 * Step 1 of near-dedupe, per input shard: read the documents once; for each, the exact key (normalized text
 * hash) and the MinHash signature. Writes the shard's signatures and, per bucket group, its sorted bucket runs:
 * group 0 holds the exact keys, groups 1.. the LSH band keys, each record (key hi, key lo, document).
 */
import type { ArtifactFileT } from '../../../../schemas/manifest';
import { readShard } from '../../../documents';
import type { StageContext } from '../../types';
import type { StageParams } from '../../../../schemas/stages';
import { exactDigest } from './exact-key';
import { bandKey, makePermutations, signature } from './minhash';
import { objectKeys, putUint32 } from './objects';
import type { NearOptions } from './params';
import { sortByKey64 } from './radix';
import { ShingleBuilder } from './shingles';

export interface SignatureTask {
  prefix: string;
  shard: number;
  file: Pick<ArtifactFileT, 'key' | 'name'>;
  /** A shard of the `against` input: indexed and clustered, never written out. */
  reference: boolean;
}

export interface SignatureResult {
  prefix: string;
  shard: number;
  file: SignatureTask['file'];
  reference: boolean;
  docs: number;
  /** Documents with at least one shingle (the others only take part in exact dedupe). */
  indexed: number;
}

/** Bucket groups: [exact], then the bands in runs of `bandsPerTask`. Each group is one step-2 task. */
export function bucketGroups(opts: NearOptions): number[][] {
  const groups: number[][] = [[-1]];
  for (let b = 0; b < opts.bands; b += opts.bandsPerTask) {
    groups.push(Array.from({ length: Math.min(opts.bandsPerTask, opts.bands - b) }, (_, k) => b + k));
  }
  return groups;
}

export async function computeSignatures(ctx: StageContext<StageParams<'dedupe'>>, opts: NearOptions, task: SignatureTask): Promise<SignatureResult> {
  const perms = makePermutations(opts.numPerm, opts.seed);
  const shingler = new ShingleBuilder(opts);
  let sigs: Uint32Array = new Uint32Array(opts.numPerm * 1024);
  let exact: Uint32Array = new Uint32Array(2 * 1024);
  const indexedDocs: number[] = [];
  let docs = 0;
  for await (const doc of readShard(ctx.store, task.file as ArtifactFileT)) {
    if (sigs.length < (docs + 1) * opts.numPerm) {
      sigs = grow(sigs, sigs.length * 2);
      exact = grow(exact, exact.length * 2);
    }
    const digest = exactDigest(doc.text, ctx.params.normalize);
    exact[2 * docs] = digest.readUInt32BE(0);
    exact[2 * docs + 1] = digest.readUInt32BE(4);
    const n = shingler.build(doc.text);
    const sig = sigs.subarray(docs * opts.numPerm, (docs + 1) * opts.numPerm);
    if (n > 0) {
      signature(shingler.shingles, n, perms, sig);
      indexedDocs.push(docs);
    } else sig.fill(0xffffffff);
    if (++docs % 1000 === 0) {
      ctx.signal.throwIfAborted();
      ctx.progress({ message: `shard ${task.shard}: ${docs} signatures` });
    }
  }
  await putUint32(ctx.store, objectKeys.signatures(task.prefix, task.shard), sigs.subarray(0, docs * opts.numPerm));
  const groups = bucketGroups(opts);
  for (let g = 0; g < groups.length; g++) {
    const sections = groups[g].map((band) => (band < 0 ? exactSection(exact, docs) : bandSection(sigs, indexedDocs, band, opts)));
    await putUint32(ctx.store, objectKeys.buckets(task.prefix, task.shard, g), packSections(sections));
  }
  return { prefix: task.prefix, shard: task.shard, file: task.file, reference: task.reference, docs, indexed: indexedDocs.length };
}

interface Section {
  hi: Uint32Array;
  lo: Uint32Array;
  id: Uint32Array;
}

function exactSection(exact: Uint32Array, docs: number): Section {
  const hi = new Uint32Array(docs);
  const lo = new Uint32Array(docs);
  for (let d = 0; d < docs; d++) [hi[d], lo[d]] = [exact[2 * d], exact[2 * d + 1]];
  return sorted(hi, lo, Uint32Array.from({ length: docs }, (_, d) => d));
}

function bandSection(sigs: Uint32Array, docs: number[], band: number, opts: NearOptions): Section {
  const key = new Uint32Array(2);
  const hi = new Uint32Array(docs.length);
  const lo = new Uint32Array(docs.length);
  docs.forEach((d, i) => {
    bandKey(sigs, d * opts.numPerm, band, opts.rows, key, 0);
    [hi[i], lo[i]] = [key[0], key[1]];
  });
  return sorted(hi, lo, Uint32Array.from(docs));
}

function sorted(hi: Uint32Array, lo: Uint32Array, id: Uint32Array): Section {
  const order = sortByKey64(hi, lo, id.length);
  return { hi: order.map((i) => hi[i]), lo: order.map((i) => lo[i]), id: order.map((i) => id[i]) };
}

/** [sections, then per section: n, hi[n], lo[n], id[n]] in one array: one object per (shard, group). */
export function packSections(sections: Section[]): Uint32Array {
  const out = new Uint32Array(1 + sections.reduce((s, x) => s + 1 + 3 * x.id.length, 0));
  out[0] = sections.length;
  let at = 1;
  for (const s of sections) {
    out[at++] = s.id.length;
    for (const part of [s.hi, s.lo, s.id]) {
      out.set(part, at);
      at += part.length;
    }
  }
  return out;
}

export function unpackSections(data: Uint32Array): Section[] {
  const out: Section[] = [];
  let at = 1;
  for (let k = 0; k < data[0]; k++) {
    const n = data[at++];
    out.push({ hi: data.subarray(at, at + n), lo: data.subarray(at + n, at + 2 * n), id: data.subarray(at + 2 * n, at + 3 * n) });
    at += 3 * n;
  }
  return out;
}

function grow(a: Uint32Array, size: number): Uint32Array {
  const b = new Uint32Array(size);
  b.set(a);
  return b;
}
