// The persistent local stack behind `dapt dev up|down|status`: one Temporal dev server (SQLite state, so runs
// survive a restart) and one MinIO, both outliving the CLI process that started them.
//
// State dir layout: temporal.db, minio-data/, logs/{temporal,minio}.log, pids/{temporal,minio}.pid.
// A pid file is JSON {pid, startTime, ports}: `down` stops only a process whose pid AND start time match, so
// it never kills an unrelated process that inherited a recycled pid.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isAlive, PortInUseError, processStartTime, stopPid } from './process';
import { DEV_CREDENTIALS } from '../config';
import { startMinio, startTemporal } from './servers';


export interface DevStatus {
  temporal: { running: boolean; address: string; uiUrl: string; pid?: number };
  minio: { running: boolean; endpoint: string; consoleUrl: string; pid?: number };
  stateDir: string;
}

export interface DevOptions {
  stateDir?: string;
}

type Service = 'temporal' | 'minio';
const SERVICES: Service[] = ['temporal', 'minio'];

interface PidRecord {
  pid: number;
  startTime?: string; // from /proc; absent where /proc is not available
  port: number; // Temporal gRPC / MinIO API
  extraPort: number; // Temporal UI / MinIO console
  startedAt: string;
}

export function devStateDir(opts?: DevOptions): string {
  return path.resolve(
    opts?.stateDir || process.env.DAPT_STATE_DIR || path.join(os.homedir(), '.local', 'state', 'dapt'),
  );
}

/** Ports from DAPT_DEV_* (read at each call, so tests can point the stack elsewhere), else the usual ones. */
export function devPorts(): { temporal: number; ui: number; minio: number; console: number } {
  return {
    temporal: envPort('DAPT_DEV_TEMPORAL_PORT', 7233),
    ui: envPort('DAPT_DEV_UI_PORT', 8233),
    minio: envPort('DAPT_DEV_MINIO_PORT', 9000),
    console: envPort('DAPT_DEV_CONSOLE_PORT', 9001),
  };
}

function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name}=${raw} is not a valid port`);
  return port;
}

const pidFile = (dir: string, s: Service) => path.join(dir, 'pids', `${s}.pid`);

function readRecord(dir: string, s: Service): PidRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(pidFile(dir, s), 'utf8')) as PidRecord;
  } catch {
    return undefined; // missing or unreadable: treat as not started by us
  }
}

function writeRecord(dir: string, s: Service, pid: number, port: number, extraPort: number): void {
  const rec: PidRecord = { pid, startTime: processStartTime(pid), port, extraPort, startedAt: new Date().toISOString() };
  fs.mkdirSync(path.dirname(pidFile(dir, s)), { recursive: true });
  fs.writeFileSync(pidFile(dir, s), JSON.stringify(rec) + '\n');
}

/** The record, if the process it names is still the one `up` started. */
function liveRecord(dir: string, s: Service): PidRecord | undefined {
  const rec = readRecord(dir, s);
  if (!rec || !isAlive(rec.pid)) return undefined;
  const now = processStartTime(rec.pid);
  if (rec.startTime !== undefined && now !== undefined && now !== rec.startTime) return undefined; // pid reused
  return rec;
}

/** Start whatever is not running yet; already running services are left alone. */
export async function devUp(opts?: DevOptions): Promise<DevStatus> {
  const dir = devStateDir(opts);
  const ports = devPorts();
  const logs = path.join(dir, 'logs');
  const starts: Promise<void>[] = [];

  if (!liveRecord(dir, 'temporal')) {
    starts.push(
      startTemporal({
        port: ports.temporal,
        uiPort: ports.ui,
        dbFile: path.join(dir, 'temporal.db'),
        logFile: path.join(logs, 'temporal.log'),
        keepAlive: true,
      }).then((t) => writeRecord(dir, 'temporal', t.pid, ports.temporal, ports.ui)),
    );
  }
  if (!liveRecord(dir, 'minio')) {
    starts.push(
      startMinio({
        port: ports.minio,
        consolePort: ports.console,
        dataDir: path.join(dir, 'minio-data'),
        logFile: path.join(logs, 'minio.log'),
        accessKey: DEV_CREDENTIALS.accessKey,
        secretKey: DEV_CREDENTIALS.secretKey,
        keepAlive: true,
      }).then((m) => writeRecord(dir, 'minio', m.pid, ports.minio, ports.console)),
    );
  }
  // Both start in parallel; one failing leaves the other running and recorded, so `up` again retries only
  // the failed one and `down` still stops everything.
  const failures = (await Promise.allSettled(starts)).filter((r) => r.status === 'rejected');
  if (failures.length) {
    const reasons = failures.map((f) => (f as PromiseRejectedResult).reason);
    const hint = reasons.some((r) => r instanceof PortInUseError)
      ? '\n(other ports: DAPT_DEV_TEMPORAL_PORT, DAPT_DEV_UI_PORT, DAPT_DEV_MINIO_PORT, DAPT_DEV_CONSOLE_PORT)'
      : '';
    throw new Error(`dapt dev up failed:\n${reasons.map((r) => r?.message ?? String(r)).join('\n')}${hint}`);
  }
  return devStatus(opts);
}

/** Stop what `up` started (and nothing else); stale pid files are removed. */
export async function devDown(opts?: DevOptions): Promise<{ stopped: string[] }> {
  const dir = devStateDir(opts);
  const stopped: string[] = [];
  for (const s of SERVICES) {
    const rec = liveRecord(dir, s);
    if (rec) {
      await stopPid(rec.pid);
      stopped.push(s);
    }
    fs.rmSync(pidFile(dir, s), { force: true });
  }
  return { stopped };
}

export async function devStatus(opts?: DevOptions): Promise<DevStatus> {
  const dir = devStateDir(opts);
  const ports = devPorts();
  const t = liveRecord(dir, 'temporal');
  const m = liveRecord(dir, 'minio');
  // A running service is reported on the ports it was started with, even if DAPT_DEV_* changed since.
  return {
    temporal: {
      running: !!t,
      address: `127.0.0.1:${t?.port ?? ports.temporal}`,
      uiUrl: `http://127.0.0.1:${t?.extraPort ?? ports.ui}`,
      pid: t?.pid,
    },
    minio: {
      running: !!m,
      endpoint: `http://127.0.0.1:${m?.port ?? ports.minio}`,
      consoleUrl: `http://127.0.0.1:${m?.extraPort ?? ports.console}`,
      pid: m?.pid,
    },
    stateDir: dir,
  };
}
