/**
 * Staging the trainer's inputs in the attempt's work dir: the base model (a local directory, an s3:// prefix in
 * the configured store, or a `model` artifact), the domain and general documents split into train and held-out
 * files, and the lexicon of a `newwords` stage. The trainer only ever sees local paths.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import readline from 'node:readline';
import zlib from 'node:zlib';
import type { ArtifactFileT, ManifestT } from '../../schemas/manifest';
import { documentShards, readDocuments, readShard } from '../documents';
import { ConfigError, InputError } from '../errors';
import { keys, s3Fingerprint, type ArtifactStore } from '../store';
import { promotedName, readPromoted } from './registry';
import type { StageInputArtifact } from '../stages/types';
import { downloadFiles, listFiles, localPathOf } from './files';

/**
 * Where a model comes from; recorded in the pretrain manifest so the perplexity stage finds the same base. A
 * promoted model (`promoted:<name>`) is recorded as the artifact the pointer named when the stage started.
 */
export type ModelSource = { path: string } | { s3: string } | { artifact: string; stage: string; promoted?: string };

/** Files of a model artifact that are not the model: the held-out splits the pretrain stage keeps beside it. */
export const HELDOUT_PREFIX = 'eval/';

export function modelSourceOf(ref: string): ModelSource {
  return ref.startsWith('s3://') ? { s3: ref } : { path: ref };
}

/**
 * A model reference of the params as a source: `promoted:<name>` reads the promoted-model pointer (the fallback,
 * when nothing was promoted under that name yet); anything else is a local directory or an s3:// prefix.
 */
export async function resolveModelRef(store: ArtifactStore, ref: string, fallback: string | undefined, param = 'baseModel'): Promise<ModelSource> {
  const name = promotedName(ref);
  if (name === undefined) return modelSourceOf(ref);
  const latest = await readPromoted(store, name);
  if (latest) return { artifact: latest.model.digest, stage: latest.model.stage, promoted: name };
  if (fallback) return modelSourceOf(fallback);
  throw new ConfigError(`${param}: nothing has been promoted as "${name}" yet (${keys.promotedLatest(name)} is absent in the store): give fallbackModel for the first run`);
}

/**
 * Cache-key material of a model reference: a local directory's file sizes and mtimes, an s3:// prefix's object
 * keys, sizes and ETags (an overwritten file is a miss), or the artifact a promoted-model pointer names now (a new
 * promotion is a miss).
 */
export async function modelRefFingerprint(ref: string | undefined, fallback: string | undefined, store: ArtifactStore | undefined): Promise<unknown> {
  const name = promotedName(ref);
  if (name === undefined) return modelDirFingerprint(ref, store);
  if (!store) throw new Error(`${ref}: a promoted-model reference needs the store to fingerprint`);
  const latest = await readPromoted(store, name);
  return latest ? { promoted: name, artifact: latest.model.digest } : { promoted: name, artifact: null, fallback: await modelDirFingerprint(fallback, store) };
}

/** Cache-key material of a model directory: local (sizes and mtimes) or an s3:// prefix (keys, sizes, ETags). */
export async function modelDirFingerprint(ref: string | undefined, store: ArtifactStore | undefined): Promise<unknown> {
  if (!ref?.startsWith('s3://')) return localModelFingerprint(ref);
  if (!store) throw new Error(`${ref}: an s3:// model needs the store to fingerprint`);
  return s3Fingerprint(store, ref, { folder: true });
}

export function describeSource(s: ModelSource): string {
  if ('path' in s) return s.path;
  if ('s3' in s) return s.s3;
  if (s.promoted) return `the promoted model ${s.promoted} (${s.artifact.slice(0, 12)})`;
  return `the model of stage ${s.stage} (${s.artifact.slice(0, 12)})`;
}

/** Makes the model available as a local directory and returns it (a local path is used in place). */
/** Weights and checkpoints: what a stage that needs only the tokenizer (and config.json) leaves in the store. */
export const WEIGHT_FILE = /\.(safetensors|bin|pt|pth|h5|msgpack|ckpt|onnx|gguf)$/;

/** A model's files without its weights: enough for AutoTokenizer (tokenizer files, config.json). */
export const tokenizerFilesOnly = (name: string): boolean => !WEIGHT_FILE.test(name);

