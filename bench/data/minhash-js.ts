/**
 * dapt's side of bench:data, in its own process so its peak RSS is its own: the near-dedupe stage's
 * functions (shingles, signatures, band keys, radix-sorted buckets, verified pairs, union-find) over an
 * in-memory corpus, without the store. Usage: minhash-js.ts CORPUS FLAGS_OUT → one JSON line on stdout.
 */
import fs from 'node:fs';
import { PairBuffer } from '../../activities/stages/dedupe/near/buckets';
import { bandKey, estimateJaccard, makePermutations, signature } from '../../activities/stages/dedupe/near/minhash';
import { sortByKey64 } from '../../activities/stages/dedupe/near/radix';
import { ShingleBuilder } from '../../activities/stages/dedupe/near/shingles';
import { UnionFind } from '../../activities/stages/dedupe/near/union-find';
import { BENCH_LSH } from './config';
import { readCorpus } from './corpus';

const [corpus, flagsOut] = process.argv.slice(2);
const docs = readCorpus(corpus);
const { numPerm, bands, rows, ngram, threshold, seed } = BENCH_LSH;
const n = docs.length;

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const perms = makePermutations(numPerm, seed);
const shingler = new ShingleBuilder({ ngram, language: 'en', zhTokens: 'words' });
const sigs = new Uint32Array(n * numPerm);
for (let d = 0; d < n; d++) {
  const count = shingler.build(docs[d]);
  signature(shingler.shingles, count, perms, sigs.subarray(d * numPerm, (d + 1) * numPerm));
}
const t1 = performance.now();

// One bucket run per band over all documents: what the fan-out's per-shard sorted runs merge into.
const pairs = new PairBuffer();
const hi = new Uint32Array(n);
const lo = new Uint32Array(n);
const key = new Uint32Array(2);
for (let b = 0; b < bands; b++) {
  for (let d = 0; d < n; d++) {
    bandKey(sigs, d * numPerm, b, rows, key, 0);
    [hi[d], lo[d]] = [key[0], key[1]];
  }
  const order = sortByKey64(hi, lo, n);
  for (let i = 0, start = 0; i <= n; i++) {
    if (i < n && hi[order[i]] === hi[order[start]] && lo[order[i]] === lo[order[start]]) continue;
    for (let j = start + 1; j < i; j++) {
      pairs.push(order[start], order[j]);
      if (j - 1 > start) pairs.push(order[j - 1], order[j]);
    }
    start = i;
  }
}
const uf = new UnionFind(n);
const p = pairs.view();
for (let i = 0; i < p.length; i += 2) {
  if (uf.find(p[i]) !== uf.find(p[i + 1]) && estimateJaccard(sigs, p[i], p[i + 1], numPerm) >= threshold) uf.union(p[i], p[i + 1]);
}
const flags = new Uint8Array(n);
for (let d = 0; d < n; d++) flags[d] = uf.find(d) !== d ? 1 : 0;
const t2 = performance.now();
const cpu = process.cpuUsage(cpu0);

fs.writeFileSync(flagsOut, flags);
process.stdout.write(
  JSON.stringify({
    impl: 'dapt',
    docs: n,
    signatureSeconds: (t1 - t0) / 1000,
    lshSeconds: (t2 - t1) / 1000,
    seconds: (t2 - t0) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    duplicates: flags.reduce((a, b) => a + b, 0),
  }) + '\n',
);
