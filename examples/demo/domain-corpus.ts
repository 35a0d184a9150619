/**
 * Deterministic toy corpora for the model stages: "domain" text (contract law, with its own vocabulary and
 * phrasing) and "general" text (everyday sentences). Same seed, same text, on every machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { rng } from '../../activities/rng';


const DOMAIN = {
  party: ['lessee', 'lessor', 'licensee', 'licensor', 'guarantor', 'mortgagee', 'mortgagor', 'indemnitor', 'assignee', 'contractor'],
  verb: ['indemnify', 'reimburse', 'notify', 'compensate', 'hold harmless', 'subrogate', 'defend', 'release'],
  noun: ['encumbrance', 'easement', 'lien', 'arbitration', 'escrow', 'covenant', 'warranty', 'forfeiture', 'indemnity', 'subrogation', 'rescission', 'estoppel'],
  adj: ['fiduciary', 'contractual', 'statutory', 'consequential', 'liquidated', 'irrevocable', 'jurisdictional', 'material'],
  doc: ['agreement', 'deed', 'lease', 'affidavit', 'indenture', 'addendum', 'instrument', 'schedule'],
};

const DOMAIN_TEMPLATES = [
  (w: Pick) => `The ${w('party')} shall ${w('verb')} the ${w('party')} against any ${w('adj')} ${w('noun')} arising under this ${w('doc')}.`,
  (w: Pick) => `Notwithstanding clause ${w.n(40)}, the ${w('party')} waives any ${w('noun')} hereunder.`,
  (w: Pick) => `Any ${w('adj')} breach of the ${w('noun')} entitles the ${w('party')} to ${w('adj')} damages pursuant to section ${w.n(20)}.`,
  (w: Pick) => `The ${w('doc')} is governed by the ${w('adj')} provisions on ${w('noun')} and ${w('noun')}.`,
  (w: Pick) => `Upon termination, the ${w('party')} shall deliver the ${w('doc')} and release the ${w('noun')} held in escrow.`,
  (w: Pick) => `Disputes concerning the ${w('noun')} shall be settled by binding arbitration before the tribunal.`,
];

const GENERAL = {
  person: ['teacher', 'farmer', 'child', 'neighbour', 'doctor', 'baker', 'student', 'driver', 'painter', 'musician'],
  place: ['market', 'park', 'station', 'library', 'garden', 'beach', 'kitchen', 'museum', 'village', 'river'],
  thing: ['bread', 'apples', 'flowers', 'a bicycle', 'a book', 'coffee', 'a kite', 'shoes', 'tomatoes', 'a lamp'],
  day: ['Monday', 'Tuesday', 'Friday', 'Sunday', 'the weekend', 'a rainy morning', 'a sunny afternoon'],
  feel: ['happy', 'tired', 'curious', 'hungry', 'calm', 'excited'],
};

const GENERAL_TEMPLATES = [
  (w: Pick) => `The ${w('person')} went to the ${w('place')} to buy ${w('thing')} on ${w('day')}.`,
  (w: Pick) => `After lunch the ${w('person')} felt ${w('feel')} and walked along the ${w('place')}.`,
  (w: Pick) => `On ${w('day')} my ${w('person')} brought ${w('thing')} from the ${w('place')}.`,
  (w: Pick) => `We were ${w('feel')} because the ${w('place')} was full of ${w('thing')}.`,
];

interface Pick {
  (slot: string): string;
  n(max: number): number;
}

export interface CorpusDoc {
  id: string;
  text: string;
}

function generate(kind: 'domain' | 'general', count: number, seed: number): CorpusDoc[] {
  const r = rng(seed);
  const words: Record<string, string[]> = kind === 'domain' ? DOMAIN : GENERAL;
  const templates = kind === 'domain' ? DOMAIN_TEMPLATES : GENERAL_TEMPLATES;
  const pick = ((slot: string) => {
    const list = words[slot];
    return list[Math.floor(r() * list.length)];
  }) as Pick;
  pick.n = (max) => 1 + Math.floor(r() * max);
  const docs: CorpusDoc[] = [];
  for (let i = 0; i < count; i++) {
    const sentences = 3 + Math.floor(r() * 4);
    const text = Array.from({ length: sentences }, () => templates[Math.floor(r() * templates.length)](pick)).join(' ');
    docs.push({ id: `${kind}-${i}`, text });
  }
  return docs;
}

export function domainDocs(count: number, seed = 1): CorpusDoc[] {
  return generate('domain', count, seed);
}

export function generalDocs(count: number, seed = 2): CorpusDoc[] {
  return generate('general', count, seed);
}

/** Write docs as a JSONL file (`{"text": ...}` per line), creating its folder; `duplicates` repeats the first n. */
export function writeJsonl(file: string, docs: CorpusDoc[], duplicates = 0): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const lines = [...docs, ...docs.slice(0, duplicates)].map((d) => JSON.stringify({ text: d.text }));
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
