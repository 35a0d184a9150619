/**
 * `dapt doctor`: checks a configuration end to end, one line per check — Temporal reachable, namespace,
 * search attributes, bucket writable, a worker polling every queue the pipelines need, the trainer's Python.
 * Each check reports what it found; later checks still run when an earlier one fails, unless they cannot.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { REPO_ROOT, TRAINER_ENV_SCRIPT } from '../infra/paths';
import { ArtifactStore } from '../activities/store';
import { isGpuQueue } from '../schemas/common';
import { stageKinds } from '../schemas/stages';
import { temporalConnectOptions, workflowQueue, type DaptConfig } from '../config';
import { PIPELINE_ATTR } from './runs';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DoctorOptions {
  /** Logical activity queues that need a worker; default: every stage kind's default queue. */
  queues?: string[];
  /** A poller not seen for this long no longer counts as a worker (a live one polls at least once a minute). */
  pollerStaleMs?: number;
  /** Check the trainer's Python when a GPU queue is among the queues (default true). */
  trainer?: boolean;
}

const TQ = temporal.api.enums.v1.TaskQueueType;
const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

/** The queues stage kinds run on by default (what a fleet must serve for pipelines that keep the defaults). */
export function defaultStageQueues(): string[] {
  return [...new Set(Object.values(stageKinds).map((k) => k.defaultQueue))].sort();
}

export async function runDoctor(cfg: DaptConfig, opts: DoctorOptions = {}): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const add = (name: string, ok: boolean, detail: string) => out.push({ name, ok, detail });
  const why = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0] : String(e));
  add('config', true, `profile ${cfg.profile.name}${cfg.profile.file ? ` (${cfg.profile.file})` : ''}`);

  const queues = [...new Set(opts.queues?.length ? opts.queues : defaultStageQueues())];
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ ...temporalConnectOptions(cfg), connectTimeout: '5s' });
    const info = await connection.workflowService.getClusterInfo({}).catch(() => undefined);
    const tls = cfg.temporal.tls ? (cfg.temporal.tls.certFile ? ', mTLS' : ', TLS') : '';
    add('temporal', true, `reachable at ${cfg.temporal.address}${tls}${info?.serverVersion ? ` (server ${info.serverVersion})` : ''}`);
  } catch (e) {
    add('temporal', false, `cannot reach ${cfg.temporal.address}: ${why(e)}`);
  }

  if (connection) {
    const namespace = cfg.temporal.namespace;
    let nsOk = false;
    try {
      const ns = await connection.workflowService.describeNamespace({ namespace });
      nsOk = true;
      add('namespace', true, `${namespace} exists (retention ${ns.config?.workflowExecutionRetentionTtl?.seconds ?? '?'}s)`);
    } catch (e) {
      add('namespace', false, `${namespace}: ${why(e)}`);
    }
    if (nsOk) {
      await searchAttributes(connection, cfg, add, why);
      const now = Date.now();
      const stale = opts.pollerStaleMs ?? 90_000;
      const poll = [
        { logical: 'workflows', name: workflowQueue(cfg), type: TQ.TASK_QUEUE_TYPE_WORKFLOW },
        ...queues.map((q) => ({ logical: q, name: cfg.queuePrefix + q, type: TQ.TASK_QUEUE_TYPE_ACTIVITY })),
      ];
      for (const q of poll) {
        try {
          const r = await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: q.name }, taskQueueType: q.type });
          const ages = (r.pollers ?? []).map((p) => now - tsMs(p.lastAccessTime));
          const live = ages.filter((a) => a <= stale);
          const what = q.type === TQ.TASK_QUEUE_TYPE_WORKFLOW ? 'workflow' : 'activity';
          if (live.length) add(`queue ${q.name}`, true, `${live.length} ${what} poller(s), last poll ${Math.max(0, Math.round(Math.min(...live) / 1000))}s ago`);
          else {
            const last = ages.length ? ` (last poll ${Math.round(Math.min(...ages) / 1000)}s ago)` : '';
            const start = q.type === TQ.TASK_QUEUE_TYPE_WORKFLOW ? 'dapt worker' : `dapt worker --queue ${q.logical}`;
            add(`queue ${q.name}`, false, `no worker polls queue "${q.name}"${last}; start one: ${start}`);
          }
        } catch (e) {
          add(`queue ${q.name}`, false, `cannot describe queue "${q.name}": ${why(e)}`);
        }
      }
    }
    await connection.close();
  }

  await bucket(cfg, add, why);
  if (opts.trainer !== false && queues.some(isGpuQueue)) await trainer(add);
  return out;
}

