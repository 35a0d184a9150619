/**
 * The stage kinds dapt knows: for each, its parameter schema, the artifact types it accepts and produces,
 * its implementation version (part of the cache key) and how it runs (one activity or a fan-out).
 * Implementations live in activities/stages; this file is data only, so the compiler and the docs can use it.
 */
import type { z } from 'zod';
import type { ArtifactType } from '../common';
import { CrawlParams } from '../../activities/stages/crawl/spec';
import { DedupeParams } from '../../activities/stages/dedupe/spec';
import { NewwordsParams } from '../../activities/stages/newwords/spec';
import { NoopParams } from '../../activities/stages/noop/spec';
import { PerplexityParams } from '../../activities/stages/perplexity/spec';
import { EvaluateParams } from '../../activities/stages/evaluate/spec';
import { PseudolabelParams } from '../../activities/stages/pseudolabel/spec';
import { PretrainParams } from '../../activities/stages/pretrain/spec';
import { PromoteParams } from '../../activities/stages/promote/spec';
import { SeenParams } from '../../activities/stages/seen/spec';
import { SourceParams } from '../../activities/stages/source/spec';
import { WarcParams } from '../../activities/stages/warc/spec';
import { ExtractParams } from '../../activities/stages/extract/spec';
import { FilterParams } from '../../activities/stages/filter/spec';
import { SelectParams } from '../../activities/stages/select/spec';
import { AugmentParams } from '../../activities/stages/augment/spec';
import { ReportParams } from '../../activities/stages/report/spec';

export interface StageKind<P extends z.ZodType = z.ZodType> {
  description: string;
  params: P;
  /** Input artifact types; '*' accepts anything; [] means the stage is a source (its needs only order it). */
  accepts: readonly (ArtifactType | '*')[];
  produces: ArtifactType;
  /** Bump when the implementation changes its output for the same input: it invalidates cached results. */
  version: string;
  defaultQueue: string;
  /**
   * Params holding local file paths (a string or a list): relative ones are resolved against the pipeline
   * file's folder. `s3://` references and the listed keywords are left as they are.
   */
  localPaths?: { params: string[]; keywords?: string[] };
  /** The stage describes its own run (the report): the workflow hands it the DAG and the stages' states so far. */
  observesRun?: boolean;
  /**
   * Whether these params make the stage a fan-out (plan tasks → run each → reduce). Document stages that map
   * shard by shard (activities/shard-map.ts) always are: one task per input shard.
   */
  fanout: (params: z.output<P>) => boolean;
  /** false: the stage has effects outside its artifact (a published pointer), so it runs every time. */
  cacheable?: boolean;
  /** A human approval gate these params ask for: the workflow waits between the stage's propose and run. */
  approval?: (params: z.output<P>) => PlanApproval | undefined;
}

/** How long an approval gate waits, and what silence means. */
export interface PlanApproval {
  timeout: string;
  onTimeout: 'reject';
}

function kind<P extends z.ZodType>(k: StageKind<P>): StageKind<P> {
  return k;
}

