/**
 * The bench:data corpus: one document a line, lowercase words separated by single spaces, so `text.split()` in
 * Python and the stage's tokenizer see the same words. Words follow a Zipf-like law over 30,000 pseudo-words;
 * documents have 80-400 words; 8% are edited copies of an earlier document (1-40 words replaced, similarity
 * from ~0.3 to 1) and 2% exact copies. Deterministic: the same --docs gives the same file.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import { rng } from '../../activities/rng';


const LETTERS = 'etaoinshrdlucmfwypvbgkqjxz';
const VOCAB = Array.from({ length: 30_000 }, (_, i) => {
  let w = '';
  for (let x = i + 27; x > 0; x = Math.floor(x / 26)) w += LETTERS[x % 26];
  return w;
});

export async function writeCorpus(file: string, docs: number): Promise<void> {
  const r = rng(20240601);
  // Zipf(1) sampling by inverting the harmonic CDF approximately: index = floor(V^u) − 1.
  const word = () => VOCAB[Math.min(VOCAB.length - 1, Math.floor(Math.pow(VOCAB.length, r())) - 1)];
  const recent: string[][] = [];
  const out = fs.createWriteStream(file);
  for (let d = 0; d < docs; d++) {
    const u = r();
    let words: string[];
    if (u < 0.1 && recent.length) {
      words = [...recent[Math.floor(r() * recent.length)]];
      if (u < 0.08) for (let e = 1 + Math.floor(r() * 40); e > 0; e--) words[Math.floor(r() * words.length)] = word();
    } else {
      words = Array.from({ length: 80 + Math.floor(r() * 320) }, word);
    }
    if (recent.length < 5000) recent.push(words);
    else recent[Math.floor(r() * recent.length)] = words;
    if (!out.write(words.join(' ') + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

/** The corpus's documents; read as bytes and cut per line, since V8 strings stop at 512 MiB. */
export function readCorpus(file: string, limit = Infinity): string[] {
  const buf = fs.readFileSync(file);
  const docs: string[] = [];
  for (let start = 0; start < buf.length && docs.length < limit; ) {
    let end = buf.indexOf(10, start);
    if (end < 0) end = buf.length;
    docs.push(buf.toString('utf8', start, end));
    start = end + 1;
  }
  return docs;
}
