/**
 * The plan travels as the workflow's input, one Temporal payload. The server refuses a payload over
 * `limit.blobSize.error` (default 2 MiB) and logs one over `limit.blobSize.warn` (512 KiB); a refused plan would
 * only show as a failed `dapt run`, without saying which part of the spec made it large.
 */
import type { SpecIssue } from '../issues';
import type { Plan } from '../plan';

export const PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024;
export const PAYLOAD_WARN_BYTES = 512 * 1024;
/** What the run input carries besides the plan (run id, options, encoding metadata), with room to spare. */
const ENVELOPE_BYTES = 1024;

export function payloadIssues(plan: Omit<Plan, 'hash'>, limits = { error: PAYLOAD_LIMIT_BYTES, warn: PAYLOAD_WARN_BYTES }): SpecIssue[] {
  const size = jsonBytes(plan) + ENVELOPE_BYTES;
  if (size <= limits.warn) return [];
  // Point at the largest stage's params: that is where a long list or an inlined text usually is.
  const [stage, stageBytes] = Object.values(plan.stages)
    .map((s) => [s.name, jsonBytes(s.params)] as const)
    .reduce((a, b) => (b[1] > a[1] ? b : a), ['', 0] as const);
  const over = size > limits.error;
  const limit = over ? `over the ${mib(limits.error)} Temporal accepts as a workflow input (limit.blobSize.error)` : `over Temporal's warning level of ${mib(limits.warn)}`;
  const part = stage ? `; the largest part is this stage's params (${mib(stageBytes)})` : '';
  return [
    {
      code: 'too-large',
      path: stage ? `stages.${stage}.with` : '(plan)',
      message: `the plan is ${mib(size)} as a Temporal payload, ${limit}${part}`,
      ...(over ? {} : { severity: 'warning' as const }),
    },
  ];
}

function jsonBytes(x: unknown): number {
  return Buffer.byteLength(JSON.stringify(x) ?? '', 'utf8');
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}
