/**
 * A generated downstream task on which domain-adaptive pretraining pays off, for tests and examples: topic
 * classification (and a small NER set) whose labels depend on domain vocabulary only.
 *
 * Each topic has a cluster of domain terms and a few topic-specific context words. The labeled sentences are
 * generic ("The client asked about the easement on Monday.") so the term is the only evidence of the label, and
 * the labeled train set uses only the first `trainTerms` terms of each cluster while dev and test use the others.
 * A model fine-tuned from scratch has never seen the test terms in a useful way: it is near chance on them. The
 * unlabeled domain corpus shows every term of a cluster among the same context words, so masked-LM pretraining
 * on it gives a cluster's terms similar representations, and a classifier trained on some terms carries over to
 * the rest. Deterministic per seed (examples/demo/rng.ts).
 *
 * A domain (topics, term clusters, templates, language) is data: `TaskDomain`. The default is English
 * legal topics; examples/biomed-en/domain.ts and examples/legal-zh/domain.ts are two more.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generalDocs } from './domain-corpus';
import { rng } from '../../activities/rng';

export interface Topic {
  terms: string[];
  context: string[];
}

/**
 * Templates are strings with `{slot}` placeholders, filled left to right. Corpus templates: `{term}` (a term of
 * the document's topic) and `{context}` (one of its context words). Labeled templates: `{term}` is the sentence's
 * term, every other slot a word of `generic`, which must say nothing about the topic.
 */
export interface TaskDomain {
  /** File stem of the written corpus (corpus/<name>.jsonl). */
  name: string;
  lang: 'en' | 'zh';
  topics: Record<string, Topic>;
  /** Terms of each cluster the labeled train set uses; dev and test use the remaining ones. */
  trainTerms: number;
  corpusTemplates: string[];
  generic: Record<string, string[]>;
  labeledTemplates: string[];
  /** NER entity type → its terms; terms in none are not entities. Default: each topic's terms, typed by the topic. */
  entities?: Record<string, string[]>;
  /** The general (background) corpus; default: the everyday English sentences of domain-corpus.ts. */
  general?: { slots: Record<string, string[]>; templates: string[] };
}

/** English legal topics: the default domain of the tests. */
export const LEGAL_EN: TaskDomain = {
  name: 'legal-topics',
  lang: 'en',
  topics: {
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
  },
  trainTerms: 3,
  corpusTemplates: [
    'The {context} reviewed the {term} before the {context} signed it.',
    'Each {term} concerns the {context} and the {context}.',
    'The {term} and the {term} were discussed with the {context}.',
    'The {context} asked whether the {term} covers the {context}.',
    'Without the {term} the {context} cannot rely on the {term}.',
  ],
  generic: {
    who: ['client', 'neighbour', 'teacher', 'student', 'driver', 'caller'],
    when: ['monday', 'tuesday', 'friday', 'sunday', 'the weekend', 'a rainy morning'],
    where: ['market', 'station', 'library', 'garden', 'kitchen', 'village'],
  },
  labeledTemplates: [
    'The {who} asked about the {term} on {when}.',
    'On {when} my {who} mentioned the {term} at the {where}.',
    'We talked about the {term} and then walked to the {where}.',
    'Please read the note on the {term} before {when}.',
  ],
};

export const TOPICS = LEGAL_EN.topics;
export const TASK_LABELS = Object.keys(TOPICS);
export const TRAIN_TERMS = LEGAL_EN.trainTerms;

type Pick = <T>(xs: readonly T[]) => T;

function picker(r: () => number): Pick {
  return <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
}

function fill(template: string, slot: (name: string) => string): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => slot(name));
}

function slotOf(words: Record<string, string[]>, p: Pick, where: string): (name: string) => string {
  return (name) => {
    const list = words[name];
    if (!list) throw new Error(`${where}: template slot {${name}} has no word list (have ${Object.keys(words).join(', ')})`);
    return p(list);
  };
}