async function searchAttributes(connection: Connection, cfg: DaptConfig, add: (n: string, ok: boolean, d: string) => void, why: (e: unknown) => string) {
  if (!cfg.searchAttributes) {
    add('search attributes', true, 'not used (DAPT_SEARCH_ATTRIBUTES=0)');
    return;
  }
  try {
    const r = await connection.operatorService.listSearchAttributes({ namespace: cfg.temporal.namespace });
    const custom = r.customAttributes ?? {};
    const name = PIPELINE_ATTR.name;
    if (custom[name] === undefined) {
      add('search attributes', false, `${name} is not registered in ${cfg.temporal.namespace}: temporal operator search-attribute create --name ${name} --type Keyword (or set DAPT_SEARCH_ATTRIBUTES=0)`);
    } else if (custom[name] !== KEYWORD) {
      add('search attributes', false, `${name} is registered with type ${temporal.api.enums.v1.IndexedValueType[custom[name]]}, expected Keyword`);
    } else add('search attributes', true, `${name} (Keyword) registered`);
  } catch (e) {
    add('search attributes', false, `cannot list search attributes: ${why(e)}`);
  }
}

async function bucket(cfg: DaptConfig, add: (n: string, ok: boolean, d: string) => void, why: (e: unknown) => string) {
  const where = `${cfg.store.endpoint} bucket ${cfg.store.bucket}${cfg.store.prefix ? ` prefix ${cfg.store.prefix}` : ''}`;
  const store = new ArtifactStore(cfg.store);
  try {
    if (!(await store.client.bucketExists(cfg.store.bucket))) {
      add('bucket', false, `${where}: the bucket does not exist (a worker creates it at start when allowed to, or: mc mb)`);
      return;
    }
    const key = `doctor/probe-${randomBytes(6).toString('hex')}.json`;
    const probe = { probe: key, at: new Date().toISOString() };
    await store.putJson(key, probe);
    const back = await store.getJson<typeof probe>(key);
    await store.remove(key);
    if (back?.probe !== key) add('bucket', false, `${where}: a probe object read back differently`);
    else add('bucket', true, `${where}: exists, write+read+delete of a probe object ok`);
  } catch (e) {
    add('bucket', false, `${where}: ${why(e)}`);
  }
}

/** The trainer's Python on this machine (GPU workers run it): installed, and torch + transformers import. */
async function trainer(add: (n: string, ok: boolean, d: string) => void) {
  const run = promisify(execFile);
  let python = process.env.DAPT_TRAINER_PYTHON;
  if (!python) {
    try {
      python = (await run('bash', [TRAINER_ENV_SCRIPT, '--check'])).stdout.trim().split('\n').pop();
    } catch (e) {
      add('trainer', false, `${((e as { stderr?: string }).stderr ?? '').trim() || 'trainer environment missing'}; install it with: bash infra/trainer-env.sh`);
      return;
    }
  }
  try {
    const code = 'import torch, transformers, trainer; print(torch.__version__, transformers.__version__, torch.cuda.device_count())';
    const { stdout } = await run(python!, ['-c', code], {
      timeout: 120_000,
      env: { ...process.env, PYTHONPATH: [REPO_ROOT, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) },
    });
    const [torchV, tfV, gpus] = stdout.trim().split(/\s+/);
    add('trainer', true, `${python}: torch ${torchV}, transformers ${tfV}, ${gpus} CUDA device(s) visible here`);
  } catch (e) {
    add('trainer', false, `${python}: ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim().split('\n').pop()}`);
  }
}

function tsMs(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!t) return 0;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

/** One line per check: `ok   name  detail` / `FAIL name  detail`. */
export function formatChecks(checks: CheckResult[]): string {
  const w = Math.max(...checks.map((c) => c.name.length));
  return checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(w)}  ${c.detail}`).join('\n');
}
