/** Stage implementations by kind. What runs is here; where and how often it runs is the engine's business. */
import type { StageImpls } from './types';
import { noopStage } from './noop';
import { sourceStage } from './source';
import { crawlStage } from './crawl';
import { dedupeStage } from './dedupe';
import { newwordsStage } from './newwords';
import { warcStage } from './warc';
import { extractStage } from './extract';
import { filterStage } from './filter';
import { selectStage } from './select';
import { pretrainStage } from './pretrain';
import { perplexityStage } from './perplexity';
import { evaluateStage } from './evaluate';
import { pseudolabelStage } from './pseudolabel';
import { reportStage } from './report';
import { promoteStage } from './promote';
import { seenStage } from './seen';
import { augmentStage } from './augment';

export const stageImpls: StageImpls = {
  source: sourceStage,
  crawl: crawlStage,
  dedupe: dedupeStage,
  newwords: newwordsStage,
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
  noop: noopStage,
};
