/**
 * Domain terms that augmentation must not destroy: the words of a `lexicon` input (the newwords stage's mined
 * terms). A term may span several words ("learning rate", or a Chinese term jieba cuts in two); every word of
 * an occurrence is protected.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ArtifactStore } from '../../store';
import { stageLexicon } from '../../model-stage/staging';
import type { StageInputArtifact } from '../types';
import { wordKey, type Words } from './tokens';

export async function readLexiconWords(store: ArtifactStore, input: StageInputArtifact, workDir: string): Promise<string[]> {
  const file = path.join(workDir, 'lexicon.jsonl');
  await stageLexicon(store, input, file);
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { word: string }).word);
}

export class TermMatcher {
  private readonly terms = new Set<string>();
  private maxWords = 0;

  /** `split` cuts a term into words the way documents are cut. */
  constructor(terms: readonly string[], split: (term: string) => string[]) {
    for (const t of terms) {
      const words = split(t).map(wordKey);
      if (!words.length) continue;
      this.terms.add(words.join('\u0001'));
      this.maxWords = Math.max(this.maxWords, words.length);
    }
  }

  get size(): number {
    return this.terms.size;
  }

  /** Which words of `w` belong to an occurrence of a term. */
  protectedWords(w: Words): boolean[] {
    const keys = w.words.map(wordKey);
    const out = new Array<boolean>(keys.length).fill(false);
    if (!this.terms.size) return out;
    for (let i = 0; i < keys.length; i++) {
      let key = '';
      for (let n = 1; n <= this.maxWords && i + n <= keys.length; n++) {
        key = n === 1 ? keys[i] : `${key}\u0001${keys[i + n - 1]}`;
        if (this.terms.has(key)) out.fill(true, i, i + n);
      }
    }
    return out;
  }
}