const labels = (d: TaskDomain) => Object.keys(d.topics);
const sentenceJoiner = (d: TaskDomain) => (d.lang === 'zh' ? '' : ' ');

export interface CorpusDoc {
  id: string;
  text: string;
}

/** One document of the unlabeled domain corpus: 4-6 sentences on one topic, its terms among its context words. */
function topicDocument(d: TaskDomain, topic: Topic, r: () => number, p: Pick): string {
  const words = { term: topic.terms, context: topic.context };
  const n = 4 + Math.floor(r() * 3);
  return Array.from({ length: n }, () => fill(p(d.corpusTemplates), slotOf(words, p, `${d.name} corpus`))).join(sentenceJoiner(d));
}

/** A document on a random topic of the domain (pages of a generated site to crawl). */
export function topicParagraph(d: TaskDomain, r: () => number): string {
  const p = picker(r);
  return topicDocument(d, d.topics[p(labels(d))], r, p);
}

/** The unlabeled domain corpus: each document on one topic, its terms among the topic's context words. */
export function taskCorpus(count: number, seed = 3, d: TaskDomain = LEGAL_EN): CorpusDoc[] {
  const r = rng(seed);
  const p = picker(r);
  const ls = labels(d);
  return Array.from({ length: count }, (_, i) => ({ id: `task-corpus-${i}`, text: topicDocument(d, d.topics[ls[i % ls.length]], r, p) }));
}

