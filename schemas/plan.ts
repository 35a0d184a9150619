/**
 * Compiles a pipeline spec into a normalized plan: every default applied, every stage's params parsed by its
 * kind's schema, the DAG checked (missing needs, cycles, artifact types, the inputs each kind requires and the
 * needs-stages its params name), optionally the local files it names, and laid out by levels. The workflow
 * runs plans, never raw specs. All problems are reported together.
 */
import { createHash } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import type { z } from 'zod';
import { gpuQueue, QUEUES, type ArtifactType } from './common';
import { canonicalJson } from './canonical';
import { formatPath, type SpecIssue } from './issues';
import { resolveLocalPaths } from './local-paths';
import { PipelineSpec, StageSpec, type RetrySpecT, type TimeoutSpecT } from './pipeline';
import { missingFileIssues } from './preflight/files';
import { inputIssues } from './preflight/inputs';
import { payloadIssues } from './preflight/payload';
import { isStageKind, producedType, stageKinds, type PlanApproval, type StageKind, type StageKindName } from './stages';

export interface PlanRetry {
  maxAttempts: number;
  initialInterval: string;
  backoffCoefficient: number;
  maxInterval: string;
}

export interface PlanStage {
  name: string;
  kind: StageKindName;
  version: string;
  needs: string[];
  params: Record<string, unknown>;
  queue: string;
  /** GPUs an attempt needs (set when the spec says `resources`); a GPU worker pins them for the attempt. */
  resources?: { gpu: number; gpuClass?: string; nodes?: number };
  /** Where the stage runs when no worker on `queue` starts it within `timeouts.scheduleToStart`. */
  fallbackQueue?: string;
  retry: PlanRetry;
  timeouts: { startToClose: string; heartbeat: string; scheduleToStart?: string };
  cache: boolean;
  onFailure: 'fail' | 'park';
  mode: 'single' | 'fanout';
  concurrency: number;
  produces: ArtifactType;
  /** Set when the stage waits for a human between its propose and run steps (see workflows/pipeline.ts). */
  approval?: PlanApproval;
  /** Set for kinds that describe their own run (report): the workflow passes them the run so far. */
  observesRun?: true;
}

export interface Plan {
  name: string;
  description?: string;
  /** sha256 of the canonical plan (without this field); pinned in the run's memo. */
  hash: string;
  levels: string[][];
  stages: Record<string, PlanStage>;
  schedule?: z.output<typeof PipelineSpec>['schedule'];
}

/** `issues` stop the plan; `warnings` (a plan near Temporal's payload limit) are for the user to see. */
export type CompileResult = { ok: true; plan: Plan; warnings: SpecIssue[] } | { ok: false; issues: SpecIssue[] };

const ENGINE_DEFAULTS = {
  retry: { maxAttempts: 3, initialInterval: '1s', backoffCoefficient: 2, maxInterval: '1m' } satisfies PlanRetry,
  timeout: { startToClose: '24h', heartbeat: '60s' },
  queue: QUEUES.cpu,
  concurrency: 16,
};

function zodIssues(err: z.ZodError, prefix: PropertyKey[], code: SpecIssue['code']): SpecIssue[] {
  return err.issues.flatMap((i) =>
    // One issue per unknown key, pointing at the key itself (and so at its line).
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ code, path: formatPath([...prefix, ...i.path, k]), message: `unknown field "${k}"` }))
      : [{ code, path: formatPath([...prefix, ...i.path]), message: i.message }],
  );
}

export interface CompileOptions {
  /** Resolves relative paths in params (the folder of the pipeline file). */
  baseDir?: string;
  /** `--set stage.key=value` overrides, applied before validation. */
  overrides?: Record<string, unknown>;
  /**
   * Check that the local files the params name exist (relative ones against baseDir). Off by default here: a
   * plan may be compiled on a machine without the files (the workers read them); loadPlan turns it on.
   */
  checkPaths?: boolean;
  /**
   * Check the inputs each stage kind requires and the needs-stages its params name (default true). Off only to
   * build a plan that reaches the stages' own checks, which tests of those checks do.
   */
  checkInputs?: boolean;
}

