/**
 * What each stage kind needs from its needs-stages, checked on the spec: params that name a needs-stage
 * (`promote.metric`, `select.seed`, `dedupe.against`, …) and the inputs a kind requires (a lexicon for
 * `vocab.extend`, pairs for `uda`, one model to evaluate, …). The stage implementations make the same checks
 * when they start (a plan can be built without this compiler), but by then the stages before them have run.
 */
import type { ArtifactType } from '../common';
import type { SpecIssue } from '../issues';
import type { PlanStage } from '../plan';
import type { StageKindName, StageParams } from '../stages';
import { intervalPathOf, MIN_INTERVAL_SEEDS } from '../../activities/stages/promote/spec';

/** What one stage gets from its needs-stages. */
export class StageInputs {
  /** need → the artifact type it delivers; undefined when that stage did not compile (its own issues say why). */
  constructor(
    private readonly needs: ReadonlyMap<string, ArtifactType | undefined>,
    /** need → its compiled stage (kind and parsed params), for rules that read another stage's params */
    private readonly stages: ReadonlyMap<string, PlanStage | undefined> = new Map(),
  ) {}

  /** The compiled need `name`; undefined when it is not a need or did not compile. */
  stage(name: string): PlanStage | undefined {
    return this.stages.get(name);
  }

  /** Whether every need's type is known: only then does a missing input mean the spec lacks one. */
  get known(): boolean {
    return [...this.needs.values()].every((t) => t !== undefined);
  }

  /** The needs delivering artifacts of this type, in the order of `needs`. */
  of(type: ArtifactType): string[] {
    return [...this.needs].filter(([, t]) => t === type).map(([n]) => n);
  }

  /** These inputs less the need `name` (a need a param gives another role). */
  without(name: string): StageInputs {
    return new StageInputs(new Map([...this.needs].filter(([n]) => n !== name)), this.stages);
  }

  /** Why `name` (a param's value) is not a need delivering `type` (any artifact, when absent); undefined if it is. */
  whyNot(name: string, type?: ArtifactType): string | undefined {
    const names = [...this.needs.keys()];
    if (!this.needs.has(name)) {
      const close = closest(name, names);
      return `"${name}" is not among this stage's needs (${names.join(', ') || 'it has none'})${close ? `; did you mean "${close}"?` : ''}`;
    }
    const t = this.needs.get(name);
    if (t === 'none') return `"${name}" produces no artifact (none), so this stage gets nothing from it`;
    if (type && t !== undefined && t !== type) return `"${name}" produces ${t}, not ${type}`;
    return undefined;
  }
}

/** A problem at a path below the stage (`with.metric`, `needs`); `bad-params` when the params alone are wrong. */
interface Problem {
  at: string;
  message: string;
  code?: 'bad-params';
}
type Found = Problem | undefined;
type Rule<K extends StageKindName> = (p: StageParams<K>, inputs: StageInputs) => Found[];

const when = (cond: unknown, at: string, message: () => string, code?: Problem['code']): Found =>
  cond ? { at, message: message(), ...(code ? { code } : {}) } : undefined;

function named(at: string, name: string | undefined, inputs: StageInputs, type?: ArtifactType, prefix = ''): Found {
  const why = name === undefined ? undefined : inputs.whyNot(name, type);
  return why ? { at, message: prefix + why } : undefined;
}

const list = (names: string[]) => names.join(', ') || 'none';

/** Exactly one input of `type`: more is always wrong, none only once every need's type is known. */
function exactlyOne(inputs: StageInputs, type: ArtifactType, kind: string, role: string): Found {
  const got = inputs.of(type);
  return when(got.length > 1 || (!got.length && inputs.known), 'needs', () => `${kind} needs exactly one ${type} input (${role}), got ${list(got)}`);
}

function atMostOne(inputs: StageInputs, type: ArtifactType, kind: string): Found {
  const got = inputs.of(type);
  return when(got.length > 1, 'needs', () => `${kind} takes at most one ${type} input, got ${list(got)}`);
}

