// Real local Temporal and MinIO servers, for `dapt dev` and for tests. Never mocks: the binaries are the
// pinned releases that infra/install.sh puts in the cache dir.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEV_CREDENTIALS } from '../config';
import { assertPortFree, freePort, lastStartLog, onFreshPorts, retrying, spawnServer, stopPid, tailFile } from './process';

export { freePort, PortInUseError } from './process';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const DEFAULT_START_TIMEOUT_MS = 30_000;

// ---- binaries ------------------------------------------------------------------------------------------

export interface Binaries {
  temporal: string;
  minio: string;
}

export function cacheDir(): string {
  return process.env.DAPT_CACHE_DIR || path.join(os.homedir(), '.cache', 'dapt');
}

const installs = new Map<string, Promise<Binaries>>();

/**
 * The pinned binaries, installed first when missing. install.sh runs once per process (and cache dir): when
 * the stamps match its pins it is a ~20 ms no-op, and a pin bumped in install.sh gets reinstalled instead of
 * silently running the old binary.
 */
export function ensureBinaries(): Promise<Binaries> {
  const dir = cacheDir();
  let p = installs.get(dir);
  if (!p) {
    const bins: Binaries = { temporal: path.join(dir, 'bin', 'temporal'), minio: path.join(dir, 'bin', 'minio') };
    p = runInstall().then(() => {
      const missing = Object.values(bins).filter((b) => !isExecutable(b));
      if (missing.length) throw new Error(`infra/install.sh succeeded but did not produce ${missing.join(', ')}`);
      return bins;
    });
    p.catch(() => installs.delete(dir)); // let a later call retry
    installs.set(dir, p);
  }
  return p;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function runInstall(): Promise<void> {
  const script = path.join(__dirname, 'install.sh');
  return new Promise((resolve, reject) => {
    // stderr is passed through: a first install builds MinIO for minutes and should show that it does.
    const child = spawn('bash', [script], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, sig) =>
      code === 0 ? resolve() : reject(new Error(`${script} failed (${sig ?? `exit code ${code}`}); see its output above`)),
    );
  });
}

// ---- shared start/stop plumbing -----------------------------------------------------------------------

export interface Launch {
  what: string; // "Temporal", "MinIO": for messages
  bin: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logFile: string;
  keepAlive?: boolean;
  ports: number[]; // checked free before the start, and named in errors
  ready: () => Promise<void>; // throws until the server is usable
  timeoutMs?: number;
}

/**
 * A start that may well succeed if made again. Temporal's dev server picks its HTTP, history, matching and
 * worker ports itself, and when one is taken before it binds it, it logs the bind error and then panics
 * with a stack trace longer than any log tail: a fresh start picks other ports.
 */
class TransientStartError extends Error {}

/** launchOnce, again while the failure is transient (a few times). */
export function launch(l: Launch): Promise<ChildProcess> {
  return retrying(3, (e) => e instanceof TransientStartError, () => launchOnce(l));
}

/** Spawn, then poll `ready` until it passes; on failure the process is killed and the log tail reported. */
async function launchOnce(l: Launch): Promise<ChildProcess> {
  for (const port of l.ports) await assertPortFree(port, l.what);
  const child = spawnServer(l.bin, l.args, { logFile: l.logFile, env: l.env, keepAlive: l.keepAlive });
  const pid = child.pid!;
  const deadline = Date.now() + (l.timeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  let lastError: unknown;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const exit = child.signalCode ?? `exit code ${child.exitCode}`;
      const tail = tailFile(l.logFile);
      // The whole of this start's log, not the tail: a Go panic's stack trace is longer than the tail.
      const lines = lastStartLog(l.logFile).split('\n');
      const bindError = lines.find((line) => /address already in use|port is already in use/i.test(line));
      if (bindError) {
        // One of our ports was taken between our check and the server's bind: report it like the check.
        for (const port of l.ports) await assertPortFree(port, l.what);
        throw new TransientStartError(
          `${l.what} exited during startup (${exit}): a port it picked itself was taken before it bound it: ` +
            `${bindError.trim()}; last lines of ${l.logFile}:\n${tail}`,
        );
      }
      // A panic at startup with no cause logged: the dev server logs its "fatal" errors as plain errors and
      // goes on until it panics, so this is as likely a lost race as a bug; a second start tells them apart.
      const panic = lines.find((line) => line.startsWith('panic: '));
      if (panic) {
        throw new TransientStartError(`${l.what} panicked during startup (${exit}): ${panic}; last lines of ${l.logFile}:\n${tail}`);
      }
      throw new Error(`${l.what} exited during startup (${exit}); last lines of ${l.logFile}:\n${tail}`);
    }
    try {
      await l.ready();
      return child;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      await stopPid(pid, 2000).catch(() => {});
      throw new Error(
        `${l.what} did not become ready within ${((l.timeoutMs ?? DEFAULT_START_TIMEOUT_MS) / 1000).toFixed(0)}s ` +
          `(last check: ${lastError instanceof Error ? lastError.message : String(lastError)}); ` +
          `last lines of ${l.logFile}:\n${tailFile(l.logFile)}`,
      );
    }
    await sleep(150);
  }
}

