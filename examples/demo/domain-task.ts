/**
 * A generated downstream task on which domain-adaptive pretraining pays off, for tests and examples: legal-topic
 * classification (and a small NER set) whose labels depend on domain vocabulary only.
 *
 * Each topic has a cluster of domain terms and a few topic-specific context words. The labeled sentences are
 * generic ("The client asked about the easement on Monday.") so the term is the only evidence of the label, and
 * the labeled train set uses only the first TRAIN_TERMS terms of each cluster while dev and test use the others.
 * A model fine-tuned from scratch has never seen the test terms in a useful way: it is near chance on them. The
 * unlabeled domain corpus shows every term of a cluster among the same context words, so masked-LM pretraining
 * on it gives a cluster's terms similar representations, and a classifier trained on some terms carries over to
 * the rest. Deterministic per seed (examples/demo/rng.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { rng } from './rng';

interface Topic {
  terms: string[];
  context: string[];
}

export const TOPICS: Record<string, Topic> = {
  property: {
    terms: ['easement', 'freehold', 'leasehold', 'conveyance', 'tenancy', 'mortgage', 'zoning', 'acreage'],
    context: ['land', 'parcel', 'landlord', 'surveyor', 'registry', 'fence'],
  },
  employment: {
    terms: ['severance', 'overtime', 'payroll', 'pension', 'dismissal', 'probation', 'grievance', 'apprenticeship'],
    context: ['worker', 'employer', 'salary', 'union', 'shift', 'wages'],
  },
  insurance: {
    terms: ['premium', 'deductible', 'underwriter', 'policyholder', 'annuity', 'claimant', 'reinsurance', 'actuary'],
    context: ['risk', 'coverage', 'accident', 'payout', 'broker', 'hazard'],
  },
  intellectual: {
    terms: ['patent', 'trademark', 'copyright', 'royalty', 'infringement', 'franchise', 'licensing', 'plagiarism'],
    context: ['invention', 'inventor', 'brand', 'author', 'design', 'originality'],
  },
};

export const TASK_LABELS = Object.keys(TOPICS);

/** Terms of each cluster the labeled train set uses; dev and test use the remaining ones. */
export const TRAIN_TERMS = 3;

type Pick = <T>(xs: readonly T[]) => T;

const CORPUS_TEMPLATES = [
  (t: Topic, p: Pick) => `The ${p(t.context)} reviewed the ${p(t.terms)} before the ${p(t.context)} signed it.`,
  (t: Topic, p: Pick) => `Each ${p(t.terms)} concerns the ${p(t.context)} and the ${p(t.context)}.`,
  (t: Topic, p: Pick) => `The ${p(t.terms)} and the ${p(t.terms)} were discussed with the ${p(t.context)}.`,
  (t: Topic, p: Pick) => `The ${p(t.context)} asked whether the ${p(t.terms)} covers the ${p(t.context)}.`,
  (t: Topic, p: Pick) => `Without the ${p(t.terms)} the ${p(t.context)} cannot rely on the ${p(t.terms)}.`,
];

// Generic words only: the labeled sentences must not reveal the topic except through the term.
const GENERIC = {
  who: ['client', 'neighbour', 'teacher', 'student', 'driver', 'caller'],
  when: ['monday', 'tuesday', 'friday', 'sunday', 'the weekend', 'a rainy morning'],
  where: ['market', 'station', 'library', 'garden', 'kitchen', 'village'],
};

const LABELED_TEMPLATES = [
  (term: string, p: Pick) => `The ${p(GENERIC.who)} asked about the ${term} on ${p(GENERIC.when)}.`,
  (term: string, p: Pick) => `On ${p(GENERIC.when)} my ${p(GENERIC.who)} mentioned the ${term} at the ${p(GENERIC.where)}.`,
  (term: string, p: Pick) => `We talked about the ${term} and then walked to the ${p(GENERIC.where)}.`,
  (term: string, p: Pick) => `Please read the note on the ${term} before ${p(GENERIC.when)}.`,
];

function picker(r: () => number): Pick {
  return <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
}

export interface CorpusDoc {
  id: string;
  text: string;
}

/** The unlabeled domain corpus: each document on one topic, its terms among the topic's context words. */
export function taskCorpus(count: number, seed = 3): CorpusDoc[] {
  const r = rng(seed);
  const p = picker(r);
  return Array.from({ length: count }, (_, i) => {
    const topic = TOPICS[TASK_LABELS[i % TASK_LABELS.length]];
    const n = 4 + Math.floor(r() * 3);
    return { id: `task-corpus-${i}`, text: Array.from({ length: n }, () => p(CORPUS_TEMPLATES)(topic, p)).join(' ') };
  });
}

export interface LabeledText {
  text: string;
  label: string;
}

export interface TokenTags {
  tokens: string[];
  tags: string[];
}

export interface TaskSizes {
  /** Labeled sentences per class. */
  train: number;
  dev: number;
  test: number;
}

