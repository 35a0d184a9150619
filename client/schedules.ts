/** Recurring runs on Temporal Schedules (overlap policy, catch-up window, pause, trigger, backfill). */
import { ScheduleOverlapPolicy, type Client, type ScheduleDescription } from '@temporalio/client';
import type { Plan } from '../schemas/plan';
import type { RunInput } from '../schemas/run';
import { workflowQueue, type DaptConfig } from '../config';

const OVERLAP: Record<string, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'cancel-other': ScheduleOverlapPolicy.CANCEL_OTHER,
  'terminate-other': ScheduleOverlapPolicy.TERMINATE_OTHER,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
};

export interface ScheduleOptions {
  id?: string;
  cron?: string[];
  overlap?: string;
  catchupWindow?: string;
  paused?: boolean;
}

/** The schedule takes cron, overlap and catch-up from the spec's `schedule:` block unless options override them. */
export async function createSchedule(client: Client, cfg: DaptConfig, plan: Plan, opts: ScheduleOptions = {}): Promise<string> {
  const cron = opts.cron ?? (plan.schedule ? [plan.schedule.cron].flat() : undefined);
  if (!cron?.length) throw new Error(`pipeline ${plan.name} has no schedule.cron; pass --cron`);
  const overlap = opts.overlap ?? plan.schedule?.overlap ?? 'skip';
  if (!(overlap in OVERLAP)) throw new Error(`unknown overlap policy "${overlap}" (one of ${Object.keys(OVERLAP).join(', ')})`);
  const id = opts.id ?? plan.name;
  // An empty runId makes each scheduled run take its id from its workflow id, which Temporal makes unique.
  const input: RunInput = { plan, runId: '', queuePrefix: cfg.queuePrefix };
  await client.schedule.create({
    scheduleId: id,
    spec: { cronExpressions: cron, timezone: plan.schedule?.timezone },
    action: { type: 'startWorkflow', workflowType: 'pipelineWorkflow', taskQueue: workflowQueue(cfg), workflowId: `${plan.name}-sched`, args: [input], memo: { pipeline: plan.name, planHash: plan.hash } },
    policies: { overlap: OVERLAP[overlap], catchupWindow: (opts.catchupWindow ?? plan.schedule?.catchupWindow ?? '1d') as '1d' },
    state: { paused: opts.paused ?? plan.schedule?.paused ?? false, note: `dapt pipeline ${plan.name}, plan ${plan.hash.slice(0, 12)}` },
    memo: { pipeline: plan.name, planHash: plan.hash },
  });
  return id;
}

export async function listSchedules(client: Client): Promise<{ id: string; paused: boolean; next?: Date; note?: string }[]> {
  const out = [];
  for await (const s of client.schedule.list()) {
    out.push({ id: s.scheduleId, paused: s.state.paused, next: s.info.nextActionTimes[0], note: s.state.note });
  }
  return out;
}

export async function describeSchedule(client: Client, id: string): Promise<ScheduleDescription> {
  return client.schedule.getHandle(id).describe();
}

export async function scheduleAction(
  client: Client,
  id: string,
  action: 'pause' | 'unpause' | 'trigger' | 'delete' | 'backfill',
  opts: { note?: string; from?: Date; to?: Date; overlap?: string } = {},
): Promise<void> {
  const h = client.schedule.getHandle(id);
  if (action === 'pause') await h.pause(opts.note);
  else if (action === 'unpause') await h.unpause(opts.note);
  else if (action === 'trigger') await h.trigger(opts.overlap ? OVERLAP[opts.overlap] : undefined);
  else if (action === 'delete') await h.delete();
  else {
    if (!opts.from || !opts.to) throw new Error('backfill needs --from and --to');
    await h.backfill({ start: opts.from, end: opts.to, overlap: opts.overlap ? OVERLAP[opts.overlap] : ScheduleOverlapPolicy.ALLOW_ALL });
  }
}