// ---- Temporal -----------------------------------------------------------------------------------------

export interface TemporalServer {
  address: string; // 127.0.0.1:port
  uiUrl?: string;
  namespace: string;
  pid: number;
  stop(): Promise<void>;
  /** Stop and start again on the same ports and state file (state survives only with a dbFile). */
  restart(): Promise<void>;
}

export interface TemporalOptions {
  port?: number;
  /** Web UI port; omitted = a free port, false = no UI (--headless). */
  uiPort?: number | false;
  /** SQLite state file; omitted = in-memory (state is lost on stop). */
  dbFile?: string;
  logFile: string;
  namespace?: string;
  /** Leave the server running when this Node process exits (the `dapt dev` stack). */
  keepAlive?: boolean;
  timeoutMs?: number;
}

/** Search attributes the engine tags its workflows with; registered at every start (idempotent). */
export const SEARCH_ATTRIBUTES = { DaptPipeline: 'Keyword', DaptRun: 'Keyword' } as const;

export async function startTemporal(opts: TemporalOptions): Promise<TemporalServer> {
  const auto = opts.port === undefined || opts.uiPort === undefined;
  return onFreshPorts(auto, async () =>
    startTemporalOn(opts, opts.port ?? (await freePort()), opts.uiPort === false ? undefined : (opts.uiPort ?? (await freePort()))),
  );
}

