/**
 * The four EDA operations (Wei & Zou 2019, "EDA: Easy Data Augmentation Techniques"), on whole words:
 * synonym replacement and random insertion of a synonym (n = max(1, ⌊α·|words|⌋) each), random swap of two
 * words (n times), random deletion (each word with probability p; at least one word survives). Protected words
 * (lexicon terms) are never replaced, swapped or deleted. Each returns how many words it changed.
 */
import { shuffled } from '../../rng';
import { insertSep, matchCase, wordKey, type Words } from './tokens';

export type Random = () => number;
export type Synonyms = ReadonlyMap<string, readonly string[]>;

/** A document's words plus which of them may not be touched; operations keep both arrays aligned. */
export interface Editable extends Words {
  protect: boolean[];
}

const pick = <T>(xs: readonly T[], random: Random): T => xs[Math.floor(random() * xs.length)];

export function edits(alpha: number, words: number): number {
  return alpha > 0 ? Math.max(1, Math.floor(alpha * words)) : 0;
}

function synonymsOf(word: string, synonyms: Synonyms): readonly string[] {
  const key = wordKey(word);
  return (synonyms.get(key) ?? []).filter((s) => wordKey(s) !== key);
}

export function synonymReplace(w: Editable, alpha: number, synonyms: Synonyms, random: Random): number {
  let left = edits(alpha, w.words.length);
  let done = 0;
  for (const i of shuffled(w.words.length, random)) {
    if (!left) break;
    if (w.protect[i]) continue;
    const options = synonymsOf(w.words[i], synonyms);
    if (!options.length) continue;
    w.words[i] = matchCase(w.words[i], pick(options, random));
    left--;
    done++;
  }
  return done;
}

export function randomInsert(w: Editable, alpha: number, synonyms: Synonyms, random: Random): number {
  let done = 0;
  for (let n = edits(alpha, w.words.length); n > 0; n--) {
    // EDA tries a few random words for one that has a synonym.
    let options: readonly string[] = [];
    for (let tries = 0; tries < 10 && !options.length; tries++) options = synonymsOf(pick(w.words, random), synonyms);
    if (!options.length) continue;
    const at = Math.floor(random() * w.words.length);
    w.words.splice(at, 0, pick(options, random));
    w.seps.splice(at, 0, insertSep(w.lang));
    w.protect.splice(at, 0, false);
    done++;
  }
  return done;
}

export function randomSwap(w: Editable, alpha: number, random: Random): number {
  const free = w.protect.flatMap((p, i) => (p ? [] : [i]));
  if (free.length < 2) return 0;
  let done = 0;
  for (let n = edits(alpha, w.words.length); n > 0; n--) {
    const a = pick(free, random);
    let b = pick(free, random);
    for (let tries = 0; b === a && tries < 3; tries++) b = pick(free, random);
    if (a === b || w.words[a] === w.words[b]) continue;
    [w.words[a], w.words[b]] = [w.words[b], w.words[a]];
    done += 2;
  }
  return done;
}

export function randomDelete(w: Editable, p: number, random: Random): number {
  if (p <= 0 || w.words.length < 2) return 0;
  const drop = w.words.map((_, i) => !w.protect[i] && random() < p);
  if (drop.every(Boolean)) drop[Math.floor(random() * drop.length)] = false;
  let done = 0;
  for (let i = w.words.length - 1; i >= 0; i--) {
    if (!drop[i]) continue;
    removeWord(w, i);
    done++;
  }
  return done;
}

/** Removes word i; the separators on its two sides become one (the one carrying punctuation or a line break). */
function removeWord(w: Editable, i: number): void {
  const after = w.seps[i];
  if (i === 0) {
    w.lead = w.lead + (w.lead === '' || /\s$/.test(w.lead) ? after.trimStart() : after);
  } else if (i === w.words.length - 1) {
    w.seps[i - 1] = w.seps[i - 1].trimEnd() + after; // no dangling space before the end or a final full stop
  } else {
    w.seps[i - 1] = mergeSeps(w.seps[i - 1], after);
  }
  w.words.splice(i, 1);
  w.seps.splice(i, 1);
  w.protect.splice(i, 1);
}

function mergeSeps(before: string, after: string): string {
  if (after.trim()) return before.trim() ? before.trimEnd() + after : after;
  if (before.trim() || before.includes('\n')) return before;
  if (after.includes('\n')) return after;
  return before.length || !after ? before : after;
}