/** The template is drawn before the term (`pickTerm`), then the generic slots: one fixed order of draws per seed. */
function labeledSentence(d: TaskDomain, pickTerm: () => string, p: Pick): string {
  const generic = slotOf(d.generic, p, `${d.name} labeled`);
  const template = p(d.labeledTemplates);
  const term = pickTerm();
  return fill(template, (name) => (name === 'term' ? term : generic(name)));
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

function termsOf(d: TaskDomain, label: string, split: 'train' | 'heldout'): string[] {
  const t = d.topics[label].terms;
  return split === 'train' ? t.slice(0, d.trainTerms) : t.slice(d.trainTerms);
}

function labeledSet(d: TaskDomain, r: () => number, perClass: number, split: 'train' | 'heldout'): LabeledText[] {
  const p = picker(r);
  const out: LabeledText[] = [];
  for (let i = 0; i < perClass; i++) {
    for (const label of labels(d)) {
      const terms = termsOf(d, label, split);
      out.push({ text: labeledSentence(d, () => terms[i % terms.length], p), label });
    }
  }
  return out;
}

/** Topic classification: train sentences use the first `trainTerms` terms per topic, dev and test the others. */
export function classificationTask(sizes: TaskSizes = { train: 12, dev: 5, test: 30 }, seed = 5, d: TaskDomain = LEGAL_EN): ClassificationTask {
  const r = rng(seed);
  return {
    labels: labels(d),
    train: labeledSet(d, r, sizes.train, 'train'),
    dev: labeledSet(d, r, sizes.dev, 'heldout'),
    test: labeledSet(d, r, sizes.test, 'heldout'),
  };
}

/** Unlabeled sentences in the labeled style, on every term (the input of pseudo-labelling and augmentation). */
export function unlabeledTexts(count: number, seed = 9, d: TaskDomain = LEGAL_EN): CorpusDoc[] {
  const r = rng(seed);
  const p = picker(r);
  const ls = labels(d);
  return Array.from({ length: count }, (_, i) => {
    const topic = d.topics[ls[i % ls.length]];
    return { id: `unlabeled-${i}`, text: labeledSentence(d, () => p(topic.terms), p) };
  });
}

export interface NerTask {
  labels: string[];
  train: TokenTags[];
  dev: TokenTags[];
  test: TokenTags[];
}

/** Entity type → terms: the domain's own, else one type per topic (its label in capitals). */
function entityTypes(d: TaskDomain): Map<string, string> {
  const byType = d.entities ?? Object.fromEntries(labels(d).map((l) => [l.toUpperCase(), d.topics[l].terms]));
  return new Map(Object.entries(byType).flatMap(([type, terms]) => terms.map((t) => [t, type] as [string, string])));
}

function nerSet(d: TaskDomain, r: () => number, count: number, split: 'train' | 'heldout'): TokenTags[] {
  if (d.lang !== 'en') throw new Error(`${d.name}: the NER set splits sentences on spaces, English only`);
  const p = picker(r);
  const ls = labels(d);
  const types = entityTypes(d);
  return Array.from({ length: count }, (_, i) => {
    const label = ls[i % ls.length];
    const text = labeledSentence(d, () => p(termsOf(d, label, split)), p);
    const tokens = text.replace(/\.$/, ' .').split(/\s+/);
    // Single-word terms: an entity is one B- token.
    return { tokens, tags: tokens.map((t) => (types.has(t) ? `B-${types.get(t)}` : 'O')) };
  });
}

/** Entity tagging of the same terms (BIO tags), split by term like the classification. */
export function nerTask(sizes: TaskSizes = { train: 32, dev: 12, test: 60 }, seed = 7, d: TaskDomain = LEGAL_EN): NerTask {
  const r = rng(seed);
  const types = [...new Set(entityTypes(d).values())];
  return {
    labels: ['O', ...types.flatMap((t) => [`B-${t}`, `I-${t}`])],
    train: nerSet(d, r, sizes.train, 'train'),
    dev: nerSet(d, r, sizes.dev, 'heldout'),
    test: nerSet(d, r, sizes.test, 'heldout'),
  };
}

/** The general (background) corpus of the domain's language. */
export function generalTexts(count: number, seed = 2, d: TaskDomain = LEGAL_EN): CorpusDoc[] {
  if (!d.general) return generalDocs(count, seed);
  const { slots, templates } = d.general;
  const r = rng(seed);
  const p = picker(r);
  return Array.from({ length: count }, (_, i) => {
    const n = 3 + Math.floor(r() * 4);
    const text = Array.from({ length: n }, () => fill(p(templates), slotOf(slots, p, `${d.name} general`))).join(sentenceJoiner(d));
    return { id: `general-${i}`, text };
  });
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
  ner?: { train: string; dev: string; test: string };
}

export interface TaskFileOptions {
  corpusDocs?: number;
  /** The first n corpus documents written twice (work for dedupe). */
  duplicates?: number;
  classification?: TaskSizes;
  /** false: no NER set (it needs an English domain). */
  ner?: TaskSizes | false;
  unlabeled?: number;
  seed?: number;
  domain?: TaskDomain;
}

/** Writes the whole task as JSONL files under `dir` (corpus/, classification/, ner/, unlabeled/). */
export function writeTaskFiles(dir: string, opts: TaskFileOptions = {}): TaskFiles {
  const seed = opts.seed ?? 0;
  const d = opts.domain ?? LEGAL_EN;
  const cls = classificationTask(opts.classification, 5 + seed, d);
  const split = (name: string, t: { train: unknown[]; dev: unknown[]; test: unknown[] }) => ({
    train: writeLines(path.join(dir, name, 'train.jsonl'), t.train),
    dev: writeLines(path.join(dir, name, 'dev.jsonl'), t.dev),
    test: writeLines(path.join(dir, name, 'test.jsonl'), t.test),
  });
  const corpus = taskCorpus(opts.corpusDocs ?? 240, 3 + seed, d).map((x) => ({ text: x.text }));
  return {
    corpus: writeLines(path.join(dir, 'corpus', `${d.name}.jsonl`), [...corpus, ...corpus.slice(0, opts.duplicates ?? 0)]),
    unlabeled: writeLines(path.join(dir, 'unlabeled', 'sentences.jsonl'), unlabeledTexts(opts.unlabeled ?? 120, 9 + seed, d).map((x) => ({ text: x.text }))),
    classification: split('classification', cls),
    ...(opts.ner === false ? {} : { ner: split('ner', nerTask(opts.ner, 7 + seed, d)) }),
  };
}
