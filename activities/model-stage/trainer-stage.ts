/**
 * One trainer run inside a stage attempt, the way every model stage does it: validate and write the config,
 * run `python -m trainer <command>` (trainer-process.ts) with the attempt's cancellation and GPU lease,
 * turn its events into progress heartbeats, and throw what a failed exit means (ConfigError for a rejected
 * config, TrainerOutOfMemoryError, the cancellation's reason).
 */
import path from 'node:path';
import type { z } from 'zod';
import { EvaluateConfig, FinetuneConfig, LongtailConfig, PretrainConfig, PseudolabelConfig, TokenizeConfig, TranslateConfig, type TrainerEvent } from '../../schemas/trainer';
import type { StageContext } from '../stages/types';
import { freePort, nodeAddress, type TrainerRendezvous } from './rendezvous';
import { runTrainer, throwIfTrainerFailed, writeTrainerConfig } from './trainer-process';

/** The config schema of each trainer command: a stage names the command, the schema follows. */
const CONFIGS = {
  pretrain: PretrainConfig,
  evaluate: EvaluateConfig,
  translate: TranslateConfig,
  finetune: FinetuneConfig,
  pseudolabel: PseudolabelConfig,
  longtail: LongtailConfig,
  tokenize: TokenizeConfig,
} as const;

export type TrainerCommand = keyof typeof CONFIGS;
/** A command's config as a stage writes it (defaults are applied by the validation). */
export type TrainerConfigInput<C extends TrainerCommand> = z.input<(typeof CONFIGS)[C]>;

/** The fine-tuning settings that the fine-tuning stages (evaluate, pseudolabel) hand to the trainer as their params hold them. */
export type FineTuning = Pick<TrainerConfigInput<'finetune'>, 'epochs' | 'maxSteps' | 'batchSize' | 'lr' | 'weightDecay' | 'warmupRatio'>;

export function fineTuningOf(p: FineTuning): FineTuning {
  return { epochs: p.epochs, maxSteps: p.maxSteps, batchSize: p.batchSize, lr: p.lr, weightDecay: p.weightDecay, warmupRatio: p.warmupRatio };
}

export interface TrainerStageRun<C extends TrainerCommand> {
  /** Names the stage (or its part) in errors and logs: 'pretrain', 'augment: back-translation'. */
  what: string;
  /** Validated against the command's schema before any process starts. */
  config: TrainerConfigInput<C> & { command: C };
  /** Where the config is written; default `<workDir>/trainer-config.json`. */
  configFile?: string;
  /** The trainer's working directory; default the attempt's workDir. */
  cwd?: string;
  /** A checkpoint directory to resume from. */
  resumeDir?: string;
  /** Every event, in order (after its heartbeat). */
  onEvent?(e: TrainerEvent): void;
  /** `progress` events become heartbeats `<progressPrefix><model seed: >step s/t loss l`, unless the stage heartbeats itself. */
  progressPrefix?: string;
  ownHeartbeats?: boolean;
  /** Awaited after the trainer exits and before its exit is judged (e.g. checkpoint uploads it announced). */
  settle?(): Promise<unknown>;
}

export async function runTrainerStage<C extends TrainerCommand>(ctx: StageContext<unknown>, run: TrainerStageRun<C>): Promise<void> {
  const command = run.config.command;
  const configPath = writeTrainerConfig(CONFIGS[command], run.config, run.configFile ?? path.join(ctx.workDir, 'trainer-config.json'), `${run.what}: trainer config`);
  const result = await runTrainer({
    command,
    configPath,
    resumeDir: run.resumeDir,
    cwd: run.cwd ?? ctx.workDir,
    signal: ctx.signal,
    gpus: ctx.gpus,
    ...(ctx.node ? { rendezvous: await meet(ctx, command) } : {}),
    onEvent: (e) => {
      if (!run.ownHeartbeats) progressHeartbeat(ctx, e, run.progressPrefix ?? '');
      run.onEvent?.(e);
    },
    log: (m) => ctx.log(m),
  });
  await run.settle?.();
  throwIfTrainerFailed(run.what, result, ctx.signal);
}

/**
 * A node of a multi-node attempt, just before its trainer starts: node 0 picks the rendezvous address here and
 * announces it through the workflow, which only then starts the other nodes; they announce that they arrived.
 */
async function meet(ctx: StageContext<unknown>, command: TrainerCommand): Promise<TrainerRendezvous> {
  const node = ctx.node!;
  if (command !== 'pretrain') throw new Error(`trainer ${command} runs on one machine, not on ${node.count} nodes`);
  const address = node.address ?? `${nodeAddress()}:${await freePort()}`;
  await node.announce(node.rank === 0 ? address : undefined);
  ctx.log(`node ${node.rank} of ${node.count}: rendezvous ${node.group} at ${address}`);
  ctx.progress({ message: `node ${node.rank} of ${node.count}: waiting at the rendezvous ${address} for the other nodes (up to ${node.joinTimeoutS}s)` });
  return { nodes: node.count, address, id: node.group, host: node.rank === 0, joinTimeoutS: node.joinTimeoutS };
}

function progressHeartbeat(ctx: StageContext<unknown>, e: TrainerEvent, prefix: string): void {
  if (e.event !== 'progress') return;
  const who = e.model !== undefined ? `${e.model}${e.seed !== undefined ? ` seed ${e.seed}` : ''}: ` : '';
  ctx.progress({ fraction: e.total ? Math.min(1, e.step / e.total) : undefined, message: `${prefix}${who}step ${e.step}/${e.total} loss ${e.loss.toFixed(4)}` });
}