export function compilePipeline(raw: unknown, opts: CompileOptions = {}): CompileResult {
  const issues: SpecIssue[] = [];
  const top = PipelineSpec.safeParse(raw);
  if (!top.success) issues.push(...zodIssues(top.error, [], 'invalid'));
  const spec = top.success ? top.data : undefined;
  const rawStages: Record<string, unknown> =
    spec?.stages ?? (isRecord(raw) && isRecord(raw.stages) ? (raw.stages as Record<string, unknown>) : {});

  issues.push(...cronIssues(isRecord(raw) ? raw.schedule : undefined));

  const defaults = spec?.defaults ?? {};
  const stages: Record<string, PlanStage> = {};
  for (const [name, rawStage] of Object.entries(rawStages)) {
    const parsed = StageSpec.safeParse(rawStage);
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, ['stages', name], 'invalid'));
      continue;
    }
    const s = parsed.data;
    if (!isStageKind(s.uses)) {
      issues.push({
        code: 'unknown-kind',
        path: `stages.${name}.uses`,
        message: `unknown stage kind "${s.uses}"; known kinds: ${Object.keys(stageKinds).join(', ')}`,
      });
      continue;
    }
    const kind = stageKinds[s.uses];
    const withValues = applyOverrides(s.with, opts.overrides, name);
    const params = kind.params.safeParse(withValues);
    if (!params.success) {
      issues.push(...zodIssues(params.error, ['stages', name, 'with'], 'bad-params'));
      continue;
    }
    const given = params.data as Record<string, unknown>;
    if (opts.checkPaths) issues.push(...missingFileIssues(name, s.uses, given, opts.baseDir));
    const p = opts.baseDir ? resolveLocalPaths(s.uses, given, opts.baseDir) : given;
    stages[name] = {
      name,
      kind: s.uses,
      version: kind.version,
      needs: s.needs,
      params: p,
      queue: s.queue ?? (s.resources?.gpuClass ? gpuQueue(s.resources.gpuClass) : undefined) ?? defaults.queue ?? (kind.defaultQueue || ENGINE_DEFAULTS.queue),
      ...(s.resources ? { resources: s.resources } : {}),
      ...(s.fallbackQueue ? { fallbackQueue: s.fallbackQueue } : {}),
      retry: mergeRetry(defaults.retry, s.retry),
      timeouts: mergeTimeouts(defaults.timeout, s.timeout),
      cache: kind.cacheable === false ? false : s.cache,
      onFailure: s.onFailure,
      mode: (kind.fanout as (x: unknown) => boolean)(p) ? 'fanout' : 'single',
      concurrency: s.concurrency ?? ENGINE_DEFAULTS.concurrency,
      produces: producedType(s.uses, p),
      ...((kind as StageKind).observesRun ? { observesRun: true as const } : {}),
    };
    const approval = (kind as StageKind).approval?.(p);
    if (approval) stages[name].approval = approval;
  }

  // Edges: every need must exist (checked on the raw spec, so a stage with bad params still gets it) ...
  for (const [name, s] of Object.entries(rawStages)) {
    const needs = isRecord(s) && Array.isArray(s.needs) ? s.needs : [];
    needs.forEach((need, i) => {
      if (typeof need === 'string' && !(need in rawStages)) {
        const message = `needs "${need}", which is not a stage of this pipeline`;
        issues.push({ code: 'missing-need', path: `stages.${name}.needs[${i}]`, message });
      }
    });
  }
  // ... and deliver an artifact type the consumer accepts.
  for (const st of Object.values(stages)) {
    const accepts = stageKinds[st.kind].accepts;
    st.needs.forEach((need, i) => {
      const path = `stages.${st.name}.needs[${i}]`;
      const up = stages[need];
      if (!up || up.produces === 'none' || accepts.includes('*')) return;
      if (!accepts.includes(up.produces)) {
        const wanted = accepts.length ? accepts.join(' or ') : 'no input artifacts (it is a source)';
        issues.push({
          code: 'type-mismatch',
          path,
          message: `stage "${need}" (${up.kind}) produces ${up.produces}, but ${st.kind} accepts ${wanted}`,
        });
      }
    });
  }

  if (opts.checkInputs !== false) issues.push(...inputIssues(stages));

  for (const k of Object.keys(opts.overrides ?? {})) {
    const stage = k.split('.')[0];
    if (!(stage in rawStages) || !k.includes('.')) {
      issues.push({ code: 'invalid', path: `--set ${k}`, message: `expected STAGE.KEY=VALUE naming a stage of this pipeline (${Object.keys(rawStages).join(', ')})` });
    }
  }

  issues.push(...placementIssues(stages));

  const cycle = findCycle(rawStages);
  if (cycle) {
    issues.push({ code: 'cycle', path: `stages.${cycle[0]}.needs`, message: `cycle: ${cycle.join(' → ')}` });
  }

  if (issues.length || !spec) return { ok: false, issues };
  const body = { name: spec.name, description: spec.description, levels: levelsOf(stages), stages, schedule: spec.schedule };
  const size = payloadIssues(body);
  const warnings = size.filter((i) => i.severity === 'warning');
  if (warnings.length < size.length) return { ok: false, issues: size };
  const hash = createHash('sha256').update(canonicalJson(body)).digest('hex');
  return { ok: true, plan: { ...body, hash }, warnings };
}