/** pretrain `dictionary`: its definitions are the dictionary.jsonl of a longtail stage that was given a glossary. */
function dictionaryProblem(inputs: StageInputs): Found {
  const lexicons = inputs.of('lexicon');
  const longtail = lexicons.map((n) => inputs.stage(n)).find((st) => st?.kind === 'longtail');
  if (!longtail) {
    if (!inputs.known) return undefined;
    return { at: 'with.dictionary', message: `definitions come from a longtail stage's dictionary.jsonl: add a longtail stage with a dictionary to needs${lexicons.length ? ` (the lexicon input ${list(lexicons)} is not a longtail stage)` : ''}` };
  }
  if (!(longtail.params as StageParams<'longtail'>).dictionary) {
    return { at: 'with.dictionary', message: `longtail stage "${longtail.name}" has no glossary, so no definitions: set stages.${longtail.name}.with.dictionary` };
  }
  return undefined;
}

/**
 * pretrain from a tokenize stage's tokens: the settings that change tokens must be the same on both sides (the
 * trainer also checks each shard against the base model's tokenizer when the stage starts).
 */
function tokensProblem(p: StageParams<'pretrain'>, inputs: StageInputs): Found {
  const from = inputs.of('tokens').map((n) => inputs.stage(n)).find((st) => st?.kind === 'tokenize');
  if (!from) return undefined;
  const t = from.params as StageParams<'tokenize'>;
  const flags = (objective: string, strategy: string, extra = false) => objective === 'mlm' && (strategy !== 'token' || extra);
  const injects = p.dictionary !== undefined && p.dictionary.inject !== 'off';
  const differ: string[] = [];
  if (t.objective !== p.objective) differ.push(`objective ${t.objective} vs ${p.objective}`);
  if (t.packing !== p.packing) differ.push(`packing ${t.packing} vs ${p.packing}`);
  if (!p.packing && t.seqLen !== p.seqLen) differ.push(`seqLen ${t.seqLen} vs ${p.seqLen} (without packing documents are cut to it)`);
  if (flags(t.objective, t.masking.strategy) !== flags(p.objective, p.masking.strategy, injects)) differ.push(`word flags: masking.strategy ${t.masking.strategy} vs ${p.masking.strategy}${injects ? ' with dictionary' : ''}`);
  else if (flags(p.objective, p.masking.strategy) && (t.masking.language !== p.masking.language || (t.masking.strategy === 'lexicon') !== (p.masking.strategy === 'lexicon'))) differ.push(`masking ${t.masking.strategy}/${t.masking.language} vs ${p.masking.strategy}/${p.masking.language}`);
  return when(differ.length, 'needs', () => `the tokens of ${from.name} were encoded with other settings than this pretraining's (tokenize vs pretrain: ${differ.join('; ')}): set the same in stages.${from.name}.with`);
}

/** The stage a metric path reads from: its first segment (`evaluate` of `evaluate.delta.macroF1`). */
const metricStage = (metric: string | undefined) => metric?.split('.')[0];

/**
 * promote with `confidence` decides on the lower bound of an interval: the metric must have one (an evaluate
 * stage's adapted or delta measure), computed from ≥ MIN_INTERVAL_SEEDS seeds at the same confidence.
 */
function intervalProblem(metric: string, confidence: number, inputs: StageInputs): Found {
  const from = metricStage(metric)!;
  const st = inputs.stage(from);
  if (!st) return undefined; // not a need, or it did not compile: reported by with.metric / its own issues
  if (st.kind !== 'evaluate') return { at: 'with.confidence', message: `needs the metric from an evaluate stage (its paired interval); "${from}" is a ${st.kind} stage` };
  if (!intervalPathOf(metric)) {
    return { at: 'with.metric', message: `${metric}: with confidence, use ${from}.models.adapted.mean.<measure> or ${from}.delta.<measure> (the measures with an interval)` };
  }
  const { seeds, interval, tasks } = st.params as StageParams<'evaluate'>;
  if (tasks) {
    return { at: 'with.confidence', message: `evaluate stage "${from}" has several tasks: each has its own interval (${from}.tasks.<task>.comparison), their macro average none; promote without confidence, e.g. on ${from}.delta.taskAverage` };
  }
  if (seeds.length < MIN_INTERVAL_SEEDS) {
    return { at: 'with.confidence', message: `needs at least ${MIN_INTERVAL_SEEDS} seeds in evaluate stage "${from}" for an interval; stages.${from}.with.seeds has ${seeds.length}` };
  }
  if (Math.abs(interval.confidence - confidence) > 1e-12) {
    return { at: 'with.confidence', message: `${confidence}, but evaluate stage "${from}" computes a ${interval.confidence} interval: set stages.${from}.with.interval.confidence to ${confidence}` };
  }
  return undefined;
}

