/**
 * Intermediate near-dedupe data in the store: typed arrays as raw little-endian objects under one prefix per
 * stage run. Fan-out task results stay small JSON; these objects carry the bulk (signatures, bucket runs, pairs).
 */
import { createHash } from 'node:crypto';
import type { ArtifactStore } from '../../../store';
import type { StageContext } from '../../types';

/**
 * The prefix for one stage run's intermediate objects (`name`: the stage's method): a hash of where it runs and what it reads and how, so a
 * retry of the same run finds its finished tasks' objects, and a rerun with other inputs or params does not.
 */
export function nearDedupePrefix(ctx: StageContext<unknown>, name = 'near-dedupe'): string {
  const identity = JSON.stringify([ctx.pipeline, ctx.run, ctx.stage, ctx.inputs.map((i) => i.manifest.digest), ctx.params]);
  return `ledger/${name}/${createHash('sha256').update(identity).digest('hex').slice(0, 32)}/`;
}

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
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  await store.client.putObject(store.bucket, store.key(key), body, body.length);
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

export async function removePrefix(store: ArtifactStore, prefix: string): Promise<number> {
  const items = await store.list(prefix);
  for (const i of items) await store.remove(i.key);
  return items.length;
}
