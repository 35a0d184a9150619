/**
 * The stage kinds dapt knows: for each, its parameter schema, the artifact types it accepts and produces,
 * its implementation version (part of the cache key) and how it runs (one activity or a fan-out).
 * Implementations live in activities/stages; this file is data only, so the compiler and the docs can use it.
 */
import type { z } from 'zod';
import type { ArtifactType } from '../common';
import { CrawlParams } from './crawl';
import { DedupeParams } from './dedupe';
import { NoopParams } from './noop';
import { SourceParams } from './source';

export interface StageKind<P extends z.ZodType = z.ZodType> {
  description: string;
  params: P;
  /** Input artifact types; '*' accepts anything; [] means the stage is a source (its needs only order it). */
  accepts: readonly (ArtifactType | '*')[];
  produces: ArtifactType;
  /** Bump when the implementation changes its output for the same input: it invalidates cached results. */
  version: string;
  defaultQueue: string;
  /** Whether these params make the stage a fan-out (plan tasks → run each → reduce). */
  fanout: (params: z.output<P>) => boolean;
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
    version: '1',
    defaultQueue: 'cpu',
    fanout: () => false,
  }),
  crawl: kind({
    description: 'Crawl web pages from seeds (robots.txt, politeness, retries) and extract their main text',
    params: CrawlParams,
    accepts: [],
    produces: 'documents',
    version: '1',
    defaultQueue: 'cpu',
    fanout: () => false,
  }),
  dedupe: kind({
    description: 'Drop exact duplicates (normalized text hash); the first occurrence is kept',
    params: DedupeParams,
    accepts: ['documents'],
    produces: 'documents',
    version: '1',
    defaultQueue: 'cpu',
    fanout: () => false,
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
