/**
 * The user's glossary: JSONL, one `{"term": "...", "definition": "..."}` per line (other fields are kept out).
 * Terms match lexicon words case-insensitively with runs of whitespace as one space — the trainer's lexicon
 * matching (trainer/words.py `_norm`). Every problem of the file is reported at once, each with its line, and
 * the stage fails without retrying; a term defined twice the same way is one entry, two ways is an error.
 */
import fs from 'node:fs';
import type { ArtifactFileT } from '../../../schemas/manifest';
import { ConfigError } from '../../errors';
import { DICTIONARY_FILE } from '../../model-stage/staging';
import type { StageInputArtifact } from '../types';

export interface Definition {
  term: string;
  definition: string;
}

/** How a term is looked up: the same normalisation on both sides. */
export function termKey(term: string): string {
  return term.trim().replace(/\s+/g, ' ').toLowerCase();
}

const MAX_REPORTED = 20;

/**
 * The glossary a stage with a `dictionary` param appends definitions from: the dictionary.jsonl (terms with their
 * `selected` flags) of its lexicon input, which a longtail stage given a dictionary writes.
 */
export function glossaryFile(lexicons: StageInputArtifact[]): ArtifactFileT {
  const file = lexicons[0]?.manifest.files.find((f) => f.name === DICTIONARY_FILE);
  if (!file) {
    throw new ConfigError(`dictionary: needs a lexicon input from a longtail stage given a dictionary (its ${DICTIONARY_FILE}); ${lexicons.length ? `${lexicons[0].stage}'s lexicon has none` : 'there is no lexicon input'}`);
  }
  return file;
}

export function readDictionary(file: string): Map<string, Definition> {
  if (!fs.existsSync(file)) throw new ConfigError(`dictionary: ${file} does not exist`);
  const out = new Map<string, Definition & { line: number }>();
  const problems: string[] = [];
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const at = `dictionary ${file}:${i + 1}`;
    if (!raw.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      problems.push(`${at}: not valid JSON (expected {"term": "...", "definition": "..."})`);
      return;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      problems.push(`${at}: expected a JSON object {"term": "...", "definition": "..."}`);
      return;
    }
    const { term, definition } = v as Record<string, unknown>;
    const bad = (field: string, x: unknown) => (typeof x !== 'string' || !x.trim() ? `${at}: field "${field}": expected a non-empty string, got ${JSON.stringify(x) ?? 'nothing'}` : undefined);
    const issues = [bad('term', term), bad('definition', definition)].filter((s): s is string => !!s);
    if (issues.length) {
      problems.push(...issues);
      return;
    }
    const entry = { term: (term as string).trim(), definition: (definition as string).trim(), line: i + 1 };
    const key = termKey(entry.term);
    const seen = out.get(key);
    if (!seen) out.set(key, entry);
    else if (seen.definition !== entry.definition) problems.push(`${at}: term "${entry.term}" is already defined differently on line ${seen.line}`);
  });
  if (!problems.length && !out.size) problems.push(`dictionary ${file}: no entries (expected JSONL {"term": "...", "definition": "..."})`);
  if (problems.length) {
    const more = problems.length > MAX_REPORTED ? `\n  … and ${problems.length - MAX_REPORTED} more` : '';
    throw new ConfigError(`dictionary: ${problems.length} problem(s):\n  ${problems.slice(0, MAX_REPORTED).join('\n  ')}${more}`);
  }
  return new Map([...out].map(([k, { term, definition }]) => [k, { term, definition }]));
}
