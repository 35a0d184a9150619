/**
 * The compression of record shards. Shards are written as zstd (`.jsonl.zst`): at level 1 it compresses several
 * times faster than gzip at its fastest level, for a slightly better ratio, and decompresses about twice as fast
 * (bench:io measures both, docs/benchmarks.md). Shards written before, as gzip (`.jsonl.gz`), stay readable:
 * readers tell the codec by the first bytes, not by the name.
 *
 * A shard is a sequence of zstd frames, one per block of whole lines (any zstd reader reads concatenated frames as
 * one stream: `zstd -dc`, Python's zstandard with read_across_frames). The binding compresses and decompresses
 * whole buffers only, so a reader finds the frames' ends itself (zstdFrameEnd) and decompresses each complete
 * frame as it arrives: memory stays at one frame, whatever the shard's size.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { decompress } from '@mongodb-js/zstd';
// Not the package's `compress`: its JS wrapper drops the level (activities/zstd-bindings.d.ts), and level 3 costs
// 2.4× the CPU of level 1 on shard text for a 2 % smaller frame (bench:io).
import { compress as compressAtLevel } from '@mongodb-js/zstd/bindings';
import { InputError } from './errors';

export type ShardCodec = 'zstd' | 'gzip';

/** The codec of written shards, and its level (zstd's fastest standard level: shards are rewritten by every stage). */
export const SHARD_CODEC: ShardCodec = 'zstd';
export const SHARD_ZSTD_LEVEL = 1;
/** A shard file's extension by codec: the manifest's file names record how each shard was written. */
export const SHARD_EXTENSIONS: Record<ShardCodec, string> = { zstd: '.jsonl.zst', gzip: '.jsonl.gz' };

/** True for the name of a JSONL shard in either codec. */
export function isShardName(name: string): boolean {
  return name.endsWith('.jsonl.zst') || name.endsWith('.jsonl.gz');
}

const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames (0x184D2A50–5F) carry no data; a reader passes over them. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

/** One block of whole lines as a zstd frame. Deterministic: the same bytes give the same frame. */
export function compressFrame(block: Buffer): Promise<Buffer> {
  return compressAtLevel(block, SHARD_ZSTD_LEVEL);
}

/** The codec of a stream by its first bytes (`undefined`: neither, e.g. plain JSONL). */
export function sniffCodec(head: Buffer): ShardCodec | undefined {
  if (head.length >= 4 && head.readUInt32LE(0) === ZSTD_MAGIC) return 'zstd';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  return undefined;
}

/**
 * The end offset of the zstd (or skippable) frame starting at `start`, or -1 when `buf` does not hold all of it
 * yet. Walks the frame header and block headers of the format (RFC 8878 §3.1); throws on bytes that are not a frame.
 */
export function zstdFrameEnd(buf: Buffer, start: number): number {
  if (buf.length - start < 8) return -1;
  const magic = buf.readUInt32LE(start);
  if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
    const end = start + 8 + buf.readUInt32LE(start + 4);
    return end <= buf.length ? end : -1;
  }
  if (magic !== ZSTD_MAGIC) throw new Error('not a zstd frame');
  const fhd = buf[start + 4];
  const singleSegment = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const fcsBytes = [singleSegment, 2, 4, 8][fhd >> 6];
  const dictBytes = [0, 1, 2, 4][fhd & 3];
  let p = start + 5 + (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
  for (;;) {
    if (p + 3 > buf.length) return -1;
    const header = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16);
    const type = (header >> 1) & 3;
    if (type === 3) throw new Error('reserved zstd block type');
    p += 3 + (type === 1 ? 1 : header >>> 3); // an RLE block holds one byte, repeated
    if (header & 1) break;
  }
  p += checksum ? 4 : 0;
  return p <= buf.length ? p : -1;
}

/**
 * The decompressed bytes of a shard stream, chunk by chunk, whatever its codec (zstd frames, gzip, or none).
 * A stream that ends inside a frame, or holds bytes no codec reads, fails with an InputError naming `where`.
 */
export async function* decompressed(input: AsyncIterable<Buffer | string>, where: string): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  let first: Buffer | undefined;
  // The first bytes tell the codec (a stream may deliver them in pieces).
  while (!first || first.length < 4) {
    const r = await it.next();
    if (r.done) break;
    const c = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    first = first ? Buffer.concat([first, c]) : c;
  }
  if (!first?.length) return;
  const rest = (async function* () {
    yield first;
    for (let r = await it.next(); !r.done; r = await it.next()) yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
  })();
  const codec = sniffCodec(first);
  // Plain JSONL is read as is, but bytes that no codec reads under a name that says one are damage, not text.
  const named = /\.zst$/.test(where) ? 'zstd' : /\.gz$/.test(where) ? 'gzip' : undefined;
  if (!codec && named) throw new InputError(`${where}: corrupt or truncated ${named} data (no ${named} header)`);
  if (codec === 'zstd') yield* zstdChunks(rest, where);
  else if (codec === 'gzip') yield* gunzipChunks(rest, where);
  else yield* rest;
}

/** zlib's output chunk (its default, 16 KiB, costs a stream callback per 16 KiB). */
const ZLIB_CHUNK = 64 << 10;

async function* gunzipChunks(input: AsyncIterable<Buffer>, where: string): AsyncGenerator<Buffer> {
  const gunzip = zlib.createGunzip({ chunkSize: ZLIB_CHUNK });
  // pipeline, not pipe: a failed download destroys gunzip with its error, so the read fails instead of waiting.
  pipeline(Readable.from(input, { objectMode: false }), gunzip).catch(() => {});
  try {
    for await (const c of gunzip) yield c as Buffer;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') throw new InputError(`${where}: corrupt or truncated gzip data`);
    throw e;
  }
}

/** Complete frames are decompressed together, up to about this many compressed bytes a call. */
const ZSTD_BATCH = 1 << 20;

async function* zstdChunks(input: AsyncIterable<Buffer>, where: string): AsyncGenerator<Buffer> {
  const corrupt = () => new InputError(`${where}: corrupt or truncated zstd data`);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let buf = Buffer.alloc(0);
  const inflate = async (frames: Buffer) => {
    try {
      return await decompress(frames);
    } catch {
      throw corrupt();
    }
  };
  for await (const chunk of input) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes < ZSTD_BATCH) continue;
    buf = buf.length ? Buffer.concat([buf, ...pending]) : Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    let end = 0;
    for (let next: number; end < buf.length && (next = frameEnd(buf, end, corrupt)) >= 0; ) end = next;
    if (end > 0) {
      yield await inflate(buf.subarray(0, end));
      buf = buf.subarray(end);
    }
  }
  buf = Buffer.concat([buf, ...pending]);
  let end = 0;
  while (end < buf.length) {
    const next = frameEnd(buf, end, corrupt);
    if (next < 0) throw corrupt();
    end = next;
  }
  if (buf.length) yield await inflate(buf);
}

function frameEnd(buf: Buffer, start: number, corrupt: () => Error): number {
  try {
    return zstdFrameEnd(buf, start);
  } catch {
    throw corrupt();
  }
}

/** A whole shard's bytes, decompressed whatever its codec (zstd, gzip, or none). */
export async function decompressedBuffer(buf: Buffer, where = 'shard'): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of decompressed(Readable.from([buf]), where)) out.push(c);
  return Buffer.concat(out);
}
