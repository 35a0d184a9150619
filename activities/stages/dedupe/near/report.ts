/**
 * What a near-dedupe run reports about its clusters: duplicates by kind, a histogram of cluster sizes and
 * a few sample clusters (the largest ones), as document indexes; the filter step turns them into document ids.
 */
import type { UnionFind } from './union-find';

const SAMPLE_CLUSTERS = 5;
const SAMPLE_MEMBERS = 10;
const SIZE_BINS: [string, number, number][] = [
  ['2', 2, 2],
  ['3', 3, 3],
  ['4', 4, 4],
  ['5-9', 5, 9],
  ['10-99', 10, 99],
  ['100+', 100, Infinity],
];

export interface ClusterReport {
  docs: number;
  exactDuplicates: number;
  nearDuplicates: number;
  /** Documents dropped because their cluster's first document is a reference document. */
  ofReference: number;
  clusters: number;
  clusterSizes: Record<string, number>;
  /** The largest clusters: their size and first members by document index (the first is the kept one). */
  samples: { size: number; members: number[] }[];
}

/** Documents below `referenceDocs` are the reference (they come first): counted in clusters, never as dropped. */
export function clusterReport(uf: UnionFind, exactDup: Uint8Array, referenceDocs = 0): ClusterReport {
  const n = uf.size;
  const size = new Uint32Array(n);
  let exactDuplicates = 0;
  let dropped = 0;
  let ofReference = 0;
  const hasNew = new Uint8Array(n);
  for (let d = 0; d < n; d++) {
    const r = uf.find(d);
    size[r]++;
    if (d >= referenceDocs) hasNew[r] = 1;
    if (r !== d && d >= referenceDocs) {
      dropped++;
      if (exactDup[d]) exactDuplicates++;
      if (r < referenceDocs) ofReference++;
    }
  }
  const clusterSizes = Object.fromEntries(SIZE_BINS.map(([label]) => [label, 0]));
  const roots: number[] = [];
  for (let r = 0; r < n; r++) {
    if (size[r] < 2 || !hasNew[r]) continue;
    roots.push(r);
    const bin = SIZE_BINS.find(([, lo, hi]) => size[r] >= lo && size[r] <= hi)!;
    clusterSizes[bin[0]]++;
  }
  const sampleRoots = roots.sort((a, b) => size[b] - size[a] || a - b).slice(0, SAMPLE_CLUSTERS);
  const members = new Map(sampleRoots.map((r) => [r, [] as number[]]));
  for (let d = 0; d < n && sampleRoots.length; d++) {
    const list = members.get(uf.find(d));
    if (list && list.length < SAMPLE_MEMBERS) list.push(d);
  }
  return {
    docs: n - referenceDocs,
    exactDuplicates,
    nearDuplicates: dropped - exactDuplicates,
    ofReference,
    clusters: roots.length,
    clusterSizes,
    samples: sampleRoots.map((r) => ({ size: size[r], members: members.get(r)! })),
  };
}