/** Queue, resources and fallback must agree: a fallback needs a scheduleToStart limit to ever be taken. */
function placementIssues(stages: Record<string, PlanStage>): SpecIssue[] {
  const issues: SpecIssue[] = [];
  for (const st of Object.values(stages)) {
    const at = (p: string) => `stages.${st.name}.${p}`;
    const cls = st.resources?.gpuClass;
    if (cls && st.queue !== gpuQueue(cls)) {
      const message = `queue "${st.queue}" contradicts resources.gpuClass "${cls}" (whose queue is ${gpuQueue(cls)}): set one of them`;
      issues.push({ code: 'invalid', path: at('queue'), message });
    }
    if ((st.resources?.nodes ?? 1) > 1 && !(stageKinds[st.kind] as StageKind).multiNode) {
      const message = `stage kind ${st.kind} runs on one machine; resources.nodes > 1 is for kinds that train across machines (pretrain)`;
      issues.push({ code: 'invalid', path: at('resources.nodes'), message });
    }
    if ((st.resources?.nodes ?? 1) > 1 && st.mode === 'fanout') {
      issues.push({ code: 'invalid', path: at('resources.nodes'), message: 'a fan-out stage spreads over workers by its tasks: resources.nodes is for single-activity stages' });
    }
    if (!st.fallbackQueue) continue;
    if (!st.timeouts.scheduleToStart) {
      const message = 'a fallbackQueue needs timeout.scheduleToStart: without it the stage waits for a worker on its queue forever';
      issues.push({ code: 'invalid', path: at('fallbackQueue'), message });
    }
    if (st.fallbackQueue === st.queue) {
      issues.push({ code: 'invalid', path: at('fallbackQueue'), message: `the fallback queue is the stage's own queue (${st.queue})` });
    }
  }
  return issues;
}

function cronIssues(schedule: unknown): SpecIssue[] {
  if (!isRecord(schedule)) return [];
  const crons = Array.isArray(schedule.cron) ? schedule.cron : [schedule.cron];
  const tz = typeof schedule.timezone === 'string' ? schedule.timezone : undefined;
  const issues: SpecIssue[] = [];
  crons.forEach((c, i) => {
    if (typeof c !== 'string') return; // the schema reports the type
    try {
      CronExpressionParser.parse(c, { tz });
    } catch (e) {
      const path = Array.isArray(schedule.cron) ? `schedule.cron[${i}]` : 'schedule.cron';
      issues.push({ code: 'invalid-cron', path, message: `invalid cron expression "${c}": ${(e as Error).message}` });
    }
  });
  return issues;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Applies `--set stage.key.sub=value` overrides for one stage onto a copy of its `with`. */
function applyOverrides(params: Record<string, unknown>, overrides: Record<string, unknown> | undefined, stage: string): Record<string, unknown> {
  const out = structuredClone(params);
  for (const [k, v] of Object.entries(overrides ?? {})) {
    if (!k.startsWith(`${stage}.`)) continue;
    const keys = k.slice(stage.length + 1).split('.');
    let node: Record<string, unknown> = out;
    for (const key of keys.slice(0, -1)) {
      if (!isRecord(node[key])) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = v;
  }
  return out;
}

function mergeRetry(...layers: (RetrySpecT | undefined)[]): PlanRetry {
  return Object.assign({}, ENGINE_DEFAULTS.retry, ...layers.filter(Boolean));
}

function mergeTimeouts(...layers: (TimeoutSpecT | undefined)[]): PlanStage['timeouts'] {
  return Object.assign({}, ENGINE_DEFAULTS.timeout, ...layers.filter(Boolean));
}

/** Needs graph cycle, as a closed path of stage names, or undefined. */
function findCycle(rawStages: Record<string, unknown>): string[] | undefined {
  const needs = (n: string): string[] => {
    const s = rawStages[n];
    const v = isRecord(s) ? s.needs : undefined;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x in rawStages) : [];
  };
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const m of needs(n)) {
      const c = visit(m);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of Object.keys(rawStages)) {
    const c = visit(n);
    if (c) return c.reverse(); // read as "a needs b needs c": reverse into data-flow order
  }
  return undefined;
}

/** Stages grouped by depth: level k holds the stages whose longest chain of needs has length k. */
export function levelsOf(stages: Record<string, Pick<PlanStage, 'needs'>>): string[][] {
  const depth = new Map<string, number>();
  const d = (n: string): number => {
    const known = depth.get(n);
    if (known !== undefined) return known;
    const v = Math.max(-1, ...stages[n].needs.map(d)) + 1;
    depth.set(n, v);
    return v;
  };
  const levels: string[][] = [];
  for (const n of Object.keys(stages).sort()) (levels[d(n)] ??= []).push(n);
  return levels;
}
