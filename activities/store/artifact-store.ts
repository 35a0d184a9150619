/**
 * The artifact store over any S3-compatible server (MinIO locally). Blobs are content-addressed and written
 * whole (an S3 PUT is atomic), manifests are written after their blobs and cache entries after their manifests,
 * so a crash at any point leaves nothing that looks complete but is not.
 *
 * A manifest's file entries record the ETag each blob had when it was published. For an upload in one part S3
 * (and MinIO) make the ETag the MD5 of the content, and in n parts the MD5 of the parts' MD5s with `-n`; putFile
 * keeps an existing blob only when the store's ETag equals that value computed from the local bytes. A cache hit then compares the ETags the store reports now (one HEAD per blob, no
 * reads) with the recorded ones: rewriting an object through the S3 API gives it a new ETag computed from the new
 * bytes, so a blob overwritten with other bytes of the same size is a miss. What this does not see: other bytes
 * with the same MD5 (a deliberate collision), and a change beneath the server on its drives, which MinIO's own
 * per-shard bitrot checksums catch when the object is read (the GET fails or is healed from parity). With
 * server-side encryption the ETag is not the MD5: the check then says "not rewritten since it was published",
 * and putFile uploads again instead of reusing an existing blob.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline as pipe } from 'node:stream/promises';
import * as Minio from 'minio';
import { canonicalJson } from '../../schemas/canonical';
import { mapLimit } from '../concurrency';
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
  /** Part size of multipart uploads, in bytes (the client's default: 64 MiB, more for files over 625 GiB). */
  partSize?: number;
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
      ...(config.partSize ? { partSize: config.partSize } : {}),
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

  /**
   * Upload a local file as a content-addressed blob. An existing blob of the same digest is reused only when the
   * store's ETag for it is the one these bytes get (so a blob overwritten with other bytes is uploaded again);
   * the entry records the ETag the store keeps, which a cache hit checks (verifyManifest).
   */
  async putFile(localPath: string, name: string, records?: number): Promise<ArtifactFileT> {
    const bytes = fs.statSync(localPath).size;
    const sha256 = await sha256File(localPath);
    const key = keys.blob(sha256);
    const existing = await this.stat(key);
    let etag = existing?.etag;
    // The MD5 pass only where a blob exists: a new blob's ETag comes back from the PUT (and the client hashes
    // what it uploads once more; on the shard path every hash pass costs ~5 % of a pass-through stage).
    const expected = async () => (await hashFile(localPath, this.client.calculatePartSize(bytes))).etag;
    if (!existing || existing.size !== bytes || existing.etag !== (await expected())) {
      etag = cleanEtag((await this.guard(key, () => this.client.fPutObject(this.bucket, this.key(key), localPath))).etag);
    }
    return { key, name, sha256, bytes, ...(records === undefined ? {} : { records }), ...(etag ? { etag } : {}) };
  }

  async getStream(key: string): Promise<Readable> {
    return this.guard(key, () => this.client.getObject(this.bucket, this.key(key)));
  }

  async downloadFile(key: string, localPath: string): Promise<void> {
    await pipe(await this.getStream(key), fs.createWriteStream(localPath));
  }

  /** Size of an object, or undefined when it does not exist. */
  async statSize(key: string): Promise<number | undefined> {
    return (await this.stat(key))?.size;
  }

  /** Size and ETag of an object (one HEAD request), or undefined when it does not exist. */
  async stat(key: string): Promise<{ size: number; etag: string } | undefined> {
    try {
      const st = await this.client.statObject(this.bucket, this.key(key));
      return { size: st.size, etag: cleanEtag(st.etag) };
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

  /** Bytes [from, to) of an object: scratch objects that hold one section per partition or shard. */
  async getRange(key: string, from: number, to: number): Promise<Buffer> {
    if (to <= from) return Buffer.alloc(0);
    return this.guard(key, async () => {
      const chunks: Buffer[] = [];
      for await (const c of await this.client.getPartialObject(this.bucket, this.key(key), from, to - from)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    });
  }

  /** Write a scratch object (not a content-addressed blob) from memory. */
  async putBuffer(key: string, body: Buffer): Promise<void> {
    await this.guard(key, () => this.client.putObject(this.bucket, this.key(key), body, body.length));
  }

  /** Remove every object under a prefix (in batches of the S3 multi-delete); returns how many there were. */
  async removePrefix(prefix: string): Promise<number> {
    const items = await this.list(prefix);
    for (let i = 0; i < items.length; i += 1000) {
      const batch = items.slice(i, i + 1000).map((it) => this.key(it.key));
      await this.guard(prefix, () => this.client.removeObjects(this.bucket, batch));
    }
    return items.length;
  }

  /** Publish a manifest; the digest covers content and lineage, not who produced it or when. */
  async writeManifest(m: Omit<ManifestT, 'digest'>): Promise<ManifestT> {
    const digest = manifestDigest(m);
    const manifest: ManifestT = Manifest.parse({ ...m, digest });
    const existing = await this.readManifest(digest);
    if (!existing) {
      await this.putJson(keys.manifest(digest), manifest);
      return manifest;
    }
    // The first producer of an identical artifact stays on record. Only the blobs' recorded ETags follow the
    // store when a blob was uploaded again (found corrupted, or an old manifest without ETags), so that the
    // record matches what the store keeps; the digest does not cover them.
    const files = existing.files.map((f, i) => {
      const etag = manifest.files[i]?.etag ?? f.etag;
      return etag === undefined ? f : { ...f, etag };
    });
    if (files.every((f, i) => f.etag === existing.files[i].etag)) return existing;
    const refreshed = Manifest.parse({ ...existing, files });
    await this.putJson(keys.manifest(digest), refreshed);
    return refreshed;
  }

  async readManifest(digest: string): Promise<ManifestT | undefined> {
    const raw = await this.getJson<unknown>(keys.manifest(digest));
    return raw === undefined ? undefined : Manifest.parse(raw);
  }

  /**
   * True when every blob of the manifest exists with its recorded size and the ETag recorded when it was
   * published (one HEAD per blob; see the top of this file for what an equal ETag establishes). A file entry of
   * a manifest written before ETags were recorded is checked by its size only.
   */
  async verifyManifest(m: ManifestT): Promise<boolean> {
    const ok = await mapLimit(m.files.length, 16, async (i) => {
      const f = m.files[i];
      const st = await this.stat(f.key);
      return st !== undefined && st.size === f.bytes && (f.etag === undefined || st.etag === f.etag);
    });
    return ok.every(Boolean);
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

/**
 * The sha256 of a file and the ETag an S3 server gives it when uploaded in parts of `partSize` bytes (a file of
 * at most one part is uploaded in one PUT: the MD5 of the content; n parts: the MD5 of the parts' binary MD5s
 * followed by `-n`), in one read of the file.
 */
export async function hashFile(p: string, partSize: number): Promise<{ sha256: string; etag: string; bytes: number }> {
  const sha = createHash('sha256');
  const parts: Buffer[] = [];
  let part = createHash('md5');
  let inPart = 0;
  let bytes = 0;
  for await (const chunk of fs.createReadStream(p) as AsyncIterable<Buffer>) {
    sha.update(chunk);
    bytes += chunk.length;
    for (let off = 0; off < chunk.length; ) {
      const n = Math.min(chunk.length - off, partSize - inPart);
      part.update(chunk.subarray(off, off + n));
      off += n;
      inPart += n;
      if (inPart === partSize) {
        parts.push(part.digest());
        part = createHash('md5');
        inPart = 0;
      }
    }
  }
  if (inPart > 0 || !parts.length) parts.push(part.digest());
  const etag = parts.length === 1 ? parts[0].toString('hex') : `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-${parts.length}`;
  return { sha256: sha.digest('hex'), etag, bytes };
}

/** ETags without the quotes some responses keep around them. */
export function cleanEtag(etag: string): string {
  return (etag ?? '').replace(/^(?:"|&quot;)|(?:"|&quot;)$/g, '');
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
