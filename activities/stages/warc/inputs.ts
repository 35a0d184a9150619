/**
 * Which WARC/WET files a `paths` list means: local files, local folders (searched recursively) and
 * `s3://bucket/prefix` listings in the configured store's server, each sorted so the output order never
 * depends on a listing. Files are opened as streams, gunzipped when named `.gz` (Node's gunzip reads the
 * concatenated per-record members of Common Crawl files as one stream).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { ConfigError } from '../../errors';
import type { ArtifactStore } from '../../store';

export const WARC_FILE = /\.(warc|wet)(\.gz)?$/i;

export interface WarcInput {
  /** A local path or an s3:// URL: the documents' `source`. */
  name: string;
  size: number;
  mtimeMs?: number;
  /** The decompressed byte stream. */
  open(): Promise<Readable>;
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
/** Through pipeline(), so destroying the returned stream (a `limit` reached) closes the file or HTTP body too. */
function gunzipIf(name: string, s: Readable): Readable {
  if (!name.toLowerCase().endsWith('.gz')) return s;
  const gz = zlib.createGunzip();
  // Errors reach the reader through `gz`, which pipeline() destroys with them.
  pipeline(s, gz, () => {});
  return gz;
}

export function parseS3(p: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(p);
  return m ? { bucket: m[1], prefix: m[2] } : undefined;
}

export function listLocalWarcs(p: string): WarcInput[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new ConfigError(`warc path ${p} does not exist (resolved to ${path.resolve(p)})`);
  }
  const out: WarcInput[] = [];
  const add = (f: string, s: fs.Stats) => out.push({ name: f, size: s.size, mtimeMs: s.mtimeMs, open: () => Promise.resolve(gunzipIf(f, fs.createReadStream(f))) });
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const f = path.join(dir, name);
      const s = fs.statSync(f);
      if (s.isDirectory()) walk(f);
      else if (s.isFile() && WARC_FILE.test(name)) add(f, s);
    }
  };
  if (st.isDirectory()) walk(p);
  else if (WARC_FILE.test(p)) add(p, st);
  else throw new ConfigError(`warc file ${p} is not .warc, .wet (optionally .gz)`);
  return out.sort(byName);
}

async function listS3Warcs(store: ArtifactStore, bucket: string, prefix: string): Promise<WarcInput[]> {
  const out: WarcInput[] = [];
  const items = store.client.listObjectsV2(bucket, prefix, true) as AsyncIterable<{ name?: string; size: number }>;
  for await (const item of items) {
    if (!item.name || !WARC_FILE.test(item.name)) continue;
    const key = item.name;
    const name = `s3://${bucket}/${key}`;
    out.push({ name, size: item.size, open: async () => gunzipIf(key, await store.client.getObject(bucket, key)) });
  }
  if (!out.length) throw new ConfigError(`no .warc/.wet objects under s3://${bucket}/${prefix}`);
  return out.sort(byName);
}

export async function listWarcInputs(paths: readonly string[], store: ArtifactStore): Promise<WarcInput[]> {
  const out: WarcInput[] = [];
  for (const p of paths) {
    const s3 = parseS3(p);
    out.push(...(s3 ? await listS3Warcs(store, s3.bucket, s3.prefix) : listLocalWarcs(p)));
  }
  return out;
}
