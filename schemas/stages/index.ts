/**
 * The stage kinds dapt knows, assembled from their folders: each activities/stages/<kind>/spec.ts holds the
 * kind's parameter schema, the artifact types it accepts and produces, its implementation version (part of
 * the cache key) and how it runs (one activity or a fan-out). Specs are data only (lint-enforced), so the
 * compiler, the CLI and the docs use this registry without loading any stage's runtime code.
 */
import type { z } from 'zod';
import type { ArtifactType } from '../common';
import { sourceKind } from '../../activities/stages/source/spec';
import { crawlKind } from '../../activities/stages/crawl/spec';
import { dedupeKind } from '../../activities/stages/dedupe/spec';
import { pretrainKind } from '../../activities/stages/pretrain/spec';
import { perplexityKind } from '../../activities/stages/perplexity/spec';
import { evaluateKind } from '../../activities/stages/evaluate/spec';
import { pseudolabelKind } from '../../activities/stages/pseudolabel/spec';
import { warcKind } from '../../activities/stages/warc/spec';
import { extractKind } from '../../activities/stages/extract/spec';
import { filterKind } from '../../activities/stages/filter/spec';
import { selectKind } from '../../activities/stages/select/spec';
import { newwordsKind } from '../../activities/stages/newwords/spec';
import { longtailKind } from '../../activities/stages/longtail/spec';
import { seenKind } from '../../activities/stages/seen/spec';
import { promoteKind } from '../../activities/stages/promote/spec';
import { reportKind } from '../../activities/stages/report/spec';
import { augmentKind } from '../../activities/stages/augment/spec';
import { tokenizeKind } from '../../activities/stages/tokenize/spec';
import { noopKind } from '../../activities/stages/noop/spec';

export type { PlanApproval, StageKind } from '../stage-kind';

export const stageKinds = {
  source: sourceKind,
  crawl: crawlKind,
  dedupe: dedupeKind,
  pretrain: pretrainKind,
  perplexity: perplexityKind,
  evaluate: evaluateKind,
  pseudolabel: pseudolabelKind,
  warc: warcKind,
  extract: extractKind,
  filter: filterKind,
  select: selectKind,
  newwords: newwordsKind,
  longtail: longtailKind,
  seen: seenKind,
  promote: promoteKind,
  report: reportKind,
  augment: augmentKind,
  tokenize: tokenizeKind,
  noop: noopKind,
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
