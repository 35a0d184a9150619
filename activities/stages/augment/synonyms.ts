/**
 * The synonym lexicon of EDA's synonym replacement and insertion, from a local file: TSV (`word<TAB>synonym
 * <TAB>…` per line, `#` comments) or JSON (`{"word": ["synonym", …]}`). Keys are looked up case-insensitively.
 * A file that cannot be read that way is a ConfigError naming the file and the line.
 */
import fs from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError } from '../../errors';
import { wordKey } from './tokens';

export function loadSynonyms(file: string): Map<string, string[]> {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new ConfigError(`synonyms: file not found: ${file}`);
  const text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  const map = /\.json$/i.test(file) || text.trimStart().startsWith('{') ? fromJson(file, text) : fromTsv(file, text);
  if (!map.size) throw new ConfigError(`synonyms: ${file} holds no synonyms`);
  return map;
}

function add(map: Map<string, string[]>, word: string, synonyms: string[]): void {
  const key = wordKey(word.trim());
  const list = map.get(key) ?? [];
  for (const s of synonyms.map((x) => x.trim()).filter(Boolean)) if (!list.includes(s) && wordKey(s) !== key) list.push(s);
  if (list.length) map.set(key, list);
}

function fromTsv(file: string, text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim() || line.trimStart().startsWith('#')) return;
    const [word, ...synonyms] = line.split('\t');
    if (!word.trim() || !synonyms.some((s) => s.trim())) {
      throw new ConfigError(`synonyms: ${file}:${i + 1}: expected "word<TAB>synonym[<TAB>synonym…]", got ${JSON.stringify(line.slice(0, 80))}`);
    }
    add(map, word, synonyms);
  });
  return map;
}

function fromJson(file: string, text: string): Map<string, string[]> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const line = errorLine(text, (e as Error).message);
    throw new ConfigError(`synonyms: ${file}${line ? `:${line}` : ''}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`synonyms: ${file}:1: expected a JSON object {"word": ["synonym", ...]}`);
  const map = new Map<string, string[]>();
  for (const [word, synonyms] of Object.entries(value)) {
    if (!Array.isArray(synonyms) || !synonyms.every((s) => typeof s === 'string')) {
      const line = lineOfKey(text, word);
      throw new ConfigError(`synonyms: ${file}${line ? `:${line}` : ''}: "${word}" must map to a list of strings`);
    }
    add(map, word, synonyms as string[]);
  }
  return map;
}

function lineOfKey(text: string, key: string): number | undefined {
  const at = text.indexOf(JSON.stringify(key));
  return at < 0 ? undefined : text.slice(0, at).split('\n').length;
}

/**
 * The line of a JSON syntax error: V8 names an offset for some errors only ("at position 123"); for the others
 * the YAML parser (JSON is YAML) locates the first problem.
 */
function errorLine(text: string, message: string): number | undefined {
  const at = /position (\d+)/.exec(message);
  if (at) return text.slice(0, Number(at[1])).split('\n').length;
  return parseDocument(text).errors[0]?.linePos?.[0].line;
}
