/**
 * Intermediate near-dedupe data in the store: typed arrays as raw little-endian objects under the stage run's
 * scratch prefix (activities/scratch.ts). Fan-out task results stay small JSON; these objects carry the bulk (signatures, bucket runs, pairs).
 */
import type { ArtifactStore } from '../../../store';

export const objectKeys = {
  signatures: (prefix: string, shard: number) => `${prefix}sig-${pad(shard)}.bin`,
  buckets: (prefix: string, shard: number, group: number) => `${prefix}buckets-${pad(group)}-${pad(shard)}.bin`,
  pairs: (prefix: string, group: number) => `${prefix}pairs-${pad(group)}.bin`,
  drops: (prefix: string, shard: number) => `${prefix}drop-${pad(shard)}.bin`,
};

function pad(n: number): string {
  return String(n).padStart(6, '0');
}

export async function putUint32(store: ArtifactStore, key: string, data: Uint32Array): Promise<void> {
  await store.putBuffer(key, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

export async function getUint32(store: ArtifactStore, key: string): Promise<Uint32Array> {
  const chunks: Buffer[] = [];
  for await (const c of await store.getStream(key)) chunks.push(c as Buffer);
  const buf = Buffer.concat(chunks);
  // Copy into a fresh, 4-byte aligned buffer: pooled Buffers may start at any offset.
  const out = new Uint32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}
