/**
 * Training checkpoints in the store. A checkpoint directory the trainer announced is uploaded file by file as
 * content-addressed blobs, then a small index object naming them is written under the stage's ledger; only then
 * does the heartbeat carry `{step, index}`. A retry, on any worker, downloads the directory again from that index.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ArtifactFileT } from '../../schemas/manifest';
import type { ArtifactStore } from '../store';
import { downloadFiles, uploadDir } from './files';

/** What the heartbeat carries: small, JSON. */
export interface CheckpointRef {
  step: number;
  /** Key of the CheckpointIndex object. */
  index: string;
}

export interface CheckpointIndex {
  step: number;
  run: string;
  stage: string;
  attempt: number;
  createdAt: string;
  files: ArtifactFileT[];
}

/** The ledger folder of one piece of pretraining work: per cache key, so it is the same on every attempt. */
export function checkpointPrefix(ledgerId: string): string {
  return `ledger/pretrain/${ledgerId}/`;
}

export function checkpointKey(ledgerId: string, step: number): string {
  return `${checkpointPrefix(ledgerId)}step-${String(step).padStart(9, '0')}.json`;
}

export async function uploadCheckpoint(
  store: ArtifactStore,
  dir: string,
  ledgerId: string,
  meta: Omit<CheckpointIndex, 'files' | 'createdAt'>,
): Promise<CheckpointRef> {
  const files = await uploadDir(store, dir);
  if (!files.length) throw new Error(`checkpoint directory ${dir} is empty`);
  const index = checkpointKey(ledgerId, meta.step);
  const body: CheckpointIndex = { ...meta, createdAt: new Date().toISOString(), files };
  await store.putJson(index, body);
  return { step: meta.step, index };
}

/**
 * The last checkpoint this run stored for a piece of work: how the nodes of a multi-node attempt resume, since
 * each try of the group starts fresh activities with no heartbeat to carry it. Another run's checkpoints under
 * the same ledger (a --no-cache rerun) are not taken.
 */
export async function latestCheckpoint(store: ArtifactStore, ledgerId: string, run: string): Promise<CheckpointRef | undefined> {
  const indexes = (await store.list(checkpointPrefix(ledgerId))).map((o) => o.key).filter((k) => /step-\d+\.json$/.test(k));
  for (const key of indexes.sort().reverse()) {
    const index = await store.getJson<CheckpointIndex>(key);
    if (index?.run === run) return { step: index.step, index: key };
  }
  return undefined;
}

/** Downloads the checkpoint into `<parent>/step-N` and returns that directory, or undefined when the index is gone. */
export async function downloadCheckpoint(store: ArtifactStore, ref: CheckpointRef, parent: string): Promise<{ dir: string; step: number } | undefined> {
  const index = await store.getJson<CheckpointIndex>(ref.index);
  if (!index) return undefined;
  const dir = path.join(parent, `step-${index.step}`);
  fs.mkdirSync(dir, { recursive: true });
  await downloadFiles(store, index.files, dir);
  return { dir, step: index.step };
}
