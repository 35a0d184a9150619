/** Reading Temporal failure chains: the root cause's message and the attempt it happened on. */
import { ApplicationFailure, TemporalFailure, TimeoutFailure } from '@temporalio/workflow';

function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/** "Type: message" of the innermost application failure (else the innermost failure), e.g. "ConfigError: …". */
export function describeFailure(err: unknown): string {
  const links = chain(err);
  const app = links.filter((e): e is ApplicationFailure => e instanceof ApplicationFailure).pop();
  if (app) return app.type ? `${app.type}: ${app.message}` : app.message;
  const root = links[links.length - 1] as Error | undefined;
  if (!root) return String(err);
  return root instanceof TemporalFailure && root.message ? `${root.name}: ${root.message}` : String(root.message ?? root);
}

/** The attempt number the activity runtime attached to its failure, if any. */
export function failureAttempt(err: unknown): number | undefined {
  for (const e of chain(err)) {
    if (e instanceof ApplicationFailure) {
      const d = e.details?.[0] as { attempt?: number } | undefined;
      if (typeof d?.attempt === 'number') return d.attempt;
    }
  }
  return undefined;
}

/** No worker picked the activity up in time (a stage on a queue nobody serves, e.g. a missing GPU class). */
export function scheduleToStartTimedOut(err: unknown): boolean {
  return chain(err).some((e) => e instanceof TimeoutFailure && e.timeoutType === 'SCHEDULE_TO_START');
}
