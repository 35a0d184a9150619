/**
 * Cache-key material for objects a stage reads by `s3://bucket/…` reference from the store's server (WARC inputs,
 * base models, task data files). They are not artifacts and have no digest of ours, so each object stands in by
 * key, size and ETag: S3 gives every write a new ETag computed from the written bytes (one part: their MD5), so an
 * overwritten input changes the fingerprint even at the same size, and an untouched one keeps it. A prefix costs
 * one LIST (the listing carries the ETags), a single object one HEAD; nothing is read.
 */
import { cleanEtag, type ArtifactStore } from './artifact-store';

export interface S3FingerprintOptions {
  /** `object`: the reference names one object; `prefix` (default): every object below it. */
  as?: 'object' | 'prefix';
  /** A prefix that names a folder (`s3://b/models/bert` means `models/bert/`, not `models/bert-large/`). */
  folder?: boolean;
  /** Only keys that match, as the stage itself filters its listing. */
  match?: RegExp;
}

/**
 * `{s3, objects: [[key, size, etag], …]}` sorted by key, or `{s3, missing: true}` when the bucket or object is
 * absent (the stage itself reports that, naming the reference).
 */
export async function s3Fingerprint(store: ArtifactStore, uri: string, opts: S3FingerprintOptions = {}): Promise<unknown> {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new Error(`${uri} is not an s3:// reference`);
  const [, bucket, raw] = m;
  const missing = { s3: uri, missing: true };
  try {
    if (opts.as === 'object') {
      if (!raw) return missing;
      const st = await store.client.statObject(bucket, raw);
      return { s3: uri, objects: [[raw, st.size, cleanEtag(st.etag)]] };
    }
    const prefix = opts.folder && raw && !raw.endsWith('/') ? `${raw}/` : raw;
    const objects: [string, number, string][] = [];
    const items = store.client.listObjectsV2(bucket, prefix, true) as AsyncIterable<{ name?: string; size: number; etag?: string }>;
    for await (const item of items) {
      if (item.name && (!opts.match || opts.match.test(item.name))) objects.push([item.name, item.size, cleanEtag(item.etag ?? '')]);
    }
    objects.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { s3: uri, objects };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'NotFound' || code === 'NoSuchKey' || code === 'NoSuchBucket') return missing;
    throw e;
  }
}