async function startTemporalOn(opts: TemporalOptions, port: number, uiPort: number | undefined): Promise<TemporalServer> {
  const bins = await ensureBinaries();
  const namespace = opts.namespace ?? 'default';
  const address = `127.0.0.1:${port}`;
  const uiUrl = uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`;
  const logFile = path.resolve(opts.logFile);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  // Without --ui-port the UI takes port+1000, which may be busy; --headless drops it altogether.
  args.push(...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]));
  if (opts.dbFile) {
    const dbFile = path.resolve(opts.dbFile);
    fs.mkdirSync(path.dirname(dbFile), { recursive: true });
    args.push('--db-filename', dbFile);
  }
  if (namespace !== 'default') args.push('--namespace', namespace); // "default" always exists
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);

  const ports = uiPort === undefined ? [port] : [port, uiPort];
  const start = () =>
    launch({
      what: 'Temporal',
      bin: bins.temporal,
      args,
      logFile,
      keepAlive: opts.keepAlive,
      ports,
      timeoutMs: opts.timeoutMs,
      ready: async () => {
        await temporalReady(address, namespace);
        if (uiUrl) await httpOk(uiUrl);
      },
    });

  return managed({ address, uiUrl, namespace }, start);
}

/** A started server with stop() and restart() (same ports, same state): `pid` follows the current process. */
async function managed<T extends object>(
  info: T,
  start: () => Promise<ChildProcess>,
): Promise<T & { pid: number; stop(): Promise<void>; restart(): Promise<void> }> {
  const server = {
    ...info,
    pid: (await start()).pid!,
    stop: () => stopPid(server.pid),
    restart: async () => {
      await stopPid(server.pid);
      server.pid = (await start()).pid!;
    },
  };
  return server;
}

/** Ready = the frontend answers gRPC and the namespace is registered (it is created after the port opens). */
async function temporalReady(address: string, namespace: string): Promise<void> {
  // Loaded lazily: the gRPC client is heavy and `dapt dev status` never needs it.
  const { Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    await connection.workflowService.getSystemInfo({});
    await connection.workflowService.describeNamespace({ namespace });
  } finally {
    await connection.close();
  }
}

// ---- MinIO --------------------------------------------------------------------------------------------

export interface MinioServer {
  endpoint: string; // http://127.0.0.1:port
  port: number;
  consoleUrl?: string;
  accessKey: string;
  secretKey: string;
  dataDir: string; // the first drive when several were given
  pid: number;
  stop(): Promise<void>;
  /** Stop and start again on the same port and data dir(s). */
  restart(): Promise<void>;
}

export interface MinioOptions {
  port?: number;
  /** Web console port; omitted = no console. */
  consolePort?: number;
  /** One drive, or several for erasure coding (2 to 16). */
  dataDir: string | string[];
  logFile: string;
  accessKey?: string;
  secretKey?: string;
  keepAlive?: boolean;
  timeoutMs?: number;
  /** Serve HTTPS: MinIO's certs dir (public.crt, private.key) and the CA that signed them (for the readiness probe). */
  tls?: { certsDir: string; caFile: string };
}


export async function startMinio(opts: MinioOptions): Promise<MinioServer> {
  const drives = (Array.isArray(opts.dataDir) ? opts.dataDir : [opts.dataDir]).map((d) => path.resolve(d));
  if (drives.length === 0) throw new Error('startMinio: dataDir is empty');
  for (const d of drives) fs.mkdirSync(d, { recursive: true });

  return onFreshPorts(opts.port === undefined, async () => startMinioOn(opts, drives, opts.port ?? (await freePort())));
}

async function startMinioOn(opts: MinioOptions, drives: string[], port: number): Promise<MinioServer> {
  const { accessKey, secretKey } = minioCredentials(opts);
  const bins = await ensureBinaries();
  const endpoint = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const consoleUrl = opts.consolePort === undefined ? undefined : `http://127.0.0.1:${opts.consolePort}`;
  const args = ['server', ...drives, '--address', `127.0.0.1:${port}`];
  if (opts.consolePort !== undefined) args.push('--console-address', `127.0.0.1:${opts.consolePort}`);
  if (opts.tls) args.push('--certs-dir', path.resolve(opts.tls.certsDir));

  const env = minioEnv(accessKey, secretKey, consoleUrl !== undefined);
  // In erasure mode MinIO refuses drives on the root filesystem ("drive not found", forever) unless it runs in
  // CI/CD mode; local dirs are exactly that. A single drive has no such check.
  if (drives.length > 1) env.MINIO_CI_CD = 'on';

  const ports = opts.consolePort === undefined ? [port] : [port, opts.consolePort];
  const start = () =>
    launch({
      what: 'MinIO',
      bin: bins.minio,
      args,
      env,
      logFile: path.resolve(opts.logFile),
      keepAlive: opts.keepAlive,
      ports,
      timeoutMs: opts.timeoutMs,
      ready: () => minioReady(endpoint, opts.tls && fs.readFileSync(opts.tls.caFile)),
    });

  return managed({ endpoint, port, consoleUrl, accessKey, secretKey, dataDir: drives[0] }, start);
}

function minioCredentials(opts: { accessKey?: string; secretKey?: string }): { accessKey: string; secretKey: string } {
  const accessKey = opts.accessKey ?? DEV_CREDENTIALS.accessKey;
  const secretKey = opts.secretKey ?? DEV_CREDENTIALS.secretKey;
  // MinIO's own limits; checked here because MinIO reports them only in its log.
  if (accessKey.length < 3) throw new Error('MinIO access key must be at least 3 characters');
  if (secretKey.length < 8) throw new Error('MinIO secret key must be at least 8 characters');
  return { accessKey, secretKey };
}

function minioEnv(accessKey: string, secretKey: string, console: boolean): NodeJS.ProcessEnv {
  // Inherited MINIO_* variables (MINIO_VOLUMES, MINIO_OPTS, ...) would silently change the server we start.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MINIO_') && !k.startsWith('_MINIO_')));
  Object.assign(env, { MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_BROWSER: console ? 'on' : 'off' });
  return env;
}

