/**
 * The `newwords` stage: mines a domain lexicon from its documents inputs. Candidates are counted over a
 * bounded sample, scored (./stats), filtered by what the base tokenizer or a dictionary knows (./vocab) and,
 * when a general corpus is named, by over-representation against it. Output: a ranked JSONL lexicon.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StageParams } from '../../../schemas/stages';
import type { ManifestT } from '../../../schemas/manifest';
import { readDocuments } from '../../documents';
import { ConfigError, InputError } from '../../errors';
import type { StageContext, StageImpl } from '../types';
import { NgramCounter } from './counter';
import { candidates, type Candidate } from './stats';
import { newToJieba } from './segment';
import { sequences, type Lang } from './text';
import { loadBaseVocab, loadDictionary } from './vocab';

type Params = StageParams<'newwords'>;
export const LEXICON_SCHEMA = 'lexicon/v1';

export interface LexiconEntry {
  word: string;
  lang: Lang;
  freq: number;
  pmi: number | null;
  entropy: number;
  leftEntropy: number;
  rightEntropy: number;
  ratio?: number;
  pieces?: number;
  score: number;
}

export const newwordsStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    const p = ctx.params;
    const general = p.general ? ctx.inputs.find((i) => i.stage === p.general) : undefined;
    if (p.general && !general) throw new ConfigError(`general: "${p.general}" is not among this stage's needs`);
    const domain = ctx.inputs.filter((i) => i !== general);
    if (!domain.length) throw new ConfigError('newwords needs at least one domain documents input besides the general one');
    for (const i of ctx.inputs) if (i.manifest.kind !== 'documents') throw new InputError(`newwords reads documents, but input ${i.stage} is ${i.manifest.kind}`);
    const base = p.baseVocab ? loadBaseVocab(p.baseVocab) : undefined;
    const dictionary = p.dictionary ? loadDictionary(p.dictionary) : undefined;

    const counters = { zh: new NgramCounter('zh', p.maxChars + 1), en: new NgramCounter('en', p.maxWords + 1) };
    const docs = await scan(ctx, domain.map((i) => i.manifest), p, (lang, units) => counters[lang].add(units));
    const dropped: Record<string, number> = { cohesion: 0, freedom: 0, baseVocab: 0, dictionary: 0, ratio: 0 };
    const common = { minFreq: p.minFreq, minPmi: p.minPmi, minEntropy: p.minEntropy };
    // Single English words are candidates only against a base vocabulary: otherwise every word would be one.
    let found = [
      ...candidates(counters.zh, { ...common, minN: 2, maxN: p.maxChars }, dropped),
      ...candidates(counters.en, { ...common, minN: base ? 1 : 2, maxN: p.maxWords }, dropped),
    ];
    const pieces = new Map<Candidate, number>();
    found = found.filter((c) => {
      const n = base?.pieces(c.word);
      const known = n !== undefined && n <= 1 ? 'baseVocab' : dictionary?.has(c.word) ? 'dictionary' : undefined;
      if (known) dropped[known]++;
      else if (n !== undefined) pieces.set(c, n);
      return !known;
    });
    const ratios = general ? await overRepresentation(ctx, general.manifest, found, counters) : undefined;
    const entries: LexiconEntry[] = [];
    for (const c of found) {
      const ratio = ratios?.get(c);
      if (ratio !== undefined && ratio < p.minRatio) {
        dropped.ratio++;
        continue;
      }
      const entropy = Math.min(c.leftEntropy, c.rightEntropy);
      // Frequent, free on both sides, cohesive and (when measured) specific to the domain.
      const score = Math.log1p(c.freq) * entropy * (c.pmi ?? 1) * (ratio === undefined ? 1 : Math.log(ratio));
      entries.push({ word: c.word, lang: c.lang, freq: c.freq, pmi: c.pmi, entropy, leftEntropy: c.leftEntropy, rightEntropy: c.rightEntropy, ratio, pieces: pieces.get(c), score });
    }
    entries.sort((a, b) => b.score - a.score || (a.word < b.word ? -1 : 1));
    const lexicon = entries.slice(0, p.topK);
    const file = path.join(ctx.workDir, 'lexicon.jsonl');
    fs.writeFileSync(file, lexicon.map((e) => JSON.stringify(round(e))).join('\n') + (lexicon.length ? '\n' : ''));
    const zhWords = lexicon.filter((e) => e.lang === 'zh').map((e) => e.word);
    ctx.log(`newwords: ${lexicon.length} words from ${docs} documents`);
    return {
      files: [await ctx.store.putFile(file, 'lexicon.jsonl', lexicon.length)],
      schema: LEXICON_SCHEMA,
      metrics: { documents: docs, units: { zh: counters.zh.total, en: counters.en.total }, candidates: found.length, dropped, words: lexicon.length, newToJieba: zhWords.length ? newToJieba(zhWords) : 0, top: lexicon.slice(0, 10).map((e) => e.word) },
    };
  },
  async fingerprint(p) {
    const stat = (f?: string) => (f && fs.existsSync(f) ? { f, size: fs.statSync(f).size, mtimeMs: fs.statSync(f).mtimeMs } : f);
    return [stat(p.baseVocab), stat(p.dictionary)];
  },
};

/** Streams documents until the character budget is spent, feeding every unit sequence to `visit`. */
async function scan(ctx: StageContext<Params>, manifests: ManifestT[], p: Params, visit: (lang: Lang, units: string[]) => void): Promise<number> {
  let chars = 0;
  let docs = 0;
  for (const m of manifests) {
    for await (const doc of readDocuments(ctx.store, m)) {
      for (const s of sequences(doc.text, p.language)) visit(s.lang, s.units);
      chars += doc.text.length;
      if (++docs % 1000 === 0) {
        ctx.signal.throwIfAborted();
        ctx.progress({ message: `${docs} documents, ${chars} characters` });
      }
      if (chars >= p.sampleChars) return docs;
    }
  }
  return docs;
}

/** Domain rate / general rate per candidate, the general count smoothed by one occurrence. */
async function overRepresentation(ctx: StageContext<Params>, general: ManifestT, found: Candidate[], domain: Record<Lang, NgramCounter>) {
  const wanted = new Map(found.map((c) => [`${c.lang}\u0001${c.word}`, c]));
  const counts = new Map<Candidate, number>();
  const units = { zh: 0, en: 0 };
  const maxN = { zh: ctx.params.maxChars, en: ctx.params.maxWords };
  await scan(ctx, [general], ctx.params, (lang, seq) => {
    units[lang] += seq.length;
    for (let i = 0; i < seq.length; i++) {
      for (let n = 1; n <= maxN[lang] && i + n <= seq.length; n++) {
        const c = wanted.get(`${lang}\u0001${seq.slice(i, i + n).join(lang === 'en' ? ' ' : '')}`);
        if (c) counts.set(c, (counts.get(c) ?? 0) + 1);
      }
    }
  });
  return new Map(found.map((c) => [c, c.freq / domain[c.lang].total / (((counts.get(c) ?? 0) + 1) / Math.max(1, units[c.lang]))]));
}

function round(e: LexiconEntry): LexiconEntry {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { ...e, pmi: e.pmi === null ? null : r(e.pmi), entropy: r(e.entropy), leftEntropy: r(e.leftEntropy), rightEntropy: r(e.rightEntropy), score: r(e.score), ...(e.ratio === undefined ? {} : { ratio: r(e.ratio) }) };
}
