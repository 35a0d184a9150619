/**
 * Running `python -m trainer <command> --config cfg.json [--resume dir]` (DESIGN.md, Trainer contract):
 * the trainer's Python comes from infra/trainer-env.sh (once per process) unless DAPT_TRAINER_PYTHON names one;
 * it runs detached in its own process group, so a cancellation can SIGTERM the whole group (the trainer
 * checkpoints and exits 143), and it dies with the worker process (PR_SET_PDEATHSIG) instead of training on
 * as an orphan when the worker is killed. Stdout carries one JSON event per line; stderr is the log.
 *
 * `pretrain` on a worker that sees several GPUs (and a config whose device is not 'cpu') runs data-parallel:
 * `python -m trainer.torchrun N ...`, i.e. `torch.distributed.run --standalone --nproc_per_node=N -m trainer ...`
 * behind the same death-signal launcher, with the trainer's exit codes and SIGTERM contract (trainer/torchrun.py:
 * the launcher forwards SIGTERM to the ranks, rank 0 checkpoints, all exit 143). DAPT_TRAINER_NPROC forces N.
 * On a GPU worker the attempt's leased GPUs (`gpus`) decide: CUDA_VISIBLE_DEVICES names exactly them and N is their count.
 *
 * Every event line is parsed with the shared event schema (schemas/trainer-events.ts). An event that breaks it means
 * the trainer and the activity disagree about the contract: the trainer is stopped like a cancelled one (SIGTERM, so
 * its last checkpoint is kept) and the attempt fails with a TrainerEventError naming the event and its fields.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import type { z } from 'zod';
import { TRAINER_EXIT } from '../../schemas/trainer';
import { parseTrainerEvent, type TrainerEvent } from '../../schemas/trainer-events';
import { ConfigError } from '../errors';
import { visibleGpus } from '../gpus';
import { REPO_ROOT, TRAINER_ENV_SCRIPT } from '../../infra/paths';
import { rendezvousArgs, type TrainerRendezvous } from './rendezvous';

const STDERR_TAIL = 50;

let pythonPromise: Promise<string> | undefined;

/** The trainer environment's python: DAPT_TRAINER_PYTHON, else what infra/trainer-env.sh prints (installing once). */
export function trainerPython(): Promise<string> {
  const fromEnv = process.env.DAPT_TRAINER_PYTHON;
  if (fromEnv) return Promise.resolve(fromEnv);
  pythonPromise ??= promisify(execFile)('bash', [TRAINER_ENV_SCRIPT], { maxBuffer: 16 << 20 }).then(
    ({ stdout }) => {
      const py = stdout.trim().split('\n').pop() ?? '';
      if (!py) throw new Error(`${TRAINER_ENV_SCRIPT} printed no python path`);
      return py;
    },
    (e: Error & { stderr?: string }) => {
      pythonPromise = undefined; // a later attempt may try again (the install may have been interrupted)
      throw new Error(`could not set up the trainer environment (${TRAINER_ENV_SCRIPT}): ${(e.stderr || e.message).trim().slice(-2000)}`);
    },
  );
  return pythonPromise;
}

/**
 * Runs a trainer module like `python -m trainer` (or `python -m trainer.torchrun`), after asking the kernel to
 * SIGKILL it when its parent (this worker) dies: a SIGKILLed worker must not leave a training process behind,
 * holding the GPU (torchrun's ranks arm the same signal against torchrun, trainer/__main__.py).
 */
const launcher = (module: string) => [
  'import ctypes, os, runpy, signal, sys',
  'try:',
  '    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG',
  'except Exception:',
  '    pass',
  "if os.getppid() != int(os.environ.get('DAPT_PARENT_PID', os.getppid())):",
  '    sys.exit(143)  # the worker died before the death signal was armed',
  `runpy.run_module('${module}', run_name='__main__', alter_sys=True)`,
].join('\n');

/**
 * Validates a trainer config with its zod schema (the one the trainer's JSON Schema is generated from) and writes it
 * where the trainer will read it. A mismatch is a ConfigError naming every field, before any process starts.
 */