export interface MinioClusterOptions {
  /** Server processes, one drive each (4 to 16: MinIO's distributed erasure mode needs at least 4 drives). */
  nodes?: number;
  /** Node i keeps its drive in dataDir/node-i. */
  dataDir: string;
  /** Node i logs to logDir/minio-i.log. */
  logDir: string;
  accessKey?: string;
  secretKey?: string;
  timeoutMs?: number;
}

/** A distributed MinIO on loopback: every node is a full S3 endpoint onto one erasure set. */
export interface MinioCluster {
  nodes: MinioServer[];
  endpoints: string[];
  accessKey: string;
  secretKey: string;
  stop(): Promise<void>;
}

/**
 * MinIO in distributed mode on one machine: `nodes` processes on their own loopback ports, one drive each, all
 * started with the same endpoint list so they form one erasure set. With 4 drives the default parity is EC:2:
 * reads need 2 drives and writes 3 (data = parity, so write quorum is data + 1), so one node may be lost and
 * every surviving node still serves reads and writes.
 */
export async function startMinioCluster(opts: MinioClusterOptions): Promise<MinioCluster> {
  const n = opts.nodes ?? 4;
  if (!Number.isInteger(n) || n < 4 || n > 16) throw new Error(`startMinioCluster: nodes must be 4 to 16, got ${n}`);
  const { accessKey, secretKey } = minioCredentials(opts);
  const bins = await ensureBinaries();
  const ports: number[] = [];
  while (ports.length < n) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const drives = ports.map((_, i) => path.resolve(opts.dataDir, `node-${i}`));
  for (const d of drives) fs.mkdirSync(d, { recursive: true });
  const peers = ports.map((p, i) => `http://127.0.0.1:${p}${drives[i]}`);

  const startNode = (i: number) => {
    const endpoint = `http://127.0.0.1:${ports[i]}`;
    const env = minioEnv(accessKey, secretKey, false);
    env.MINIO_CI_CD = 'on'; // drives on the root filesystem, see startMinio
    // In a container (/.dockerenv) MinIO waits forever for a peer "resolving to localhost" to get a routable IP,
    // unless the peer is named as the node itself; naming its own host:port is what lets loopback peers work.
    env._MINIO_SERVER_LOCAL = `127.0.0.1:${ports[i]}`;
    const start = () =>
      launch({
        what: `MinIO node ${i}`,
        bin: bins.minio,
        args: ['server', ...peers, '--address', `127.0.0.1:${ports[i]}`],
        env,
        logFile: path.resolve(opts.logDir, `minio-${i}.log`),
        ports: [ports[i]],
        // A node is ready once the whole cluster is (write quorum): nodes wait for each other to format.
        timeoutMs: opts.timeoutMs ?? 60_000,
        ready: () => minioReady(endpoint),
      });
    return managed({ endpoint, port: ports[i], accessKey, secretKey, dataDir: drives[i] }, start);
  };

  const started = await Promise.allSettled(ports.map((_, i) => startNode(i)));
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async () => {
    await Promise.all(nodes.map((s) => s.stop().catch(() => {})));
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { nodes, endpoints: nodes.map((s) => s.endpoint), accessKey, secretKey, stop };
}

/**
 * live = the process serves HTTP; ready = it accepts requests. Neither waits for the drives (both answer 200
 * while an erasure set is still missing drives), so /minio/health/cluster, which checks write quorum, is last.
 */
async function minioReady(endpoint: string, ca?: Buffer): Promise<void> {
  for (const probe of ['live', 'ready', 'cluster']) await (ca ? httpsOk(`${endpoint}/minio/health/${probe}`, ca) : httpOk(`${endpoint}/minio/health/${probe}`));
}

/** fetch() cannot be given a CA: a TLS MinIO with a private CA is probed through node:https. */
function httpsOk(url: string, ca: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`GET ${url} -> HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
  });
}

async function httpOk(url: string): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer(); // drain, so the socket is released
  if (!res.ok) throw new Error(`GET ${url} -> HTTP ${res.status}`);
}
