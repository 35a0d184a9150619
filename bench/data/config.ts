/** The one LSH configuration every bench:data implementation runs with (FineWeb's defaults). */
export const BENCH_LSH = { numPerm: 112, bands: 14, rows: 8, ngram: 5, threshold: 0.75, seed: 1 } as const;