export function writeTrainerConfig(schema: z.ZodType, value: unknown, file: string, what: string): string {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ConfigError(`${what}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  fs.writeFileSync(file, JSON.stringify(parsed.data, null, 2));
  return file;
}

export interface TrainerRunOptions {
  command: 'pretrain' | 'evaluate' | 'translate' | 'finetune' | 'pseudolabel' | 'longtail' | 'tokenize';
  configPath: string;
  resumeDir?: string;
  cwd: string;
  signal: AbortSignal;
  /** Called for each stdout event, in order, synchronously. */
  onEvent(e: TrainerEvent): void;
  log(line: string): void;
  /** How long a SIGTERMed trainer may take to checkpoint and exit before it is SIGKILLed. */
  termGraceMs?: number;
  /** The GPUs leased to this attempt (ctx.gpus): the trainer sees only these, one DDP rank each. */
  gpus?: string[];
  /** One node of a run on several machines: torchrun joins this c10d rendezvous (even with one process here). */
  rendezvous?: TrainerRendezvous;
}

export interface TrainerResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last stderr lines, for error messages. */
  stderrTail: string[];
  /** Whether the run was cancelled (the trainer got SIGTERM). */
  cancelled: boolean;
  /** The first event line that broke the event schema, explained; the trainer was stopped because of it. */
  eventError?: string;
}

/**
 * How many trainer processes (DDP ranks) `pretrain` starts: DAPT_TRAINER_NPROC when set, else the GPUs this worker
 * sees unless the config's device is 'cpu' (at least 1). `evaluate` runs as one process.
 */
export async function trainerProcesses(command: TrainerRunOptions['command'], configPath: string, gpus?: string[]): Promise<number> {
  if (command !== 'pretrain') return 1; // evaluation is one process
  const forced = process.env.DAPT_TRAINER_NPROC;
  if (forced !== undefined && forced.trim() !== '') {
    const n = Number(forced);
    if (!Number.isInteger(n) || n < 1) throw new Error(`DAPT_TRAINER_NPROC must be a positive integer, not '${forced}'`);
    return n;
  }
  let device: unknown;
  try {
    ({ device } = JSON.parse(fs.readFileSync(configPath, 'utf8')) as { device?: unknown });
  } catch {
    return 1; // the trainer reports an unreadable config itself (exit 2)
  }
  if (device === 'cpu') return 1; // 'cuda' or 'auto' (the default)
  return Math.max(1, gpus ? gpus.length : visibleGpus());
}

/** The trainer's environment: pinned to the leased GPUs when there are any (else it inherits the worker's view). */
export function trainerEnv(gpus: string[] | undefined, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    PYTHONPATH: [REPO_ROOT, base.PYTHONPATH].filter(Boolean).join(path.delimiter),
    PYTHONUNBUFFERED: '1',
    DAPT_PARENT_PID: String(process.pid),
    ...(gpus?.length ? { CUDA_VISIBLE_DEVICES: gpus.join(',') } : {}),
  };
}

export async function runTrainer(opts: TrainerRunOptions): Promise<TrainerResult> {
  opts.signal.throwIfAborted();
  const python = await trainerPython();
  const nproc = await trainerProcesses(opts.command, opts.configPath, opts.gpus);
  const trainerArgs = [opts.command, '--config', opts.configPath, ...(opts.resumeDir ? ['--resume', opts.resumeDir] : [])];
  const rdzv = opts.rendezvous;
  const args =
    nproc > 1 || rdzv
      ? ['-c', launcher('trainer.torchrun'), String(nproc), ...(rdzv ? rendezvousArgs(rdzv) : []), ...trainerArgs]
      : ['-c', launcher('trainer'), ...trainerArgs];
  if (rdzv) opts.log(`trainer: ${nproc} process(es) here, one of ${rdzv.nodes} nodes meeting at ${rdzv.address} (${rdzv.id})`);
  else if (nproc > 1) opts.log(`trainer: ${nproc} processes (DDP through torch.distributed.run)`);
  const env = trainerEnv(opts.gpus);
  const child = spawn(python, args, { cwd: opts.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderrTail: string[] = [];
  let cancelled = false;
  let eventError: string | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const group = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  const stop = (why: string) => {
    opts.log(`${why}: SIGTERM to the trainer (it checkpoints and exits)`);
    group('SIGTERM');
    killTimer = setTimeout(() => {
      opts.log('the trainer did not exit after SIGTERM: SIGKILL');
      group('SIGKILL');
    }, opts.termGraceMs ?? 120_000);
  };
  const onAbort = () => {
    cancelled = true;
    stop('cancelled');
  };
  opts.signal.addEventListener('abort', onAbort, { once: true });

  const stdoutDone = (async () => {
    for await (const line of readline.createInterface({ input: child.stdout!, crlfDelay: Infinity })) {
      const parsed = parseTrainerEvent(line);
      if (!parsed) {
        if (line.trim()) opts.log(`trainer stdout: ${line}`);
        continue;
      }
      if ('error' in parsed) {
        opts.log(parsed.error);
        if (eventError === undefined && !cancelled) {
          eventError = parsed.error;
          stop('the trainer broke the event contract');
        }
        continue; // keep reading: a trainer blocked on a full pipe would never exit
      }
      try {
        opts.onEvent(parsed.event);
      } catch (e) {
        // A malformed event must neither stop the reading (the trainer would block on a full pipe) nor the worker.
        opts.log(`trainer event ${line.slice(0, 200)} not handled: ${(e as Error).message}`);
      }
    }
  })();
  const stderrDone = (async () => {
    for await (const line of readline.createInterface({ input: child.stderr!, crlfDelay: Infinity })) {
      if (!line.trim()) continue;
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
      opts.log(line);
    }
  })();
  for (const done of [stdoutDone, stderrDone]) void done.catch(() => undefined); // awaited below, after the exit
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve([c, s]));
    });
    await Promise.all([stdoutDone, stderrDone]);
    return { code, signal, stderrTail, cancelled, ...(eventError !== undefined ? { eventError } : {}) };
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
    group('SIGKILL'); // nothing of the trainer's group outlives the attempt (e.g. dataloader workers)
  }
}

/** The trainer ran out of memory: retrying the same configuration will run out again. */
export class TrainerOutOfMemoryError extends Error {
  override name = 'TrainerOutOfMemoryError';
  readonly retryable = false;
}

/**
 * The trainer wrote an event the activity cannot read (schemas/trainer-events.ts): the trainer and the worker's
 * checkout disagree about the contract, which a retry on the same code does not change.
 */
export class TrainerEventError extends Error {
  override name = 'TrainerEventError';
  readonly retryable = false;
}

/**
 * Throws what a finished trainer run means for the stage: the cancellation's reason when it was cancelled, else
 * the failure for its exit code (trainerFailure); returns when it exited 0.
 */
export function throwIfTrainerFailed(what: string, r: TrainerResult, signal: AbortSignal): void {
  if (r.cancelled) throw signal.reason instanceof Error ? signal.reason : new Error(`${what} cancelled`);
  const failure = trainerFailure(what, r);
  if (failure) throw failure;
}

function trainerFailure(what: string, r: TrainerResult): Error | undefined {
  if (r.eventError !== undefined) return new TrainerEventError(`${what}: ${r.eventError}`);
  if (r.code === TRAINER_EXIT.ok) return undefined;
  const tail = r.stderrTail.slice(-15).join('\n');
  if (r.code === TRAINER_EXIT.badConfig) return new ConfigError(`${what}: the trainer rejected its config: ${configMessage(r.stderrTail)}`);
  if (r.code === TRAINER_EXIT.oom) return new TrainerOutOfMemoryError(`${what}: out of memory (lower train.batchSize or seqLen, or enable train.oomBatchHalving)\n${tail}`);
  const how = r.code === null ? `was killed by ${r.signal}` : r.code === TRAINER_EXIT.terminated ? 'was terminated (exit 143)' : `exited with code ${r.code}`;
  return new Error(`${what}: the trainer ${how}\n${tail}`);
}

/**
 * The trainer's own explanation of a bad config: its last ERROR log record (`... ERROR trainer: data.train: ...`),
 * continuation lines included (`invalid config:` lists one field per line), else the last stderr lines.
 */
export function configMessage(tail: string[]): string {
  let i = tail.length - 1;
  while (i >= 0 && !/\bERROR\b/.test(tail[i])) i--;
  if (i < 0) return tail.slice(-3).join('; ').trim() || 'no message on stderr';
  const first = tail[i].replace(/^.*?\bERROR\b\s*(?:[\w.]+:\s)?/, '');
  return [first, ...tail.slice(i + 1).map((l) => l.trim())].filter(Boolean).join(' ');
}
