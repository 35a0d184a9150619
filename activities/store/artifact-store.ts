/**
 * The artifact store over any S3-compatible server (MinIO locally). Blobs are content-addressed and written
 * whole (an S3 PUT is atomic), manifests are written after their blobs and cache entries after their manifests,
 * so a crash at any point leaves nothing that looks complete but is not.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline as pipe } from 'node:stream/promises';
import * as Minio from 'minio';
import { canonicalJson } from '../../schemas/canonical';
import { Manifest, type ArtifactFileT, type ManifestT } from '../../schemas/manifest';
import { keys } from './keys';

export interface StoreConfig {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** Prefix for every key, e.g. a team's folder in a shared bucket. */
  prefix?: string;
  region?: string;
  /** PEM CA bundle that signed an https endpoint's certificate (a private CA). */
  caFile?: string;
}

export interface RunStageRecord {
  stage: string;
  digest: string;
  cached: boolean;
  cacheKey: string;
}

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

export class ArtifactStore {
  readonly client: Minio.Client;
  readonly bucket: string;
  private readonly prefix: string;

  constructor(readonly config: StoreConfig) {
    const url = new URL(config.endpoint);
    this.client = new Minio.Client({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
      useSSL: url.protocol === 'https:',
      accessKey: config.accessKey,
      secretKey: config.secretKey,
      region: config.region ?? 'us-east-1',
      ...(config.caFile && url.protocol === 'https:' ? { transportAgent: new https.Agent({ ca: fs.readFileSync(config.caFile), keepAlive: true }) } : {}),
    });
    this.bucket = config.bucket;
    this.prefix = config.prefix ?? '';
  }

  key(k: string): string {
    return this.prefix + k;
  }

  async ensureBucket(): Promise<void> {
    try {
      if (!(await this.client.bucketExists(this.bucket))) await this.client.makeBucket(this.bucket);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'BucketAlreadyOwnedByYou') return;
      throw this.wrap(e, `bucket ${this.bucket}`);
    }
  }

  /** Upload a local file as a content-addressed blob; an existing blob of the same digest is reused. */
  async putFile(localPath: string, name: string, records?: number): Promise<ArtifactFileT> {
    const sha256 = await sha256File(localPath);
    const bytes = fs.statSync(localPath).size;
    const key = keys.blob(sha256);
    const existing = await this.statSize(key);
    if (existing !== bytes) {
      await this.guard(key, () => this.client.fPutObject(this.bucket, this.key(key), localPath));
    }
    return { key, name, sha256, bytes, ...(records === undefined ? {} : { records }) };
  }

  async getStream(key: string): Promise<Readable> {
    return this.guard(key, () => this.client.getObject(this.bucket, this.key(key)));
  }

  async downloadFile(key: string, localPath: string): Promise<void> {
    await pipe(await this.getStream(key), fs.createWriteStream(localPath));
  }

  /** Size of an object, or undefined when it does not exist. */
  async statSize(key: string): Promise<number | undefined> {
    try {
      return (await this.client.statObject(this.bucket, this.key(key))).size;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.wrap(e, key);
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    const body = Buffer.from(JSON.stringify(value, null, 2));
    await this.guard(key, () =>
      this.client.putObject(this.bucket, this.key(key), body, body.length, { 'Content-Type': 'application/json' }),
    );
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    let stream: Readable;
    try {
      stream = await this.client.getObject(this.bucket, this.key(key));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.wrap(e, key);
    }
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
  }

  async list(prefix: string): Promise<{ key: string; size: number }[]> {
    const out: { key: string; size: number }[] = [];
    const stream = this.client.listObjectsV2(this.bucket, this.key(prefix), true);
    try {
      for await (const item of stream as AsyncIterable<{ name?: string; size: number }>) {
        if (item.name) out.push({ key: item.name.slice(this.prefix.length), size: item.size });
      }
    } catch (e) {
      throw this.wrap(e, prefix);
    }
    return out;
  }

  async remove(key: string): Promise<void> {
    await this.guard(key, () => this.client.removeObject(this.bucket, this.key(key)));
  }

  /** Publish a manifest; the digest covers content and lineage, not who produced it or when. */
  async writeManifest(m: Omit<ManifestT, 'digest'>): Promise<ManifestT> {
    const digest = manifestDigest(m);
    const manifest: ManifestT = Manifest.parse({ ...m, digest });
    // Immutable: the first producer of an identical artifact stays on record.
    const existing = await this.readManifest(digest);
    if (!existing) await this.putJson(keys.manifest(digest), manifest);
    return existing ?? manifest;
  }

  async readManifest(digest: string): Promise<ManifestT | undefined> {
    const raw = await this.getJson<unknown>(keys.manifest(digest));
    return raw === undefined ? undefined : Manifest.parse(raw);
  }

  /** True when every blob of the manifest exists with its recorded size. */
  async verifyManifest(m: ManifestT): Promise<boolean> {
    for (const f of m.files) {
      if ((await this.statSize(f.key)) !== f.bytes) return false;
    }
    return true;
  }

  async getCacheEntry(cacheKey: string): Promise<string | undefined> {
    return (await this.getJson<{ digest: string }>(keys.cache(cacheKey)))?.digest;
  }

  async putCacheEntry(cacheKey: string, digest: string): Promise<void> {
    await this.putJson(keys.cache(cacheKey), { digest, at: new Date().toISOString() });
  }

  async recordRunStage(pipeline: string, run: string, rec: RunStageRecord): Promise<void> {
    await this.putJson(keys.runStage(pipeline, run, rec.stage), rec);
  }

  async listRunStages(pipeline: string, run: string): Promise<RunStageRecord[]> {
    const items = await this.list(keys.runPrefix(pipeline, run));
    const recs = await Promise.all(items.map((i) => this.getJson<RunStageRecord>(i.key)));
    return recs.filter((r): r is RunStageRecord => !!r);
  }

  private async guard<T>(key: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw this.wrap(e, key);
    }
  }

  private wrap(e: unknown, what: string): Error {
    const err = e as NodeJS.ErrnoException;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE'].includes(err.code ?? '')) {
      return new StoreUnavailableError(`artifact store ${this.config.endpoint} unreachable (${err.code}) while accessing ${what}`);
    }
    return err instanceof Error ? err : new Error(String(e));
  }
}

export function manifestDigest(m: Omit<ManifestT, 'digest'>): string {
  const identity = { kind: m.kind, schema: m.schema, files: m.files.map((f) => [f.name, f.sha256, f.bytes]), parents: m.parents };
  return createHash('sha256').update(canonicalJson(identity)).digest('hex');
}

export async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  await pipe(fs.createReadStream(p), h);
  return h.digest('hex');
}

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'NotFound' || code === 'NoSuchKey' || code === 'NoSuchBucket';
}
