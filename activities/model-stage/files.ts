/**
 * Directories as artifact files and back: every file of a local directory becomes a content-addressed blob
 * named by its relative path (`tokenizer.json`, `eval/domain.jsonl.gz`), and a list of such files becomes a
 * directory again. Model outputs, checkpoints and base models all travel this way.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ArtifactFileT } from '../../schemas/manifest';
import { InputError } from '../errors';
import { sha256File, type ArtifactStore } from '../store';

/** A named folder inside a stage's work dir (created): where inputs are staged and the trainer writes. */
export function workSubdir(workDir: string, name: string): string {
  const d = path.join(workDir, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** Relative paths of every regular file under `dir`, `/`-separated and sorted (a stable manifest order). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** Upload every file under `dir` (at most `concurrency` at once); names are the relative paths, prefixed. */
export async function uploadDir(store: ArtifactStore, dir: string, namePrefix = '', concurrency = 4): Promise<ArtifactFileT[]> {
  const names = listFiles(dir);
  const out = new Array<ArtifactFileT>(names.length);
  let next = 0;
  const lane = async () => {
    while (next < names.length) {
      const i = next++;
      out[i] = await store.putFile(path.join(dir, names[i]), namePrefix + names[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, lane));
  return out;
}

/** The local path of an artifact file inside `dir`; names that would leave `dir` are refused. */
export function localPathOf(dir: string, name: string): string {
  const local = path.resolve(dir, name);
  const rel = path.relative(dir, local);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) throw new InputError(`artifact file name "${name}" points outside its directory`);
  return local;
}

/** Download files into `dir`, recreating their relative paths, and check every sha256. */
export async function downloadFiles(store: ArtifactStore, files: readonly ArtifactFileT[], dir: string, concurrency = 4): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < files.length) {
      const f = files[next++];
      const local = localPathOf(dir, f.name);
      fs.mkdirSync(path.dirname(local), { recursive: true });
      await store.downloadFile(f.key, local);
      if ((await sha256File(local)) !== f.sha256) throw new Error(`${f.name} (${f.key}): downloaded bytes do not match the recorded sha256`);
    }
  };
  fs.mkdirSync(dir, { recursive: true });
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, lane));
}