const rules: { [K in StageKindName]?: Rule<K> } = {
  promote: (p, i) => [
    named('with.metric', metricStage(p.metric), i, undefined, `${p.metric}: `),
    named('with.baseline', metricStage(p.baseline), i, undefined, `${p.baseline}: `),
    exactlyOne(i, 'model', 'promote', 'the candidate'),
    p.confidence === undefined ? undefined : intervalProblem(p.metric, p.confidence, i),
  ],
  select: (p, i) => {
    const general = p.general ?? i.of('documents').filter((n) => n !== p.seed);
    return [
      named('with.seed', p.seed, i, 'documents'),
      ...(p.general ?? []).map((g, k) =>
        g === p.seed ? { at: `with.general[${k}]`, message: `"${g}" cannot be both seed and general` } : named(`with.general[${k}]`, g, i, 'documents'),
      ),
      when(!p.general && !general.length && i.known, 'needs', () => `select has no general corpus: add a need producing documents besides the seed stage "${p.seed}"`),
    ];
  },
  dedupe: (p, i) => [named('with.against', p.against, i, 'documents')],
  newwords: (p, i) => [
    named('with.general', p.general, i, 'documents'),
    when(i.known && !i.of('documents').some((n) => n !== p.general), 'needs', () => 'newwords needs at least one domain documents input besides the general one'),
  ],
  augment: (_p, i) => [
    when(i.known && !i.of('documents').length, 'needs', () => 'augment needs a documents input (a needs-stage producing documents)'),
    atMostOne(i, 'lexicon', 'augment'),
  ],
  pretrain: (p, i) => {
    const models = i.of('model');
    const lexicon = i.of('lexicon').length > 0 || !i.known;
    const promoted = p.baseModel?.startsWith('promoted:');
    const injects = p.dictionary !== undefined && p.dictionary.inject !== 'off';
    const tokens = i.of('tokens');
    const domainDocs = i.of('documents').filter((n) => n !== p.generalFrom);
    return [
      named('with.generalFrom', p.generalFrom, i, 'documents'),
      when(i.known && !domainDocs.length && !tokens.length, 'needs', () =>
        `pretrain needs domain documents: add a needs-stage that produces documents${p.generalFrom ? ` besides generalFrom (${p.generalFrom})` : ''}`,
      ),
      atMostOne(i, 'tokens', 'pretrain'),
      when(tokens.length && domainDocs.length, 'needs', () => `the tokens of ${list(tokens)} are the domain data, so the documents of ${list(domainDocs)} cannot be too (general text goes through generalFrom)`),
      when(tokens.length && p.vocab.extend, 'with.vocab.extend', () => `the tokens of ${list(tokens)} hold the base tokenizer's ids, which extending the vocabulary changes: pretrain from the documents instead`),
      tokensProblem(p, i),
      atMostOne(i, 'model', 'pretrain'),
      atMostOne(i, 'lexicon', 'pretrain'),
      when(p.fallbackModel && !promoted, 'with.fallbackModel', () => 'only used with baseModel promoted:<name>', 'bad-params'),
      when(p.baseModel && models.length, 'with.baseModel', () => `set, but needs-stage ${models[0]} also produces a model: use one or the other`),
      when(!p.baseModel && !models.length && i.known, 'with.baseModel', () => 'required (a local model directory, s3://bucket/prefix/ or promoted:<name>) unless a needs-stage produces a model'),
      when(p.vocab.extend && !lexicon, 'with.vocab.extend', () => 'needs a lexicon input (a newwords stage in needs)'),
      when(p.masking.strategy === 'lexicon' && !lexicon, 'with.masking.strategy', () => 'lexicon masking needs a lexicon input (a newwords stage in needs)'),
      injects ? dictionaryProblem(i) : undefined,
      when(injects && p.objective === 'clm', 'with.dictionary', () => 'definitions are appended to masked-LM inputs only (objective is clm)', 'bad-params'),
      when(p.train.adapter?.type === 'ngram' && !lexicon, 'with.train.adapter', () => "the ngram adapter needs a lexicon input (a newwords stage in needs): its n-grams are the lexicon's words"),
      when(p.train.adapter?.type === 'ngram' && p.objective === 'clm', 'with.train.adapter', () => 'the ngram adapter is for MLM encoders: in a causal LM an n-gram would show each position the tokens after it', 'bad-params'),
    ];
  },
  tokenize: (p, i) => [
    when(i.known && !i.of('documents').length, 'needs', () => 'tokenize needs a documents input (a needs-stage producing documents)'),
    atMostOne(i, 'model', 'tokenize'),
    atMostOne(i, 'lexicon', 'tokenize'),
    when(p.baseModel && i.of('model').length, 'with.baseModel', () => `set, but needs-stage ${i.of('model')[0]} also produces a model: use one or the other`),
    when(!p.baseModel && !i.of('model').length && i.known, 'with.baseModel', () => 'required (a local model directory, s3://bucket/prefix/ or promoted:<name>) unless a needs-stage produces a model'),
    when(p.masking.strategy === 'lexicon' && i.known && !i.of('lexicon').length, 'with.masking.strategy', () => 'lexicon masking needs a lexicon input (a newwords stage in needs): its words decide the word flags'),
  ],
  perplexity: (p, i) => [
    named('with.domain', p.domain, i, 'documents'),
    named('with.general', p.general, i, 'documents'),
    exactlyOne(i, 'model', 'perplexity', 'the adapted model'),
  ],
  evaluate: (p, i) => [
    named('with.ablation.control', p.ablation?.control, i, 'model'),
    exactlyOne(p.ablation?.control ? i.without(p.ablation.control) : i, 'model', 'evaluate', 'the adapted model'),
    when(p.uda && i.known && !i.of('pairs').length, 'with.uda', () => 'consistency training needs a needs-stage producing pairs (augment)'),
    when(p.uda && p.task !== 'classification', 'with.uda', () => `consistency training is for classification, not ${p.task}`, 'bad-params'),
    when(p.labelReview && p.task !== 'classification', 'with.labelReview', () => `label review is for classification, not ${p.task}`, 'bad-params'),
    when(p.prompt && p.task !== 'classification', 'with.prompt', () => `prompt-based fine-tuning is for classification, not ${p.task}`, 'bad-params'),
    p.dictionary ? dictionaryProblem(i) : undefined,
    when(p.dictionary && (p.task !== 'classification' || p.prompt), 'with.dictionary', () => `definitions are appended to classification texts without prompt (${p.prompt ? 'a prompt template holds the text' : `not ${p.task}`})`, 'bad-params'),
    when(p.prompt && p.labels?.some((l) => !(l in p.prompt!.verbalizer)), 'with.prompt.verbalizer', () =>
      `no label word for ${p.labels!.filter((l) => !(l in p.prompt!.verbalizer)).join(', ')} (every label needs one)`, 'bad-params'),
  ],
  pseudolabel: (p, i) => {
    const models = i.of('model');
    return [
      when(p.teacher && models.length, 'with.teacher', () => `set, but ${list(models)} also provide a model: name one teacher`),
      when(!p.teacher && (models.length > 1 || (!models.length && i.known)), 'needs', () =>
        `pseudolabel needs one teacher: a model input or the teacher param (got ${models.length ? list(models) : 'neither'})`,
      ),
      when(i.known && !i.of('documents').length, 'needs', () => 'pseudolabel needs a needs-stage producing documents: the unlabeled text to label'),
    ];
  },
};

/** Every stage's input problems; `stages` holds the stages that compiled (a need missing from it is unknown). */
export function inputIssues(stages: Record<string, PlanStage>): SpecIssue[] {
  return Object.values(stages).flatMap((st) => {
    const rule = rules[st.kind] as Rule<StageKindName> | undefined;
    if (!rule) return [];
    const inputs = new StageInputs(new Map(st.needs.map((n) => [n, stages[n]?.produces])), new Map(st.needs.map((n) => [n, stages[n]])));
    return rule(st.params as never, inputs)
      .filter((f): f is Problem => f !== undefined)
      .map((f) => ({ code: f.code ?? ('input-role' as const), path: `stages.${st.name}.${f.at}`, message: f.message }));
  });
}

/** The candidate within edit distance 2 (a third of the name, for short ones), if exactly one is that close. */
function closest(name: string, candidates: string[]): string | undefined {
  const max = Math.min(2, Math.floor(name.length / 3));
  const near = candidates.filter((c) => editDistance(name.toLowerCase(), c.toLowerCase()) <= max);
  return near.length === 1 ? near[0] : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
