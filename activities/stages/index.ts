/** Stage implementations by kind. What runs is here; where and how often it runs is the engine's business. */
import type { StageImpls } from './types';
import { noopStage } from './noop';
import { sourceStage } from './source';
import { crawlStage } from './crawl';
import { dedupeStage } from './dedupe';

export const stageImpls: StageImpls = {
  source: sourceStage,
  crawl: crawlStage,
  dedupe: dedupeStage,
  noop: noopStage,
};