export interface ClassificationTask {
  labels: string[];
  train: LabeledText[];
  dev: LabeledText[];
  test: LabeledText[];
}

function termsOf(label: string, split: 'train' | 'heldout'): string[] {
  const t = TOPICS[label].terms;
  return split === 'train' ? t.slice(0, TRAIN_TERMS) : t.slice(TRAIN_TERMS);
}

function labeledSet(r: () => number, perClass: number, split: 'train' | 'heldout'): LabeledText[] {
  const p = picker(r);
  const out: LabeledText[] = [];
  for (let i = 0; i < perClass; i++) {
    for (const label of TASK_LABELS) {
      const terms = termsOf(label, split);
      out.push({ text: p(LABELED_TEMPLATES)(terms[i % terms.length], p), label });
    }
  }
  return out;
}

/** Topic classification: train sentences use the first TRAIN_TERMS terms per topic, dev and test the others. */
export function classificationTask(sizes: TaskSizes = { train: 12, dev: 5, test: 30 }, seed = 5): ClassificationTask {
  const r = rng(seed);
  return {
    labels: [...TASK_LABELS],
    train: labeledSet(r, sizes.train, 'train'),
    dev: labeledSet(r, sizes.dev, 'heldout'),
    test: labeledSet(r, sizes.test, 'heldout'),
  };
}

/** Unlabeled sentences in the labeled style, on every term (the input of pseudo-labelling). */
export function unlabeledTexts(count: number, seed = 9): CorpusDoc[] {
  const r = rng(seed);
  const p = picker(r);
  return Array.from({ length: count }, (_, i) => {
    const topic = TOPICS[TASK_LABELS[i % TASK_LABELS.length]];
    return { id: `unlabeled-${i}`, text: p(LABELED_TEMPLATES)(p(topic.terms), p) };
  });
}

export interface NerTask {
  labels: string[];
  train: TokenTags[];
  dev: TokenTags[];
  test: TokenTags[];
}

function nerSet(r: () => number, count: number, split: 'train' | 'heldout'): TokenTags[] {
  const p = picker(r);
  return Array.from({ length: count }, (_, i) => {
    const label = TASK_LABELS[i % TASK_LABELS.length];
    const text = p(LABELED_TEMPLATES)(p(termsOf(label, split)), p);
    const tokens = text.replace(/\.$/, ' .').split(/\s+/);
    const terms = new Set(TOPICS[label].terms);
    return { tokens, tags: tokens.map((t) => (terms.has(t) ? `B-${label.toUpperCase()}` : 'O')) };
  });
}

/** Entity tagging of the same terms (BIO tags, one entity type per topic), split by term like the classification. */
export function nerTask(sizes: TaskSizes = { train: 32, dev: 12, test: 60 }, seed = 7): NerTask {
  const r = rng(seed);
  return {
    labels: ['O', ...TASK_LABELS.flatMap((l) => [`B-${l.toUpperCase()}`, `I-${l.toUpperCase()}`])],
    train: nerSet(r, sizes.train, 'train'),
    dev: nerSet(r, sizes.dev, 'heldout'),
    test: nerSet(r, sizes.test, 'heldout'),
  };
}

function writeLines(file: string, records: readonly unknown[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, records.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return file;
}

export interface TaskFiles {
  corpus: string;
  unlabeled: string;
  classification: { train: string; dev: string; test: string };
  ner: { train: string; dev: string; test: string };
}

/** Writes the whole task as JSONL files under `dir` (corpus/, classification/, ner/, unlabeled/). */
export function writeTaskFiles(
  dir: string,
  opts: { corpusDocs?: number; classification?: TaskSizes; ner?: TaskSizes; unlabeled?: number; seed?: number } = {},
): TaskFiles {
  const seed = opts.seed ?? 0;
  const cls = classificationTask(opts.classification, 5 + seed);
  const ner = nerTask(opts.ner, 7 + seed);
  return {
    corpus: writeLines(path.join(dir, 'corpus', 'legal-topics.jsonl'), taskCorpus(opts.corpusDocs ?? 240, 3 + seed).map((d) => ({ text: d.text }))),
    unlabeled: writeLines(path.join(dir, 'unlabeled', 'sentences.jsonl'), unlabeledTexts(opts.unlabeled ?? 120, 9 + seed).map((d) => ({ text: d.text }))),
    classification: {
      train: writeLines(path.join(dir, 'classification', 'train.jsonl'), cls.train),
      dev: writeLines(path.join(dir, 'classification', 'dev.jsonl'), cls.dev),
      test: writeLines(path.join(dir, 'classification', 'test.jsonl'), cls.test),
    },
    ner: {
      train: writeLines(path.join(dir, 'ner', 'train.jsonl'), ner.train),
      dev: writeLines(path.join(dir, 'ner', 'dev.jsonl'), ner.dev),
      test: writeLines(path.join(dir, 'ner', 'test.jsonl'), ner.test),
    },
  };
}
