/**
 * Near-dedupe as a four-phase fan-out, datatrove's visible steps: signatures (per input shard) → buckets
 * (per band group) → clusters (one task) → filter (per input shard), then a reduce that lists the output
 * shards and the report. Task descriptors and results are small JSON; bulk data goes to store objects under
 * one prefix, recorded in every task so a retry finds what finished attempts wrote. With `against`, that
 * input's documents (a previous snapshot) are clustered first and never written: what duplicates them drops.
 */
import { DOCUMENT_SCHEMA } from '../../../../schemas/manifest';
import type { StageParams } from '../../../../schemas/stages';
import { documentShards } from '../../../documents';
import type { TypedFanout } from '../../types';
import { referenceFirst } from '../inputs';
import { mergeBuckets, type BucketResult, type BucketTask } from './buckets';
import { buildClusters, type ClusterResult, type ClusterTask } from './clusters';
import { filterShard, type FilterResult, type FilterTask } from './filter';
import { scratchPrefix } from '../../../scratch';
import { resolveNear } from './params';
import { bucketGroups, computeSignatures, type SignatureResult, type SignatureTask } from './signatures';

type Params = StageParams<'dedupe'>;

function offsetsOf(sigs: SignatureResult[]): number[] {
  const offsets = [0];
  for (const r of sigs) offsets.push(offsets[offsets.length - 1] + r.docs);
  return offsets;
}

export const nearDedupeFanout: TypedFanout<
  Params,
  [[SignatureTask, SignatureResult], [BucketTask, BucketResult], [ClusterTask, ClusterResult], [FilterTask, FilterResult]]
> = {
  phases: [
    {
      name: 'signatures',
      async plan(ctx) {
        const prefix = scratchPrefix(ctx, 'near-dedupe');
        const tasks: SignatureTask[] = [];
        // The `against` input first, so its documents are the first of any cluster they are in: the ones kept.
        for (const input of referenceFirst(ctx)) {
          const reference = input.stage === ctx.params.against;
          for (const f of documentShards(input.manifest)) tasks.push({ prefix, shard: tasks.length, file: { key: f.key, name: f.name }, reference });
        }
        return tasks;
      },
      map: (ctx, task) => computeSignatures(ctx, resolveNear(ctx.params), task),
    },
    {
      name: 'buckets',
      async plan(ctx, [sigs]) {
        if (!sigs.length) return [];
        const { prefix } = sigs[0];
        const offsets = offsetsOf(sigs);
        return bucketGroups(resolveNear(ctx.params)).map((_, group) => ({ prefix, group, offsets }));
      },
      map: (ctx, task) => mergeBuckets(ctx, task),
    },
    {
      name: 'clusters',
      async plan(_ctx, [sigs, buckets]) {
        if (!buckets.length) return [];
        const { prefix } = sigs[0];
        const referenceDocs = sigs.filter((r) => r.reference).reduce((n, r) => n + r.docs, 0);
        return [{ prefix, groups: buckets.length, offsets: offsetsOf(sigs), referenceDocs }];
      },
      map: (ctx, task) => buildClusters(ctx, resolveNear(ctx.params), task),
    },
    {
      name: 'filter',
      async plan(_ctx, [sigs, , clusters]) {
        if (!clusters.length) return [];
        const c = clusters[0];
        const offsets = offsetsOf(sigs);
        const sampled = c.samples.flatMap((s) => s.members);
        return sigs
          .filter((r) => !r.reference)
          .map(({ prefix, shard, file }) => ({
            prefix,
            shard,
            file,
            offset: offsets[shard],
            drops: c.drops[shard],
            sampleIds: sampled.filter((d) => d >= offsets[shard] && d < offsets[shard + 1]),
          }));
      },
      map: (ctx, task) => filterShard(ctx, task),
    },
  ],
  async reduce(ctx, [sigs, buckets, clusters, out]) {
    const c: ClusterResult | undefined = clusters[0];
    if (sigs.length) await ctx.store.removePrefix(sigs[0].prefix);
    const ids: Record<number, string> = Object.assign({}, ...out.map((r) => r.ids));
    const input = sigs.filter((r) => !r.reference).reduce((n, r) => n + r.docs, 0);
    const kept = out.reduce((n, r) => n + r.kept, 0);
    const opts = resolveNear(ctx.params);
    ctx.log(`near-dedupe: ${input} documents, ${c?.exactDuplicates ?? 0} exact and ${c?.nearDuplicates ?? 0} near duplicates dropped`);
    return {
      files: out.flatMap((r) => r.files),
      schema: DOCUMENT_SCHEMA,
      metrics: {
        input,
        kept,
        duplicates: input - kept,
        dupRate: input ? (input - kept) / input : 0,
        exactDuplicates: c?.exactDuplicates ?? 0,
        nearDuplicates: c?.nearDuplicates ?? 0,
        clusters: c?.clusters ?? 0,
        clusterSizes: c?.clusterSizes ?? {},
        ...(ctx.params.against ? { ofReference: c?.ofReference ?? 0 } : {}),
        sampleClusters: (c?.samples ?? []).map((s) => ({ size: s.size, ids: s.members.map((m) => ids[m] ?? `${ctx.params.against}#${m}`) })),
        lsh: { bands: opts.bands, rows: opts.rows, numPerm: opts.numPerm, threshold: opts.threshold },
        candidatePairs: c?.candidatePairs ?? 0,
        rejectedPairs: c?.rejectedPairs ?? 0,
        largestBucket: Math.max(0, ...buckets.filter((r) => r.group > 0).map((r) => r.largestBucket)),
      },
    };
  },
};
