/**
 * `dapt worker` as a separate OS process, for tests and benchmarks that need real process boundaries (a kill,
 * several Node event loops on several cores). Spawned like the servers: own process group, output appended to
 * a log file, stopped when this Node process exits even if the caller forgets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configEnv, type DaptConfig } from '../config';
import { isAlive, spawnServer, stopPid, tailFile } from './process';

export interface WorkerProcess {
  pid: number;
  /** Its Temporal worker identity (the SDK default, pid@hostname), as pending activities report it. */
  identity: string;
  logFile: string;
  /** SIGTERM (running activities get the worker's grace time), SIGKILL after timeoutMs; no-op once gone. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface WorkerProcessOptions {
  config: DaptConfig;
  queues: string[];
  logFile: string;
  concurrency?: number;
  /** false: no pipeline workflows in this process (--no-workflows). */
  workflows?: boolean;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

const DAPT_CLI = path.join(__dirname, '..', 'bin', 'dapt.js');

/** Starts the process and resolves once it polls its queues; on failure the log tail is in the error. */
export async function startWorkerProcess(o: WorkerProcessOptions): Promise<WorkerProcess> {
  const args = [DAPT_CLI, 'worker', ...o.queues.flatMap((q) => ['--queue', q])];
  if (o.concurrency !== undefined) args.push('--concurrency', String(o.concurrency));
  if (o.workflows === false) args.push('--no-workflows');
  const env = { ...process.env, DAPT_LOG_LEVEL: process.env.DAPT_LOG_LEVEL ?? 'ERROR', ...o.env, ...configEnv(o.config) };
  const logFile = path.resolve(o.logFile);
  const child = spawnServer(process.execPath, args, { logFile, env });
  const pid = child.pid!;
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  // `dapt worker` prints "polling" once all its Temporal workers exist, just before they start polling.
  const polling = new RegExp(`dapt worker ${pid}: polling`);
  while (!polling.test(fs.readFileSync(logFile, 'utf8'))) {
    if (!isAlive(pid) || Date.now() > deadline) {
      await stopPid(pid, 2000).catch(() => {});
      throw new Error(`dapt worker (${o.queues.join(', ')}) did not start; last lines of ${logFile}:\n${tailFile(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid, identity: `${pid}@${os.hostname()}`, logFile, stop: (timeoutMs = 15_000) => stopPid(pid, timeoutMs) };
}
