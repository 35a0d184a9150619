/**
 * A worker's Prometheus endpoint (`dapt worker --metrics-port`). dapt's own metrics, per task queue — activity
 * slots total and used, running activities, schedule-to-start latency, activity outcomes and durations, GPUs
 * leased — come from an activity interceptor and prom-client. When the Temporal SDK core exports its own
 * metrics (temporal_*: pollers, sticky cache, task latencies) on a loopback port, they are appended to the same
 * page, so one scrape target covers both.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { CancelledFailure } from '@temporalio/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GpuPool } from '../activities/gpus';

type Outcome = 'completed' | 'failed' | 'cancelled';

export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly slots = new Gauge({ name: 'dapt_worker_activity_slots', help: 'Activity slots of this worker, per task queue', labelNames: ['queue'], registers: [this.registry] });
  private readonly slotsUsed = new Gauge({ name: 'dapt_worker_activity_slots_used', help: 'Activity slots in use, per task queue', labelNames: ['queue'], registers: [this.registry] });
  private readonly running = new Gauge({
    name: 'dapt_worker_activities_running',
    help: 'Activities executing now, by queue, activity type and stage kind',
    labelNames: ['queue', 'activity', 'stage_kind'],
    registers: [this.registry],
  });
  private readonly scheduleToStart = new Histogram({
    name: 'dapt_worker_schedule_to_start_seconds',
    help: 'Time an activity attempt waited in its task queue before this worker started it',
    labelNames: ['queue'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });
  private readonly outcomes = new Counter({
    name: 'dapt_worker_activity_outcomes_total',
    help: 'Finished activity attempts by outcome (completed, failed, cancelled)',
    labelNames: ['queue', 'activity', 'stage_kind', 'outcome'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'dapt_worker_activity_duration_seconds',
    help: 'Activity attempt run time by outcome',
    labelNames: ['queue', 'activity', 'outcome'],
    buckets: [0.01, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 4 * 3600, 24 * 3600],
    registers: [this.registry],
  });
  private readonly used = new Map<string, number>();

  constructor(gpus?: GpuPool) {
    if (gpus) {
      new Gauge({
        name: 'dapt_worker_gpus',
        help: 'GPUs of this worker (state="total") and those leased to running attempts (state="leased")',
        labelNames: ['state'],
        registers: [this.registry],
        collect() {
          this.set({ state: 'total' }, gpus.total);
          this.set({ state: 'leased' }, gpus.leased);
        },
      });
    }
  }

  /** Declares a queue's slots, so an idle queue still shows up (with 0 used). */
  queue(queue: string, slots: number): void {
    this.slots.set({ queue }, slots);
    this.slotsUsed.set({ queue }, this.used.get(queue) ?? 0);
  }

  /** The interceptor to pass to Worker.create({ interceptors: { activity: [...] } }). */
  interceptor(): ActivityInterceptorsFactory {
    return (ctx) => {
      const inbound: ActivityInboundCallsInterceptor = {
        execute: async (input, next) => {
          const { taskQueue: queue, activityType: activity, currentAttemptScheduledTimestampMs: scheduledMs, isLocal } = ctx.info;
          const stageKind = stageKindOf(input.args[0]);
          const started = Date.now();
          // Local activities (cache lookups inside the workflow task) neither wait in a queue nor take activity slots.
          const slot = isLocal ? 0 : 1;
          if (!isLocal) this.scheduleToStart.observe({ queue }, Math.max(0, started - scheduledMs) / 1000);
          this.bump(queue, slot);
          this.running.inc({ queue, activity, stage_kind: stageKind });
          let outcome: Outcome = 'failed';
          try {
            const result = await next(input);
            outcome = 'completed';
            return result;
          } catch (e) {
            if (e instanceof CancelledFailure || ctx.cancellationSignal.aborted) outcome = 'cancelled';
            throw e;
          } finally {
            this.bump(queue, -slot);
            this.running.dec({ queue, activity, stage_kind: stageKind });
            this.outcomes.inc({ queue, activity, stage_kind: stageKind, outcome });
            this.duration.observe({ queue, activity, outcome }, (Date.now() - started) / 1000);
          }
        },
      };
      return { inbound };
    };
  }

  private bump(queue: string, d: number): void {
    const n = (this.used.get(queue) ?? 0) + d;
    this.used.set(queue, n);
    this.slotsUsed.set({ queue }, n);
  }

  /**
   * Serves GET /metrics on `port` (0 = any free port) until close(). `coreUrl`: the SDK core's own Prometheus
   * page, appended when it answers.
   */
  async serve(port: number, host = '0.0.0.0', coreUrl?: string): Promise<{ port: number; url: string; close(): Promise<void> }> {
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
        res.writeHead(404).end('see /metrics\n');
        return;
      }
      void (async () => {
        try {
          let body = await this.registry.metrics();
          if (coreUrl) body += await fetch(coreUrl, { signal: AbortSignal.timeout(2000) }).then((r) => (r.ok ? r.text() : ''), () => '');
          res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(body);
        } catch (e) {
          res.writeHead(500).end(`${(e as Error).message}\n`);
        }
      })();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const bound = (server.address() as AddressInfo).port;
    return {
      port: bound,
      url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}/metrics`,
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  }
}

function stageKindOf(arg: unknown): string {
  const kind = (arg as { stage?: { kind?: unknown } } | undefined)?.stage?.kind;
  return typeof kind === 'string' ? kind : '';
}
