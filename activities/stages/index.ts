/** Stage implementations by kind. What runs is here; where and how often it runs is the engine's business. */
import type { StageImpls } from './types';
import { noopStage } from './noop/run';
import { sourceStage } from './source/run';
import { crawlStage } from './crawl/run';
import { dedupeStage } from './dedupe/run';
import { newwordsStage } from './newwords/run';
import { longtailStage } from './longtail/run';
import { warcStage } from './warc/run';
import { extractStage } from './extract/run';
import { filterStage } from './filter/run';
import { selectStage } from './select/run';
import { pretrainStage } from './pretrain/run';
import { perplexityStage } from './perplexity/run';
import { evaluateStage } from './evaluate/run';
import { pseudolabelStage } from './pseudolabel/run';
import { reportStage } from './report/run';
import { promoteStage } from './promote/run';
import { seenStage } from './seen/run';
import { augmentStage } from './augment/run';
import { tokenizeStage } from './tokenize/run';

export const stageImpls: StageImpls = {
  source: sourceStage,
  crawl: crawlStage,
  dedupe: dedupeStage,
  newwords: newwordsStage,
  longtail: longtailStage,
  warc: warcStage,
  extract: extractStage,
  filter: filterStage,
  select: selectStage,
  pretrain: pretrainStage,
  perplexity: perplexityStage,
  evaluate: evaluateStage,
  pseudolabel: pseudolabelStage,
  report: reportStage,
  promote: promoteStage,
  seen: seenStage,
  augment: augmentStage,
  tokenize: tokenizeStage,
  noop: noopStage,
};