/** `keep`: which of the model's files to download (by relative name); default all. A local directory is used in place. */
export async function stageModel(store: ArtifactStore, src: ModelSource, dest: string, param = 'baseModel', keep: (name: string) => boolean = () => true): Promise<string> {
  if ('path' in src) {
    let st: fs.Stats;
    try {
      st = fs.statSync(src.path);
    } catch {
      throw new ConfigError(`${param}: model directory ${src.path} does not exist`);
    }
    if (!st.isDirectory()) throw new ConfigError(`${param}: ${src.path} is not a directory (expected a Hugging Face model directory)`);
    if (!fs.existsSync(path.join(src.path, 'config.json'))) throw new ConfigError(`${param}: ${src.path} has no config.json (not a Hugging Face model directory)`);
    return src.path;
  }
  if ('s3' in src) {
    await downloadS3Prefix(store, src.s3, dest, param, keep);
  } else {
    const manifest = await store.readManifest(src.artifact);
    if (!manifest) throw new InputError(`${param}: model artifact ${src.artifact} of stage ${src.stage} has no manifest in the store`);
    await downloadFiles(store, modelFiles(manifest).filter((f) => keep(f.name)), dest);
  }
  if (!fs.existsSync(path.join(dest, 'config.json'))) throw new ConfigError(`${param}: ${describeSource(src)} has no config.json (not a Hugging Face model directory)`);
  return dest;
}

/** How many positions the model in `dir` has (config.json), when it says. */
export function modelPositions(dir: string): number | undefined {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const n = c.max_position_embeddings ?? c.n_positions ?? c.n_ctx ?? c.max_sequence_length;
    return typeof n === 'number' && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The files of a model artifact that make up the model itself (held-out data left out). */
export function modelFiles(manifest: ManifestT): ManifestT['files'] {
  return manifest.files.filter((f) => !f.name.startsWith(HELDOUT_PREFIX));
}

/** s3://bucket/prefix/ in the configured store's server, every object below the prefix, by relative path. */
async function downloadS3Prefix(store: ArtifactStore, uri: string, dest: string, param: string, keep: (name: string) => boolean): Promise<void> {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new ConfigError(`${param}: ${uri} is not an s3://bucket/prefix/ reference`);
  const [, bucket, rawPrefix] = m;
  const prefix = rawPrefix && !rawPrefix.endsWith('/') ? `${rawPrefix}/` : rawPrefix;
  const objects: string[] = [];
  try {
    const stream = store.client.listObjectsV2(bucket, prefix, true);
    for await (const item of stream as AsyncIterable<{ name?: string }>) if (item.name) objects.push(item.name);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'NoSuchBucket') throw new ConfigError(`${param}: bucket ${bucket} of ${uri} does not exist in ${store.config.endpoint}`);
    throw e;
  }
  if (!objects.length) throw new ConfigError(`${param}: no objects under ${uri} in ${store.config.endpoint}`);
  for (const key of objects) {
    if (!keep(key.slice(prefix.length))) continue;
    const local = localPathOf(dest, key.slice(prefix.length));
    fs.mkdirSync(path.dirname(local), { recursive: true });
    await store.client.fGetObject(bucket, key, local);
  }
}

/** Size and mtime of every file of a local model directory: cache-key material (a changed model is a miss); s3:// → null (modelDirFingerprint). */
export function localModelFingerprint(ref: string | undefined): unknown {
  if (!ref || ref.startsWith('s3://')) return null;
  try {
    return listFiles(ref).map((f) => {
      const st = fs.statSync(path.join(ref, f));
      return [f, st.size, Math.round(st.mtimeMs)];
    });
  } catch {
    return { missing: ref }; // reported by the stage itself, as a ConfigError naming the path
  }
}

/** A gzip JSONL file being written, with backpressure; `close()` returns the path, or undefined when empty. */
class JsonlGzFile {
  private readonly gz = zlib.createGzip();
  private readonly file: fs.WriteStream;
  count = 0;

  constructor(readonly path: string) {
    this.file = fs.createWriteStream(path);
    this.gz.pipe(this.file);
  }

  async write(rec: unknown): Promise<void> {
    this.count++;
    if (!this.gz.write(JSON.stringify(rec) + '\n')) await once(this.gz, 'drain');
  }

  async close(): Promise<string | undefined> {
    this.gz.end();
    await once(this.file, 'close');
    if (this.count) return this.path;
    fs.rmSync(this.path, { force: true });
    return undefined;
  }
}

/** Whether a document is held out: by a hash of its id, so the split is the same on every attempt and rerun. */
export function isHeldOut(id: string, fraction: number): boolean {
  if (fraction <= 0) return false;
  return createHash('sha256').update(id).digest().readUInt32BE(0) / 2 ** 32 < fraction;
}

export interface Split {
  /** One file per input shard that kept a training document, in input order: the trainer tokenises (and caches) each on its own. */
  train: string[];
  eval?: string;
  trainDocs: number;
  evalDocs: number;
}

/**
 * Documents of some `documents` artifacts → `<name>-train-<i>.jsonl.gz` (one per input shard, so a shard's
 * tokens are cached under that shard's content) and `<name>-eval.jsonl.gz` in `dir`.
 */
export async function splitDocuments(
  store: ArtifactStore,
  manifests: readonly ManifestT[],
  fraction: number,
  dir: string,
  name: string,
  signal: AbortSignal,
): Promise<Split> {
  const held = new JsonlGzFile(path.join(dir, `${name}-eval.jsonl.gz`));
  const train: string[] = [];
  let trainDocs = 0;
  for (const f of manifests.flatMap((m) => documentShards(m))) {
    const out = new JsonlGzFile(path.join(dir, `${name}-train-${String(train.length).padStart(5, '0')}.jsonl.gz`));
    await splitShard(store, f, fraction, out, held, signal);
    trainDocs += out.count;
    const file = await out.close();
    if (file) train.push(file);
  }
  const evalDocs = held.count;
  return { train, eval: await held.close(), trainDocs, evalDocs };
}

