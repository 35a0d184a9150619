/**
 * What the base tokenizer or a general dictionary already knows. A word is new when the base tokenizer would
 * split it: for a WordPiece vocab.txt that is greedy longest-match-first (emulated, so the number of pieces is
 * reported too); for a tokenizer.json, the word alone, with a leading-space marker (Ġ, ▁) or byte-level
 * encoded, is not one vocabulary entry.
 */
import fs from 'node:fs';
import { dict as jiebaDict } from '@node-rs/jieba/dict';
import { ConfigError } from '../../errors';

export interface BaseVocab {
  /** Pieces the base tokenizer cuts the word into (1: known whole). */
  pieces(word: string): number;
}

export function loadBaseVocab(file: string): BaseVocab {
  if (!fs.existsSync(file)) throw new ConfigError(`baseVocab ${file} does not exist`);
  const raw = fs.readFileSync(file, 'utf8');
  if (!file.endsWith('.json')) return wordPiece(new Set(raw.split(/\r?\n/).filter(Boolean)), '##');
  let model: { type?: string; vocab?: Record<string, number> | [string, number][]; continuing_subword_prefix?: string };
  try {
    model = (JSON.parse(raw) as { model: typeof model }).model;
  } catch {
    throw new ConfigError(`baseVocab ${file} is not a tokenizer.json`);
  }
  const entries = Array.isArray(model?.vocab) ? model.vocab.map(([p]) => p) : Object.keys(model?.vocab ?? {});
  if (!entries.length) throw new ConfigError(`baseVocab ${file} has no model.vocab`);
  const vocab = new Set(entries);
  if (model.type === 'WordPiece') return wordPiece(vocab, model.continuing_subword_prefix ?? '##');
  const forms = (w: string) => [w, `Ġ${w}`, `▁${w}`, byteLevel(w), `Ġ${byteLevel(w)}`];
  return { pieces: (w) => (forms(w).some((f) => vocab.has(f)) ? 1 : 2) };
}

/** Greedy longest-match-first, as BERT's WordPiece tokenizer; an unknown character counts as one piece. */
function wordPiece(vocab: Set<string>, prefix: string): BaseVocab {
  return {
    pieces(word) {
      if (word.includes(' ')) return word.split(' ').reduce((n, w) => n + this.pieces(w), 0);
      const chars = Array.from(word);
      let pieces = 0;
      for (let start = 0; start < chars.length; pieces++) {
        let end = chars.length;
        while (end > start && !vocab.has((start ? prefix : '') + chars.slice(start, end).join(''))) end--;
        start = end > start ? end : start + 1;
      }
      return pieces;
    },
  };
}

/** GPT-2's byte → printable character map, so UTF-8 bytes can be looked up in a byte-level BPE vocab. */
const BYTE_CHARS: string[] = (() => {
  const out: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    out.push(String.fromCharCode(printable ? b : 256 + extra++));
  }
  return out;
})();

function byteLevel(word: string): string {
  return Array.from(Buffer.from(word, 'utf8'), (b) => BYTE_CHARS[b]).join('');
}

/** A general dictionary, one word or term a line; "jieba" is jieba's built-in dictionary. */
export function loadDictionary(file: string): Set<string> {
  if (file !== 'jieba' && !fs.existsSync(file)) throw new ConfigError(`dictionary ${file} does not exist`);
  const text = file === 'jieba' ? Buffer.from(jiebaDict).toString('utf8') : fs.readFileSync(file, 'utf8');
  // jieba's layout is "word [freq [tag]]"; anything before those columns is the word, so terms may have spaces.
  const word = (line: string) => /^(.+?)(?:\s+\d+(?:\s+[a-z]+)?)?$/i.exec(line.trim())?.[1].toLowerCase();
  return new Set(text.split(/\r?\n/).map(word).filter((w): w is string => !!w));
}
