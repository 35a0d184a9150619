/** dapt schedule create|list|describe|pause|unpause|trigger|backfill|delete */
import type { Client } from '@temporalio/client';
import { createSchedule, describeSchedule, listSchedules, scheduleAction } from '../../client/schedules';
import type { Plan } from '../../schemas';
import type { DaptConfig } from '../../config';
import { UsageError } from '../context';

export async function scheduleCreate(
  client: Client,
  cfg: DaptConfig,
  plan: Plan,
  opts: { id?: string; cron?: string[]; overlap?: string; catchupWindow?: string; paused?: boolean },
): Promise<void> {
  const id = await createSchedule(client, cfg, plan, opts);
  const d = await describeSchedule(client, id);
  console.log(`schedule ${id} created; next runs: ${d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()).join(', ')}`);
}

export async function scheduleList(client: Client): Promise<void> {
  const all = await listSchedules(client);
  if (!all.length) console.log('no schedules');
  for (const s of all) console.log(`${s.id.padEnd(32)} ${s.paused ? 'paused ' : 'active '} next ${s.next?.toISOString() ?? '-'}  ${s.note ?? ''}`);
}

export async function scheduleDo(
  client: Client,
  action: 'pause' | 'unpause' | 'trigger' | 'delete' | 'backfill',
  id: string,
  opts: { note?: string; from?: string; to?: string; overlap?: string },
): Promise<void> {
  const date = (s: string | undefined, flag: string) => {
    if (s === undefined) return undefined;
    const d = new Date(s);
    if (Number.isNaN(d.getTime())) throw new UsageError(`${flag} ${s}: expected an ISO date such as 2026-11-01T00:00:00Z`);
    return d;
  };
  await scheduleAction(client, id, action, { note: opts.note, overlap: opts.overlap, from: date(opts.from, '--from'), to: date(opts.to, '--to') });
  console.log(`schedule ${id}: ${action} done`);
}

export async function scheduleDescribe(client: Client, id: string): Promise<void> {
  const d = await describeSchedule(client, id);
  console.log(JSON.stringify({ id, paused: d.state.paused, note: d.state.note, next: d.info.nextActionTimes, recent: d.info.recentActions.map((a) => a.action) }, null, 2));
}
