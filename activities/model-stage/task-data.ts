/**
 * Staging the labeled task data of the fine-tuning stages (evaluate, pseudolabel) as local files the trainer
 * reads: user files (local paths, or s3://bucket/key in the configured store's server), `dataset` artifacts
 * (pseudo-labels) with their fields renamed to the task's, and `pairs` artifacts (UDA) as {text, augmented}.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { once } from 'node:events';
import type { ArtifactFileT, ManifestT } from '../../schemas/manifest';
import { ConfigError, InputError } from '../errors';
import { jsonLines } from '../jsonl';
import { decompressed } from '../shard-codec';
import { s3Fingerprint, type ArtifactStore } from '../store';
import type { StageInputArtifact } from '../stages/types';

/** Record schema of `dataset` artifacts written by the pseudolabel stage. */
export const PSEUDO_LABEL_SCHEMA = 'pseudo-labels/v1';

export function refList(ref: string | string[] | undefined): string[] {
  return ref === undefined ? [] : Array.isArray(ref) ? ref : [ref];
}

/**
 * Each reference as a local file: local paths are checked and used in place; s3:// objects are downloaded into
 * `dir`. `param` (e.g. data.train) names the parameter in errors.
 */
export async function stageTaskFiles(store: ArtifactStore, refs: readonly string[], dir: string, param: string): Promise<string[]> {
  const out: string[] = [];
  for (const [i, ref] of refs.entries()) {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(ref);
    if (!m) {
      let st: fs.Stats;
      try {
        st = fs.statSync(ref);
      } catch {
        throw new ConfigError(`${param}: file ${ref} does not exist`);
      }
      if (!st.isFile()) throw new ConfigError(`${param}: ${ref} is not a file (expected JSONL, optionally gzip-compressed)`);
      out.push(ref);
      continue;
    }
    if (ref.endsWith('/')) throw new ConfigError(`${param}: ${ref} names a prefix; expected s3://bucket/key of one JSONL file`);
    const [, bucket, key] = m;
    fs.mkdirSync(dir, { recursive: true });
    const local = path.join(dir, `${param.replace(/\W+/g, '-')}-${i}-${path.basename(key)}`);
    try {
      await store.client.fGetObject(bucket, key, local);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchBucket') {
        throw new ConfigError(`${param}: ${ref} does not exist in ${store.config.endpoint}`);
      }
      throw e;
    }
    out.push(local);
  }
  return out;
}

/** The JSONL shards of an artifact (side files such as stats.json left out). */
function jsonlShards(manifest: ManifestT): ArtifactFileT[] {
  return manifest.files.filter((f) => /\.jsonl(\.gz|\.zst)?$/.test(f.name));
}

async function* artifactRecords(store: ArtifactStore, input: StageInputArtifact): AsyncGenerator<{ rec: Record<string, unknown>; where: string }> {
  for (const f of jsonlShards(input.manifest)) {
    const where = `${input.manifest.kind} of stage ${input.stage}, ${f.name}`;
    // zstd or gzip shards, or plain JSONL: told by the first bytes (activities/shard-codec.ts).
    for await (const { value, line } of jsonLines(decompressed(await store.getStream(f.key), f.name), where)) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InputError(`${where}:${line}: not a JSON object`);
      yield { rec: value as Record<string, unknown>, where: `${where}:${line}` };
    }
  }
}

async function writeLine(out: fs.WriteStream, rec: unknown): Promise<void> {
  if (!out.write(JSON.stringify(rec) + '\n')) await once(out, 'drain');
}

async function closeFile(out: fs.WriteStream): Promise<void> {
  out.end();
  await once(out, 'close');
}

export interface TaskFields {
  textField: string;
  labelField: string;
  tokensField?: string;
  tagsField?: string;
}

/**
 * Labeled rows of `dataset` artifacts ({text, label} or {tokens, tags}) as one local JSONL file with the task's
 * field names, so they can join the user's train files. Returns the number of rows (0: no file written).
 */
export async function stageDatasets(store: ArtifactStore, inputs: readonly StageInputArtifact[], file: string, fields: TaskFields): Promise<number> {
  if (!inputs.length) return 0;
  const out = fs.createWriteStream(file);
  let n = 0;
  try {
    for (const input of inputs) {
      for await (const { rec, where } of artifactRecords(store, input)) {
        if (typeof rec.text === 'string' && typeof rec.label === 'string') {
          await writeLine(out, { [fields.textField]: rec.text, [fields.labelField]: rec.label });
        } else if (Array.isArray(rec.tokens) && Array.isArray(rec.tags) && fields.tokensField && fields.tagsField) {
          await writeLine(out, { [fields.tokensField]: rec.tokens, [fields.tagsField]: rec.tags });
        } else {
          throw new InputError(`${where}: expected a labeled row {text, label}${fields.tokensField ? ' or {tokens, tags}' : ''}`);
        }
        n++;
      }
    }
  } finally {
    await closeFile(out);
  }
  if (!n) fs.rmSync(file, { force: true });
  return n;
}

/** (original, augmented) rows of `pairs` artifacts as one local {text, augmented} JSONL file; returns the count. */
export async function stagePairs(store: ArtifactStore, inputs: readonly StageInputArtifact[], file: string): Promise<number> {
  const out = fs.createWriteStream(file);
  let n = 0;
  try {
    for (const input of inputs) {
      for await (const { rec, where } of artifactRecords(store, input)) {
        if (typeof rec.text !== 'string' || typeof rec.augmented !== 'string') throw new InputError(`${where}: expected a pair {text, augmented}`);
        await writeLine(out, { text: rec.text, augmented: rec.augmented });
        n++;
      }
    }
  } finally {
    await closeFile(out);
  }
  if (!n) fs.rmSync(file, { force: true });
  return n;
}

/** Non-blank lines of local JSONL(.gz) files: the row count of staged task data, for the manifest. */
export function countRows(files: readonly string[]): number {
  let n = 0;
  for (const f of files) {
    let buf = fs.readFileSync(f);
    if (f.endsWith('.gz')) buf = zlib.gunzipSync(buf);
    for (const line of buf.toString('utf8').split('\n')) if (line.trim()) n++;
  }
  return n;
}

/** Size and mtime of local task files; key, size and ETag of s3:// ones (an overwritten object is a miss). */
export async function taskFilesFingerprint(refs: (string | string[] | undefined)[], store: ArtifactStore | undefined): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const f of refs.flatMap(refList)) {
    if (f.startsWith('s3://')) {
      if (!store) throw new Error(`${f}: an s3:// task file needs the store to fingerprint`);
      out.push(await s3Fingerprint(store, f, { as: 'object' }));
      continue;
    }
    try {
      const st = fs.statSync(f);
      out.push([f, st.size, Math.round(st.mtimeMs)]);
    } catch {
      out.push({ missing: f }); // reported by the stage itself, as a ConfigError naming the path
    }
  }
  return out;
}
