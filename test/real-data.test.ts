/**
 * infra/real_data.py, the builder behind infra/real-data.sh, on a small archive written here in Debian's index
 * formats: one document per source package, the task split by source package with 16 / 8 / 40 per class, dev and
 * test packages absent from the domain corpus, Debian's description markup undone, the computing fortune files
 * left out of general text, and the same bytes on a second run.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from './helpers/tmp';

const SECTIONS = ['database', 'editors', 'electronics', 'games', 'graphics', 'hamradio', 'mail', 'math', 'sound', 'video'];
const SCRIPT = path.join(__dirname, '..', 'infra', 'real_data.py');
const root = tempDir('real-data');

function writeArchive(): { packages: string; translations: string; fortunes: string } {
  const packages: string[] = [];
  const translations: string[] = [];
  const add = (pkg: string, source: string, section: string, md5: string, body: string) => {
    packages.push(`Package: ${pkg}\n${pkg === source ? '' : `Source: ${source} (1.0-1)\n`}Version: 1.0-1\nDescription: synopsis of ${pkg}\nDescription-md5: ${md5}\nSection: ${section}\n`);
    translations.push(`Package: ${pkg}\nDescription-md5: ${md5}\nDescription-en: ${section} tool ${source}\n ${body}\n .\n second paragraph about ${source} and its many useful features for everyone\n`);
  };
  for (const section of [...SECTIONS, 'libs']) {
    for (let i = 0; i < 100; i++) {
      const source = `${section}-src${i}`;
      add(source, source, section, `${source}-a`, `the ${section} program number ${i} does what a ${section} program does,`);
      add(`${source}-data`, source, section, `${source}-b`, `data files for the ${section} program number ${i} and more words here`);
    }
  }
  const dir = path.join(root, 'in');
  fs.mkdirSync(path.join(dir, 'fortunes'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'Packages'), packages.join('\n'));
  fs.writeFileSync(path.join(dir, 'Translation-en'), translations.join('\n'));
  fs.writeFileSync(path.join(dir, 'fortunes', 'wisdom'), 'A stitch in time saves nine, and a fortune in time saves a demo.\n%\nshort one\n%\nHe who laughs last thinks slowest, or so the proverb goes these days.\n');
  fs.writeFileSync(path.join(dir, 'fortunes', 'wisdom.dat'), 'binary index');
  fs.writeFileSync(path.join(dir, 'fortunes', 'linux'), 'Linux is only free if your time has no value, said someone once.\n');
  return { packages: path.join(dir, 'Packages'), translations: path.join(dir, 'Translation-en'), fortunes: path.join(dir, 'fortunes') };
}

type Row = { text: string; label?: string; id: string };
const readJsonl = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);

test('real_data.py: task split by source package, held-out packages out of the domain corpus, deterministic', () => {
  const input = writeArchive();
  const build = (out: string) => execFileSync('python3', [SCRIPT, input.packages, input.translations, input.fortunes, out], { stdio: ['ignore', 'ignore', 'pipe'] });
  const out = path.join(root, 'out');
  build(out);

  const split = (name: string) => readJsonl(path.join(out, 'task', `${name}.jsonl`));
  const [train, pool, dev, testRows] = [split('train'), split('train-48'), split('dev'), split('test')];
  const perClass = (rows: Row[]) => SECTIONS.map((s) => rows.filter((r) => r.label === s).length);
  assert.deepEqual(perClass(train), Array(10).fill(16));
  assert.deepEqual(perClass(pool), Array(10).fill(48));
  assert.deepEqual(perClass(dev), Array(10).fill(8));
  assert.deepEqual(perClass(testRows), Array(10).fill(40));
  assert.ok(!testRows.some((r) => r.label === 'libs'), 'only the chosen sections are labels');

  // One text per source package: the binary package named like its source, whose description is markup-free.
  const sourceOf = (text: string) => /tool (\S+?)\./.exec(text)?.[1];
  const sources = (rows: Row[]) => new Set(rows.map((r) => sourceOf(r.text)));
  assert.equal(sources(testRows).size, 400);
  assert.match(testRows[0].text, /^[a-z]+ tool \S+\.\nthe \S+ program number \d+ does what .*,\nsecond paragraph about/);
  for (const row of train) assert.ok(sources(pool).has(sourceOf(row.text)), 'train is part of train-48');
  for (const s of sources(testRows)) assert.ok(!sources(dev).has(s) && !sources(pool).has(s), `${s} in two splits`);

  const domain = fs.readdirSync(path.join(out, 'domain')).flatMap((f) => readJsonl(path.join(out, 'domain', f)));
  assert.equal(domain.length, 1100 - 400 - 80, 'every source package but the dev and test ones');
  const heldOut = new Set([...sources(testRows), ...sources(dev)]);
  assert.ok(!domain.some((d) => heldOut.has(d.id.replace('debian:', ''))), 'a dev or test package in the domain corpus');
  assert.deepEqual(Object.keys(domain[0]).sort(), ['id', 'metadata', 'source', 'text']);
  assert.equal(readJsonl(path.join(out, 'task', 'unlabeled.jsonl')).length, 10 * (100 - 96));

  const general = readJsonl(path.join(out, 'general', 'fortunes.jsonl'));
  assert.deepEqual(general.map((g) => g.id).sort(), ['fortunes:wisdom:0', 'fortunes:wisdom:2'], 'short cookies, index files and computing files left out');

  const again = path.join(root, 'again');
  build(again);
  const meta = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { contentSha256: string };
  assert.equal(meta(again).contentSha256, meta(out).contentSha256);
});

test('real_data.py: a section with too few source packages is an error that names it', () => {
  const input = writeArchive();
  const kept = fs.readFileSync(input.packages, 'utf8').split('\n\n').filter((s) => !/Package: hamradio-src[1-9]\d\b/.test(s));
  fs.writeFileSync(input.packages, kept.join('\n\n'));
  assert.throws(
    () => execFileSync('python3', [SCRIPT, input.packages, input.translations, input.fortunes, path.join(root, 'few')], { stdio: ['ignore', 'ignore', 'pipe'] }),
    (e: { stderr: Buffer }) => /section hamradio has \d+ usable source packages, fewer than 96/.test(e.stderr.toString()),
  );
});

test('wordnet.py: one "word, word: gloss" document per synset, markers and licence header dropped, a short file refused', () => {
  const dir = path.join(root, 'wordnet');
  fs.mkdirSync(dir, { recursive: true });
  const header = '  1 This software and database is being provided to you, the LICENSEE, by Princeton University\n';
  fs.writeFileSync(path.join(dir, 'data.noun'), header + '00217499 04 n 02 disaster 0 calamity_of_note 0 001 @ 00217014 n 0000 | an act that has disastrous consequences  \n');
  fs.writeFileSync(path.join(dir, 'data.verb'), header + '01192791 42 v 01 run_low 0 001 @ 02612368 v 0000 01 + 02 00 | to be spent or finished; "Gas is running low"  \n');
  fs.writeFileSync(path.join(dir, 'data.adj'), header + '00001740 00 a 01 able(a) 0 005 | (usually followed by `to\') having the necessary means  \n00001999 00 a 01 empty 0 000 |  \n');
  fs.writeFileSync(path.join(dir, 'data.adv'), header);
  const script = path.join(__dirname, '..', 'infra', 'wordnet.py');
  execFileSync('python3', [script, dir, path.join(root, 'wn-out'), '1']);
  assert.deepEqual(readJsonl(path.join(root, 'wn-out', 'glosses.jsonl')), [
    { id: 'wn-noun-00217499', text: 'disaster, calamity of note: an act that has disastrous consequences' },
    { id: 'wn-verb-01192791', text: 'run low: to be spent or finished; "Gas is running low"' },
    { id: 'wn-adj-00001740', text: "able: (usually followed by `to') having the necessary means" },
  ]);
  assert.throws(() => execFileSync('python3', [script, dir, path.join(root, 'wn-short')], { stdio: 'pipe' }),
    (e: { stderr: Buffer }) => /only 3 synsets read from .*wordnet, expected at least 100000/.test(e.stderr.toString()));
});
