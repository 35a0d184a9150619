/**
 * The `longtail` stage: which mined terms a general model lacks knowledge of, and of those, which the user's
 * glossary can explain. One activity:
 *   1. the glossary (`dictionary`) is read and checked first, so a bad file fails before anything is staged;
 *   2. the lexicon input's entries are read with the counts newwords kept (domain freq; general freq and the
 *      general corpus's size when it counted one);
 *   3. the base model's tokenizer says into how many pieces it cuts each term (`python -m trainer longtail`:
 *      only Python loads every tokenizer kind as the model will);
 *   4. each term gets its "needs knowledge" score (./score.ts); the best, at least `minScore`, are selected.
 * Output: a `lexicon` artifact (schema `longtail/v1`): `lexicon.jsonl`, the input's entries in their order, each
 * with a `longtail` object, and `dictionary.jsonl`, the glossary with each term's `selected` flag, which
 * dictionary-enhanced pretraining reads. Masking and vocabulary extension read the words as from newwords.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';
import type { StageParams } from '../../../schemas/stages';
import { ConfigError, InputError } from '../../errors';
import { workSubdir } from '../../model-stage/files';
import { DICTIONARY_FILE, describeSource, lexiconFiles, modelRefFingerprint, resolveModelRef, stageModel, tokenizerFilesOnly, type ModelSource } from '../../model-stage/staging';
import { runTrainerStage } from '../../model-stage/trainer-stage';
import type { LexiconEntry } from '../newwords/run';
import type { StageContext, StageImpl, StageInputArtifact } from '../types';
import { readDictionary, termKey, type Definition } from './dictionary';
import { needsKnowledge, type Knowledge } from './score';

type Params = StageParams<'longtail'>;

export const LONGTAIL_SCHEMA = 'longtail/v1';

export interface LongtailAnalysis extends Knowledge {
  domainFreq: number;
  generalFreq: number | null;
  /** Occurrences per million units of the general corpus (null: none was counted). */
  generalPerMillion: number | null;
  pieces: number;
  tokens: string[];
  unknown: boolean;
  defined: boolean;
  selected: boolean;
}

export type LongtailEntry = LexiconEntry & { longtail: LongtailAnalysis };

/** A row of the metrics' table (and the report's). */
export type LongtailRow = Pick<LongtailAnalysis, 'domainFreq' | 'generalPerMillion' | 'pieces' | 'tokens' | 'defined' | 'need' | 'score' | 'selected'> & { word: string };

interface Fragments {
  word: string;
  pieces: number;
  tokens: string[];
  unknown: boolean;
}

export const longtailStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    const p = ctx.params;
    const { lexicon, model } = classifyInputs(ctx.inputs, p);
    const dictionary = p.dictionary ? readDictionary(p.dictionary) : new Map<string, Definition>();
    const entries = await readEntries(ctx, lexicon);

    const source: ModelSource = p.baseModel ? await resolveModelRef(ctx.store, p.baseModel, undefined) : { artifact: model!.manifest.digest, stage: model!.stage };
    ctx.progress({ message: `staging the tokenizer of ${describeSource(source)}` });
    const baseDir = await stageModel(ctx.store, source, workSubdir(ctx.workDir, 'base-model'), 'baseModel', tokenizerFilesOnly); // no weights
    const terms = path.join(ctx.workDir, 'terms.jsonl');
    fs.writeFileSync(terms, entries.map((e) => JSON.stringify({ word: e.word })).join('\n') + (entries.length ? '\n' : ''));
    const output = path.join(ctx.workDir, 'fragments', 'fragments.jsonl');
    await runTrainerStage(ctx, { what: 'longtail', config: { command: 'longtail', model: baseDir, terms, output } });
    const fragments = new Map(
      fs
        .readFileSync(output, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Fragments)
        .map((f) => [f.word, f]),
    );

    const generalUnits = (lexicon.manifest.metrics as { generalUnits?: Record<string, number> } | undefined)?.generalUnits;
    const analysed: LongtailEntry[] = entries.map((e) => {
      const f = fragments.get(e.word);
      if (!f) throw new Error(`longtail: the trainer gave no pieces for "${e.word}"`);
      const generalFreq = e.generalFreq ?? null;
      const units = generalUnits?.[e.lang] ?? null;
      const defined = dictionary.has(termKey(e.word));
      const k = needsKnowledge({ domainFreq: e.freq, generalFreq, generalUnits: units, pieces: f.pieces, unknown: f.unknown, defined }, p.score);
      const generalPerMillion = generalFreq === null || !units ? null : (generalFreq / units) * 1e6;
      return { ...e, longtail: { domainFreq: e.freq, generalFreq, generalPerMillion, pieces: f.pieces, tokens: f.tokens, unknown: f.unknown, defined, ...k, selected: false } };
    });
    const ranked = [...analysed].sort(byKnowledge);
    const chosen = ranked.filter((e) => e.longtail.score >= p.minScore).slice(0, p.maxSelected);
    for (const e of chosen) e.longtail.selected = true;
    const selectedKeys = new Set(chosen.map((e) => termKey(e.word)));

    const out = workSubdir(ctx.workDir, 'out');
    const lexiconFile = path.join(out, 'lexicon.jsonl');
    fs.writeFileSync(lexiconFile, analysed.map((e) => JSON.stringify({ ...e, longtail: rounded(e.longtail) })).join('\n') + (analysed.length ? '\n' : ''));
    const files = [await ctx.store.putFile(lexiconFile, 'lexicon.jsonl', analysed.length)];
    if (dictionary.size) {
      const dictFile = path.join(out, DICTIONARY_FILE);
      const lines = [...dictionary].map(([key, d]) => JSON.stringify({ ...d, selected: selectedKeys.has(key) }));
      fs.writeFileSync(dictFile, lines.join('\n') + '\n');
      files.push(await ctx.store.putFile(dictFile, DICTIONARY_FILE, lines.length));
    }

    const table: LongtailRow[] = ranked.slice(0, p.table).map(({ word, longtail: a }) => {
      const r = rounded(a);
      return { word, domainFreq: r.domainFreq, generalPerMillion: r.generalPerMillion, pieces: r.pieces, tokens: r.tokens, defined: r.defined, need: r.need, score: r.score, selected: r.selected };
    });
    const needy = analysed.filter((e) => e.longtail.need >= p.minScore);
    const metrics = {
      baseModel: describeSource(source),
      terms: analysed.length,
      dictionaryTerms: dictionary.size,
      defined: analysed.filter((e) => e.longtail.defined).length,
      fragmented: analysed.filter((e) => e.longtail.pieces > 1 || e.longtail.unknown).length,
      needKnowledge: needy.length,
      selected: chosen.length,
      // Terms that would be selected if the glossary defined them: what to add to it.
      undefinedNeedy: needy.filter((e) => !e.longtail.defined).length,
      generalMeasured: !!generalUnits,
      minScore: p.minScore,
      table,
    };
    ctx.log(`longtail: ${chosen.length} of ${analysed.length} terms selected (${metrics.needKnowledge} need knowledge, ${metrics.defined} defined)${generalUnits ? '' : '; no general corpus counted: rarity not measured'}`);
    return { files, schema: LONGTAIL_SCHEMA, metrics };
  },

  async fingerprint(p: Params, env) {
    const stat = (f?: string) => (f && fs.existsSync(f) ? { f, size: fs.statSync(f).size, mtimeMs: fs.statSync(f).mtimeMs } : f);
    return { baseModel: await modelRefFingerprint(p.baseModel, undefined, env?.store), dictionary: stat(p.dictionary) };
  },
};