/**
 * One document shard split by document id into train and held-out files (as `{id, text}`): what pretrain does
 * per shard and the tokenize stage per task, so both hand the trainer the same train files (byte for byte: the
 * token shards' content keys agree) and hold out the same documents.
 */
async function splitShard(store: ArtifactStore, f: ArtifactFileT, fraction: number, train: JsonlGzFile, held: JsonlGzFile, signal: AbortSignal, wholeHeld = false): Promise<void> {
  for await (const doc of readShard(store, f)) {
    if (!doc.text.trim()) continue;
    if (isHeldOut(doc.id, fraction)) await held.write(wholeHeld ? doc : { id: doc.id, text: doc.text });
    else await train.write({ id: doc.id, text: doc.text });
    if ((train.count + held.count) % 10_000 === 0) signal.throwIfAborted();
  }
}

/**
 * One document shard's split as files in `dir`: `<name>-train.jsonl.gz` for the trainer and `<name>-eval.jsonl.gz`,
 * whose records are whole documents (a documents shard; concatDocuments reads them back). Undefined when empty.
 */
export async function splitOneShard(
  store: ArtifactStore,
  f: ArtifactFileT,
  fraction: number,
  dir: string,
  name: string,
  signal: AbortSignal,
): Promise<{ train?: string; eval?: string; trainDocs: number; evalDocs: number }> {
  const train = new JsonlGzFile(path.join(dir, `${name}-train.jsonl.gz`));
  const held = new JsonlGzFile(path.join(dir, `${name}-eval.jsonl.gz`));
  await splitShard(store, f, fraction, train, held, signal, true);
  const [trainDocs, evalDocs] = [train.count, held.count];
  return { train: await train.close(), eval: await held.close(), trainDocs, evalDocs };
}

/** Documents shards (e.g. splitOneShard's held-out files) as one `{id, text}` file, as splitDocuments writes its held-out split. */
export async function concatDocuments(store: ArtifactStore, files: readonly ArtifactFileT[], file: string): Promise<{ path?: string; docs: number }> {
  const out = new JsonlGzFile(file);
  for (const f of files) for await (const doc of readShard(store, f)) await out.write({ id: doc.id, text: doc.text });
  const docs = out.count;
  return { path: await out.close(), docs };
}

/** Every document of some artifacts, as one local gzip JSONL file (undefined when there are none). */
export async function writeDocuments(store: ArtifactStore, manifests: readonly ManifestT[], file: string): Promise<string | undefined> {
  const out = new JsonlGzFile(file);
  for (const m of manifests) for await (const doc of readDocuments(store, m)) if (doc.text.trim()) await out.write({ id: doc.id, text: doc.text });
  return out.close();
}

/**
 * The words of a `lexicon` artifact (JSONL `{word, ...}` per line, plain or gzip; a line that is not JSON is a
 * word) as a local `{"word": ...}` JSONL file the trainer reads. Returns the file and the number of words.
 */
/** A lexicon artifact's glossary (the longtail stage's): term → definition lines beside the lexicon, not words of it. */
export const DICTIONARY_FILE = 'dictionary.jsonl';

/** The files of a lexicon artifact that hold its words. */
export function lexiconFiles(manifest: ManifestT): ManifestT['files'] {
  return manifest.files.filter((f) => f.name !== DICTIONARY_FILE);
}

export async function stageLexicon(store: ArtifactStore, input: StageInputArtifact, file: string): Promise<{ path: string; words: number }> {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const f of lexiconFiles(input.manifest)) {
    let stream: NodeJS.ReadableStream = await store.getStream(f.key);
    if (f.name.endsWith('.gz')) stream = stream.pipe(zlib.createGunzip());
    let n = 0;
    for await (const raw of readline.createInterface({ input: stream, crlfDelay: Infinity })) {
      n++;
      const line = raw.trim();
      if (!line) continue;
      let word: unknown = line;
      if (line.startsWith('{')) {
        try {
          word = (JSON.parse(line) as { word?: unknown }).word;
        } catch {
          throw new InputError(`lexicon of stage ${input.stage}, ${f.name}:${n}: not valid JSON`);
        }
        if (typeof word !== 'string') throw new InputError(`lexicon of stage ${input.stage}, ${f.name}:${n}: no "word" string field`);
      }
      const w = (word as string).trim();
      if (w && !seen.has(w)) {
        seen.add(w);
        lines.push(JSON.stringify({ word: w }));
      }
    }
  }
  fs.writeFileSync(file, lines.length ? lines.join('\n') + '\n' : '');
  return { path: file, words: lines.length };
}
