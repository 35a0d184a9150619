/**
 * What every newwords phase agrees on: the candidate lengths per language, the sizes that bound a task's
 * memory, and the base vocabulary and dictionary (loaded once per worker process, not once per task).
 */
import fs from 'node:fs';
import type { StageParams } from '../../../schemas/stages';
import type { Lang } from './text';
import { loadBaseVocab, loadDictionary, type BaseVocab } from './vocab';

export type Params = StageParams<'newwords'>;

export interface Shape {
  /** Shortest and longest candidate, in units (characters, words). */
  minN: Record<Lang, number>;
  maxN: Record<Lang, number>;
}

/** Single English words are candidates only against a base vocabulary: otherwise every word would be one. */
export function shapeOf(p: Params): Shape {
  return { minN: { zh: 2, en: p.baseVocab ? 1 : 2 }, maxN: { zh: p.maxChars, en: p.maxWords } };
}

/** Sizes, not results: the lexicon is the same whatever they are (tests lower them to exercise spills). */
export const tuning = {
  /** Distinct n-grams a count task holds before it spills them (≈ 100 bytes each). */
  spillEntries: 2_000_000,
  /**
   * Compressed domain input per partition when `partitions` is not given. A MiB of gzip JSONL is ~0.5M Chinese
   * characters, ~1.5–2M distinct n-grams of up to 5 of them: the merge task's table (~200 MB).
   */
  bytesPerPartition: 1 << 20,
  /** Beyond this, partitions grow instead: each partition's task lists name up to every other partition. */
  maxPartitions: 512,
};

const loaded = new Map<string, unknown>();

function memo<T>(kind: string, file: string, load: () => T): T {
  const stat = fs.existsSync(file) ? fs.statSync(file) : undefined;
  const key = JSON.stringify([kind, file, stat?.size, stat?.mtimeMs]);
  if (!loaded.has(key)) {
    if (loaded.size >= 8) loaded.clear();
    loaded.set(key, load());
  }
  return loaded.get(key) as T;
}

export function baseVocabOf(p: Params): BaseVocab | undefined {
  return p.baseVocab ? memo('vocab', p.baseVocab, () => loadBaseVocab(p.baseVocab!)) : undefined;
}

export function dictionaryOf(p: Params): Set<string> | undefined {
  return p.dictionary ? memo('dictionary', p.dictionary, () => loadDictionary(p.dictionary!)) : undefined;
}