/** Best first: score, then need (the undefined terms that need knowledge most), then the word. */
function byKnowledge(a: LongtailEntry, b: LongtailEntry): number {
  return b.longtail.score - a.longtail.score || b.longtail.need - a.longtail.need || (a.word < b.word ? -1 : a.word > b.word ? 1 : 0);
}

function rounded(a: LongtailAnalysis): LongtailAnalysis {
  const r = (x: number) => Math.round(x * 1e4) / 1e4;
  return { ...a, generalPerMillion: a.generalPerMillion === null ? null : r(a.generalPerMillion), rare: r(a.rare), enough: r(a.enough), fragmented: r(a.fragmented), need: r(a.need), score: r(a.score) };
}

function classifyInputs(inputs: StageInputArtifact[], p: Params): { lexicon: StageInputArtifact; model?: StageInputArtifact } {
  const lexicons = inputs.filter((i) => i.manifest.kind === 'lexicon');
  const models = inputs.filter((i) => i.manifest.kind === 'model');
  if (lexicons.length !== 1) throw new ConfigError(`longtail needs exactly one lexicon input (a newwords stage in needs), got ${lexicons.map((l) => l.stage).join(', ') || 'none'}`);
  if (models.length > 1) throw new ConfigError(`longtail takes at most one model input, got ${models.map((m) => m.stage).join(', ')}`);
  if (p.baseModel && models.length) throw new ConfigError(`baseModel: set, but needs-stage ${models[0].stage} also produces a model: use one or the other`);
  if (!p.baseModel && !models.length) throw new ConfigError('baseModel: required (the model whose tokenizer is asked) unless a needs-stage produces a model');
  return { lexicon: lexicons[0], model: models[0] };
}

/** The lexicon's entries as newwords wrote them; the analysis needs each term's domain frequency. */
async function readEntries(ctx: StageContext<Params>, input: StageInputArtifact): Promise<LexiconEntry[]> {
  const entries: LexiconEntry[] = [];
  const seen = new Set<string>();
  for (const f of lexiconFiles(input.manifest)) {
    let stream: NodeJS.ReadableStream = await ctx.store.getStream(f.key);
    if (f.name.endsWith('.gz')) stream = stream.pipe(zlib.createGunzip());
    let n = 0;
    for await (const line of readline.createInterface({ input: stream, crlfDelay: Infinity })) {
      n++;
      if (!line.trim()) continue;
      const at = `lexicon of stage ${input.stage}, ${f.name}:${n}`;
      let e: Partial<LexiconEntry>;
      try {
        e = JSON.parse(line) as Partial<LexiconEntry>;
      } catch {
        throw new InputError(`${at}: not valid JSON`);
      }
      if (typeof e.word !== 'string' || typeof e.freq !== 'number') throw new InputError(`${at}: expected a newwords entry with "word" and "freq" (the long-tail analysis needs domain counts)`);
      if (seen.has(e.word)) continue;
      seen.add(e.word);
      entries.push({ ...(e as LexiconEntry), lang: e.lang ?? 'en' });
    }
  }
  return entries;
}
