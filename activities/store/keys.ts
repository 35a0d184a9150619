/** The object layout inside the bucket, in one place. */
export const keys = {
  blob: (sha256: string) => `blobs/sha256/${sha256.slice(0, 2)}/${sha256}`,
  manifest: (digest: string) => `manifests/${digest}.json`,
  cache: (cacheKey: string) => `cache/${cacheKey}.json`,
  runStage: (pipeline: string, run: string, stage: string) => `runs/${pipeline}/${run}/${stage}.json`,
  runPrefix: (pipeline: string, run: string) => `runs/${pipeline}/${run}/`,
  ledgerTasks: (cacheKey: string, phase: number) => `ledger/${cacheKey}/phase-${phase}/tasks.json`,
  ledgerShard: (cacheKey: string, phase: number, index: number) =>
    `ledger/${cacheKey}/phase-${phase}/shard-${String(index).padStart(6, '0')}.json`,
  ledgerPrefix: (cacheKey: string) => `ledger/${cacheKey}/`,
  /** The promoted model of a model line (see activities/stages/promote) and every earlier promotion. */
  promotedLatest: (name: string) => `models/${name}/latest.json`,
  promotedHistory: (name: string, stamp: string) => `models/${name}/history/${stamp}.json`,
  promotedHistoryPrefix: (name: string) => `models/${name}/history/`,
};
