// Low-level process and port helpers for the local servers (Linux-first: /proc gives exact answers, other
// platforms degrade to "unknown").
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A free loopback port (the OS picks it; it is released again before returning). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly holder: string,
    what: string,
  ) {
    super(`${what}: port ${port} on 127.0.0.1 is already in use by ${holder}`);
    this.name = 'PortInUseError';
  }
}

/**
 * Ports we picked ourselves can be taken before the server binds them — by another server started beside it
 * (Temporal's dev server binds random ports for its HTTP API, metrics and internal services): pick again, a few
 * times. A port the caller named is not ours to change, so that error is final.
 */
export function onFreshPorts<T>(auto: boolean, start: () => Promise<T>): Promise<T> {
  return retrying(4, (e) => auto && e instanceof PortInUseError, start);
}

/** `fn()`, made again while its error is `retryable`, `attempts` times at most; the last error otherwise. */
export async function retrying<T>(attempts: number, retryable: (e: unknown) => boolean, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!retryable(e) || attempt >= attempts) throw e;
    }
  }
}

/** Throws PortInUseError naming the holder when the port cannot be bound on 127.0.0.1. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  const busy = await new Promise<boolean>((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(true) : reject(e)));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(false)));
  });
  if (busy) throw new PortInUseError(port, describePortHolder(port), what);
}

/** "minio (pid 1234)" for the process listening on the TCP port, or "an unknown process". */
export function describePortHolder(port: number): string {
  const pids = listeningPids(port);
  if (pids.length === 0) return 'an unknown process';
  return pids.map((pid) => `${readComm(pid) ?? 'process'} (pid ${pid})`).join(', ');
}

// /proc/net/tcp{,6} maps listening sockets to inodes; /proc/<pid>/fd maps inodes to processes. Only the
// current user's processes are visible unless we are root, hence the "unknown" fallback.
function listeningPids(port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A') continue; // 0A = LISTEN
      if (parseInt(cols[1].split(':')[1], 16) === port) inodes.add(cols[9]);
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fdDir = path.join('/proc', entry, 'fd');
    for (const fd of safeReaddir(fdDir)) {
      let target: string;
      try {
        target = fs.readlinkSync(path.join(fdDir, fd));
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1])) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return pids;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function readComm(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Fields of /proc/<pid>/stat after the "(comm)" field, which may itself contain spaces. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * The process start time (clock ticks since boot), which with the pid identifies a process uniquely: a pid
 * file that records it cannot make us kill an unrelated process that later got the same pid.
 */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19]; // field 22 of stat; statFields starts at field 3
}

/** True while the process exists and is not a zombie (an exited child nobody has reaped yet). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  return statFields(pid)?.[0] !== 'Z';
}

/** The last `lines` lines of a log file, for error messages. */
export function tailFile(file: string, lines = 25): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log file)';
  }
}

const START_HEADER = '=== ';

/** What the last start wrote to a server's log: the text after spawnServer's last header line (which names the args). */
export function lastStartLog(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  const header = text.lastIndexOf(`\n${START_HEADER}`);
  if (header < 0) return text;
  const end = text.indexOf('\n', header + 1);
  return end < 0 ? '' : text.slice(end + 1);
}

// Servers started by this process and not marked keepAlive. They are stopped when this process exits, so a
// test run that forgets (or fails before) stop() leaves no orphans behind.
const owned = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    // Only synchronous work is possible here: SIGTERM, busy-wait a little for a clean shutdown, SIGKILL.
    for (const pid of owned) signal(pid, 'SIGTERM');
    const deadline = Date.now() + 5000;
    const cell = new Int32Array(new SharedArrayBuffer(4));
    while (Date.now() < deadline && [...owned].some(isAlive)) Atomics.wait(cell, 0, 0, 50);
    for (const pid of owned) if (isAlive(pid)) signal(pid, 'SIGKILL');
  });
}

/** Signal the process group (servers are group leaders, being spawned detached), else the process. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

export interface SpawnOptions {
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** Leave the process running when this Node process exits (the `dapt dev` stack). */
  keepAlive?: boolean;
}

/**
 * Start a server detached (own process group, so it survives a terminal's Ctrl-C aimed at the CLI and can be
 * signalled as a group), with stdout and stderr appended to the log file. The child is unref'd: a server
 * never keeps the Node event loop alive on its own.
 */
export function spawnServer(bin: string, args: string[], opts: SpawnOptions): ChildProcess {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const fd = fs.openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    // A header per start makes appended logs (dev stack restarts) readable.
    fs.writeSync(fd, `\n${START_HEADER}${new Date().toISOString()} ${bin} ${args.join(' ')}\n`);
    child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], env: opts.env ?? process.env });
  } finally {
    fs.closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${bin} (see ${opts.logFile})`);
  child.on('error', () => {}); // spawn errors surface as an early exit in the readiness wait
  child.unref();
  if (!opts.keepAlive) {
    const pid = child.pid;
    owned.add(pid);
    child.once('exit', () => owned.delete(pid));
    installExitHook();
  }
  return child;
}

/** SIGTERM, wait up to timeoutMs for the process to go, then SIGKILL. Resolves once it is gone. */
export async function stopPid(pid: number, timeoutMs = 10_000): Promise<void> {
  if (isAlive(pid)) {
    signal(pid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) {
      signal(pid, 'SIGKILL');
      const hardDeadline = Date.now() + 5000;
      while (isAlive(pid) && Date.now() < hardDeadline) await sleep(50);
    }
  }
  owned.delete(pid);
  if (isAlive(pid)) throw new Error(`process ${pid} did not exit after SIGKILL`);
}
