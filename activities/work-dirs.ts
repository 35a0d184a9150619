/**
 * Per-attempt work folders on a worker's local disk. An attempt removes its own when it ends; a worker that is
 * killed (SIGKILL, OOM, a lost node) cannot, and at 10M+ documents or with a checkpoint in it one folder can hold
 * gigabytes. So each folder's name says which process made it (`<stage>.<pid>.<start>@<host>-XXXXXX`), and a
 * worker starting on that machine removes the folders of processes on its host that are gone. The process's start
 * time is in the name because a restarted container's worker often gets the dead one's pid (1) while its scratch
 * volume survives. Folders of live processes and of other hosts (a work root on shared storage) are left alone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const self = `${process.pid}.${startTime(process.pid) ?? 0}`;

export function makeWorkDir(root: string, stage: string): string {
  fs.mkdirSync(root, { recursive: true });
  return fs.mkdtempSync(path.join(root, `${stage}.${self}@${os.hostname()}-`));
}

/** Removes the work folders under `root` whose process on this host is gone; returns how many. */
export function sweepDeadWorkDirs(root: string): number {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return 0; // no root yet: nothing ran here
  }
  const owned = new RegExp(`\\.(\\d+)\\.(\\d+)@${escapeRegExp(os.hostname())}-.{6}$`);
  let removed = 0;
  for (const name of names) {
    const m = owned.exec(name);
    if (!m || alive(Number(m[1]), m[2])) continue;
    fs.rmSync(path.join(root, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function alive(pid: number, start: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: someone else's process, alive
  }
  const now = startTime(pid);
  return start === '0' || now === undefined || now === start; // no /proc (macOS): the pid alone decides
}

/** The process's start time in clock ticks after boot (/proc/<pid>/stat field 22), where /proc exists. */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
