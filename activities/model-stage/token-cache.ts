/**
 * Where trainers on this worker keep token shards (trainer/token_shards.py): outside any attempt's work dir, so
 * retries, resumes and later runs reuse them. A `tokens` artifact (the tokenize stage's) lists its token shards
 * in `tokens.json`; a pretrain stage downloads them into this directory under their content keys, the names the
 * trainer's own cache gives them, so whichever path built or fetched a shard, the other reuses it and the
 * trainer evicts both by size.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ArtifactFileT, ManifestT } from '../../schemas/manifest';
import { InputError } from '../errors';
import type { ArtifactStore } from '../store';
import type { StageInputArtifact } from '../stages/types';
import { concatDocuments } from './staging';

export function tokenCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DAPT_TOKEN_CACHE || path.join(env.DAPT_CACHE_DIR || path.join(os.homedir(), '.cache', 'dapt'), 'tokens');
}

/** The index file of a `tokens` artifact. */
export const TOKENS_INDEX = 'tokens.json';
export const TOKEN_SHARD_PREFIX = 'tokens/';
export const HELDOUT_SHARD_PREFIX = 'heldout/';

/** What a tokenize stage's output holds: written once by its reduce, read by pretrain. */
export interface TokensIndex {
  /** sha256 of the tokenizer's serialisation (trainer/token_shards.py tokenizer_digest) */
  tokenizer: string;
  /** the encode parameters that change tokens (EncodeParams.as_meta) */
  encode: Record<string, unknown>;
  objective: 'mlm' | 'clm';
  evalFraction: number;
  /** per document shard with training documents, in input order: the artifact file's name and its content key */
  shards: { name: string; key: string; tokens: number; docs: number }[];
  /** held-out documents shards (file names), in input order */
  heldout: string[];
}

export async function readTokensIndex(store: ArtifactStore, stage: string, manifest: ManifestT): Promise<TokensIndex> {
  const file = manifest.files.find((f) => f.name === TOKENS_INDEX);
  if (!file) throw new InputError(`the tokens of ${stage} (${manifest.digest.slice(0, 12)}) have no ${TOKENS_INDEX}`);
  const chunks: Buffer[] = [];
  for await (const c of await store.getStream(file.key)) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as TokensIndex;
}

function fileNamed(manifest: ManifestT, name: string): ArtifactFileT {
  const f = manifest.files.find((x) => x.name === name);
  if (!f) throw new InputError(`tokens artifact ${manifest.digest.slice(0, 12)}: ${TOKENS_INDEX} lists ${name}, which it does not hold`);
  return f;
}

/** The held-out documents shards of a tokens artifact, in input order. */
export function heldoutFiles(manifest: ManifestT, index: TokensIndex): ArtifactFileT[] {
  return index.heldout.map((n) => fileNamed(manifest, n));
}

/**
 * The token shards of a tokens artifact as local files in `dir` (the worker's token cache), downloaded only when
 * missing: a resume, a retry or another run on this worker fetches nothing. A download lands under a private
 * name and is renamed in place, so concurrent attempts never see a partial shard. With `pinDir` (the attempt's
 * work dir) each shard is also hard-linked there and that link is what the trainer reads: another trainer on this
 * worker evicting the cache entry in between removes a name, not the data this attempt uses. (Across file systems
 * no link can be made and the cache path is used as it is.)
 */
export async function stageTokenShards(store: ArtifactStore, manifest: ManifestT, index: TokensIndex, dir: string, pinDir?: string): Promise<{ paths: string[]; downloaded: number }> {
  fs.mkdirSync(dir, { recursive: true });
  if (pinDir) fs.mkdirSync(pinDir, { recursive: true });
  const paths: string[] = [];
  let downloaded = 0;
  for (const s of index.shards) {
    const f = fileNamed(manifest, s.name);
    const local = path.join(dir, `${s.key}.tok`);
    for (let attempt = 0; ; attempt++) {
      if (fs.existsSync(local) && fs.statSync(local).size === f.bytes) {
        const now = new Date();
        fs.utimesSync(local, now, now); // most recently used, as the trainer's cache counts it
      } else {
        const part = path.join(dir, `.${s.key}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
        try {
          await store.downloadFile(f.key, part);
          fs.renameSync(part, local);
        } finally {
          fs.rmSync(part, { force: true });
        }
        downloaded++;
      }
      const pinned = pinDir ? pin(local, pinDir) : local;
      if (pinned) {
        paths.push(pinned);
        break;
      }
      if (attempt > 0) throw new Error(`token shard ${s.name}: evicted from ${dir} twice while being staged`);
    }
  }
  return { paths, downloaded };
}

/** `local` hard-linked into `pinDir`; undefined when it was evicted meanwhile (fetch it again), `local` itself across file systems. */
function pin(local: string, pinDir: string): string | undefined {
  const pinned = path.join(pinDir, path.basename(local));
  fs.rmSync(pinned, { force: true });
  try {
    fs.linkSync(local, pinned);
    return pinned;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return local;
  }
}

/**
 * A `tokens` input as pretrain's domain data: the token shards in the worker's cache (`cacheDir`) and the held-out
 * documents as one `{id, text}` file (`evalFile`), the file splitDocuments writes from the same documents.
 */
export async function stageTokensInput(store: ArtifactStore, input: StageInputArtifact, cacheDir: string, evalFile: string) {
  const index = await readTokensIndex(store, input.stage, input.manifest);
  const { paths, downloaded } = await stageTokenShards(store, input.manifest, index, cacheDir, path.join(path.dirname(evalFile), 'token-shards'));
  const held = await concatDocuments(store, heldoutFiles(input.manifest, index), evalFile);
  return { index, tokens: paths, downloaded, eval: held.path, evalDocs: held.docs, trainDocs: index.shards.reduce((n, s) => n + s.docs, 0) };
}
