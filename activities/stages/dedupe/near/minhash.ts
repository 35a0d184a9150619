/**
 * MinHash signatures with 32-bit arithmetic only. Each shingle is first hashed to a well-mixed 32-bit value;
 * permutation i is then the affine map x → a_i·x + b_i (mod 2^32, a_i odd), a bijection, so the minimum over
 * a document's shingles is a MinHash value. Math.imul keeps the whole inner loop in int32 registers: no BigInt,
 * no float rounding, and V8 compiles it to a handful of instructions per (shingle, permutation).
 */

/** Murmur3's finalizer: spreads every input bit over the whole word. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Deterministic 32-bit generator (splitmix32) so permutations depend on the seed only. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
}

export interface Permutations {
  a: Uint32Array;
  b: Uint32Array;
}

export function makePermutations(numPerm: number, seed: number): Permutations {
  const next = splitmix32(seed);
  const a = new Uint32Array(numPerm);
  const b = new Uint32Array(numPerm);
  for (let i = 0; i < numPerm; i++) {
    a[i] = (next() | 1) >>> 0; // odd: a bijection mod 2^32
    b[i] = next();
  }
  return { a, b };
}

/**
 * Writes the signature of `n` shingle hashes into `out` (numPerm values). Permutation-major order keeps the
 * running minimum in a register; the shingle array stays in L1 for typical documents.
 */
export function signature(shingles: Uint32Array, n: number, perms: Permutations, out: Uint32Array): void {
  const { a, b } = perms;
  for (let i = 0; i < a.length; i++) {
    const ai = a[i];
    const bi = b[i];
    let min = 0xffffffff;
    for (let j = 0; j < n; j++) {
      const v = (Math.imul(ai, shingles[j]) + bi) >>> 0;
      if (v < min) min = v;
    }
    out[i] = min;
  }
}

/**
 * The LSH key of band `band` (rows `rows`) as two independent 32-bit hashes: 64 bits keep random bucket
 * collisions between unrelated documents negligible even at a billion documents per band.
 */
export function bandKey(sig: Uint32Array, offset: number, band: number, rows: number, out: Uint32Array, at: number): void {
  let h1 = 0x9747b28c ^ band;
  let h2 = 0x1b873593 ^ Math.imul(band, 0x27d4eb2f);
  const start = offset + band * rows;
  for (let k = start; k < start + rows; k++) {
    const v = sig[k];
    h1 = Math.imul(h1 ^ v, 0xcc9e2d51);
    h1 = (h1 << 15) | (h1 >>> 17);
    h2 = Math.imul(h2 ^ v, 0x85ebca6b);
    h2 = (h2 << 13) | (h2 >>> 19);
  }
  out[at] = fmix32(h1);
  out[at + 1] = fmix32(h2 ^ 0x5bd1e995);
}

/** Estimated Jaccard similarity: the share of positions where two signatures agree. */
export function estimateJaccard(sigs: Uint32Array, i: number, j: number, numPerm: number): number {
  let same = 0;
  const a = i * numPerm;
  const b = j * numPerm;
  for (let k = 0; k < numPerm; k++) if (sigs[a + k] === sigs[b + k]) same++;
  return same / numPerm;
}