export const stageKinds = {
  source: kind({
    description: 'Read local files (txt, md, html, jsonl, .gz) into normalized JSONL document shards',
    params: SourceParams,
    accepts: [],
    produces: 'documents',
    version: '3',
    defaultQueue: 'cpu',
    localPaths: { params: ['paths'] },
    fanout: () => true, // one task per group of files
  }),
  crawl: kind({
    description: 'Crawl web pages from seeds (robots.txt, politeness, retries) and extract their main text',
    params: CrawlParams,
    accepts: [],
    produces: 'documents',
    version: '3',
    defaultQueue: 'cpu',
    fanout: () => false,
  }),
  dedupe: kind({
    description: 'Drop exact duplicates (normalized text hash), then with method near MinHash LSH near-duplicates; the first occurrence is kept',
    params: DedupeParams,
    accepts: ['documents'],
    produces: 'documents',
    version: '3',
    defaultQueue: 'cpu',
    fanout: () => true, // exact: keys per shard → decide per hash partition → filter per shard
  }),
  pretrain: kind({
    description: 'Continue pretraining a base model (MLM/CLM) on the domain documents; resumable from checkpoints in the store',
    params: PretrainParams,
    accepts: ['documents', 'lexicon', 'model'],
    produces: 'model',
    version: '1',
    defaultQueue: 'gpu',
    localPaths: { params: ['baseModel', 'fallbackModel'] },
    fanout: () => false,
  }),
  perplexity: kind({
    description: 'Base vs adapted model: held-out domain and general loss, perplexity and masked-token accuracy',
    params: PerplexityParams,
    accepts: ['model', 'documents'],
    produces: 'metrics',
    version: '2',
    defaultQueue: 'gpu',
    localPaths: { params: ['baseModel'] },
    fanout: () => true, // count per set → score per held-out shard → sums
  }),
  evaluate: kind({
    description: 'Fine-tune base and adapted model on a labeled task (classification or NER) over several seeds; test scores and deltas',
    params: EvaluateParams,
    accepts: ['model', 'pairs', 'dataset'],
    produces: 'metrics',
    version: '1',
    defaultQueue: 'gpu',
    localPaths: { params: ['baseModel', 'data.train', 'data.dev', 'data.test'] },
    fanout: () => false,
  }),
  pseudolabel: kind({
    description: 'Label unlabeled documents with a teacher fine-tuned on the labeled set; keep confident labels (threshold, per-class cap)',
    params: PseudolabelParams,
    accepts: ['model', 'documents', 'dataset'],
    produces: 'dataset',
    version: '2',
    defaultQueue: 'gpu',
    localPaths: { params: ['teacher', 'data.train'] },
    fanout: () => true, // teacher → label per shard → select (→ student → label → select per round) → write per shard
  }),
  warc: kind({
    description: 'Read WARC/WET files (per-record gzip, local or s3://bucket/prefix) into documents: WET text, HTML of responses',
    params: WarcParams,
    accepts: [],
    produces: 'documents',
    version: '2',
    defaultQueue: 'cpu',
    localPaths: { params: ['paths'] },
    fanout: (p) => p.limit === undefined, // one task per file; a limit reads the files in order
  }),
  extract: kind({
    description: 'HTML documents → main text with title and language, boilerplate removed; short pages dropped',
    params: ExtractParams,
    accepts: ['documents'],
    produces: 'documents',
    version: '3',
    defaultQueue: 'cpu',
    fanout: () => true, // one task per input shard
  }),
  filter: kind({
    description: 'Language ID, Gopher quality/repetition, C4 and FineWeb rules, optional PII masking; drops counted per rule',
    params: FilterParams,
    accepts: ['documents'],
    produces: 'documents',
    version: '2',
    defaultQueue: 'cpu',
    fanout: () => true, // one task per input shard
  }),
  select: kind({
    description: 'DSIR-style selection: score a general corpus against a seed domain corpus (hashed n-gram log-ratios), keep the best or importance-resample',
    params: SelectParams,
    accepts: ['documents'],
    produces: 'documents',
    version: '2',
    defaultQueue: 'cpu',
    fanout: () => true, // counts and scores per shard → weights, radix-select cut → apply per shard
  }),
  newwords: kind({
    description: 'Mine a ranked domain lexicon (frequency, PMI, neighbour entropy) not covered by the base vocabulary',
    params: NewwordsParams,
    accepts: ['documents'],
    produces: 'lexicon',
    version: '2',
    defaultQueue: 'cpu',
    localPaths: { params: ['baseVocab', 'dictionary'], keywords: ['jieba'] },
    fanout: () => true, // count per shard → merge, look up, score per hash partition → rank
  }),
  seen: kind({
    description: 'The documents the promoted model of a line was trained on (through its lineage): the dedupe reference that keeps a refresh to new data',
    params: SeenParams,
    accepts: [],
    produces: 'documents',
    version: '1',
    defaultQueue: 'cpu',
    fanout: () => false,
  }),
  promote: kind({
    description: 'Publish the model as models/<name>/latest when it beats the current one by a margin on a metric, optionally after human approval',
    params: PromoteParams,
    accepts: ['model', 'metrics'],
    produces: 'promotion',
    version: '1',
    defaultQueue: 'cpu',
    fanout: () => false,
    cacheable: false,
    approval: (p) => p.approval,
  }),
  report: kind({
    description: 'One self-contained HTML report of the run: DAG and timings, data funnel, vocabulary, training curves, base vs adapted metrics, promotion',
    params: ReportParams,
    accepts: ['*'],
    produces: 'report',
    version: '1',
    defaultQueue: 'cpu',
    observesRun: true,
    fanout: () => false,
    cacheable: false, // it describes its run: timings and states differ even when every input is cached
  }),
  augment: kind({
    description: 'UDA-style augmentation of unlabeled text: TF-IDF word replacement, EDA operations, back-translation → (original, augmented) pairs',
    params: AugmentParams,
    accepts: ['documents', 'lexicon'],
    produces: 'pairs',
    version: '2',
    defaultQueue: 'cpu',
    localPaths: { params: ['synonyms', 'backTranslation.forward', 'backTranslation.backward'] },
    fanout: () => true, // statistics per shard → merge per partition → model; translate (one task); pairs per shard
  }),
  noop: kind({
    description: 'Engine test stage: sleeps, fails on purpose or fans out; produces no data',
    params: NoopParams,
    accepts: ['*'],
    produces: 'none',
    version: '1',
    defaultQueue: 'cpu',
    fanout: (p) => p.tasks > 0,
  }),
};

export type StageKindName = keyof typeof stageKinds;
export type StageParamsInput<K extends StageKindName> = z.input<(typeof stageKinds)[K]['params']>;
export type StageParams<K extends StageKindName> = z.output<(typeof stageKinds)[K]['params']>;

export function isStageKind(name: string): name is StageKindName {
  return Object.prototype.hasOwnProperty.call(stageKinds, name);
}

/** The artifact type a stage with these params produces (noop's is configurable for tests of type checks). */
export function producedType(kindName: StageKindName, params: unknown): ArtifactType {
  if (kindName === 'noop') return (params as StageParams<'noop'>).produces;
  return stageKinds[kindName].produces;
}
