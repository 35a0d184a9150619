/**
 * One name per number: a pretrain manifest holds the trainer's metric names (`train.steps`, `train.finalLoss`, as
 * its `done` event names them). Manifests written before that also held copies under the old names (`steps`,
 * `finalLoss`), and specs may still name them (`metric: pretrain.finalLoss`): this map lets readers take either.
 */

/** Old name → current name. */
export const RENAMED_METRICS: Readonly<Record<string, string>> = {
  steps: 'train.steps',
  finalLoss: 'train.finalLoss',
};

/** The metrics with each current name filled from its old name where only the old one is recorded (old run records). */
export function withCurrentMetricNames(metrics: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...metrics };
  for (const [old, current] of Object.entries(RENAMED_METRICS)) {
    if (!(current in out) && old in out) out[current] = out[old];
  }
  return out;
}

/** The current name of a metric name that may be an old one. */
export function currentMetricName(name: string): string {
  return Object.hasOwn(RENAMED_METRICS, name) ? RENAMED_METRICS[name] : name;
}
