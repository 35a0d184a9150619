/**
 * The dapt side of bench:pipeline: warc → extract → filter → dedupe (exact + near) → select (a seed corpus as a
 * needs-stage) as one pipeline run, its stage activities in N `dapt worker --queue cpu --concurrency 1`
 * processes (infra/worker-process.ts, as bench:scale starts them), the pipeline workflows in this process.
 * While the run goes, the worker processes' utime + stime (/proc/<pid>/stat) are sampled; each stage's CPU is
 * the sampled CPU between its start and end as the run status records them (interpolated between samples).
 * Peak RSS is each worker process's VmHWM (/proc/<pid>/status) at the end of the run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { documentShards } from '../../activities/documents';
import { decompressed } from '../../activities/shard-codec';
import { ArtifactStore } from '../../activities/store';
import { startRun, waitForRun } from '../../client/runs';
import { startWorkerProcess, type WorkerProcess } from '../../infra/worker-process';
import { formatIssues } from '../../schemas/issues';
import { compilePipeline, type Plan } from '../../schemas/plan';
import type { DaptConfig } from '../../config';
import type { Corpus } from './corpus';

export const STAGES = ['warc', 'extract', 'filter', 'dedupe', 'select'] as const;
/** The stages measured for a JSONL corpus (the pipeline after extraction). */
export const STAGES_AFTER_EXTRACT = ['source', 'filter', 'dedupe', 'select'] as const;
export const stagesOf = (corpus: Pick<Corpus, 'format'>): readonly string[] => (corpus.format === 'jsonl' ? STAGES_AFTER_EXTRACT : STAGES);

export interface StageMeasure {
  stage: string;
  /** Documents into the stage (warc: documents it produced from the records). */
  docsIn: number;
  docsOut: number;
  /** Bytes of the stage's input as stored (gzip WARC or JSONL files; zstd JSONL shards). */
  inputBytes: number;
  /** Bytes of the stage's input as JSONL, uncompressed (a documents input; not WARC). */
  inputJsonlBytes?: number;
  wallS: number;
  /** utime + stime of the worker processes between the stage's start and end. */
  cpuS: number;
  tasks?: number;
  /** datatrove: the executors a stage is made of. */
  parts?: { name: string; tasks: number; wallS: number; cpuS: number }[];
  peakRssBytes?: number;
}

export interface RunMeasure {
  impl: 'dapt' | 'datatrove';
  workers: number;
  /** Whole pipeline: run start → end (dapt: client-side start → result; datatrove: first → last executor). */
  wallS: number;
  stages: StageMeasure[];
  /** Peak RSS of each worker process (dapt: VmHWM per `dapt worker`; datatrove: the largest process per stage). */
  peakRssBytes: number[];
  /** dapt: the extract stage's own timing of its extraction call (Readability over linkedom), ms per page. */
  extractMsPerPage?: number;
}

/**
 * utime + stime of a process in seconds, from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s);
 * `children`: plus cutime + cstime (fields 16 and 17), the CPU of its children once they have exited (a stage
 * that runs a subprocess per task, e.g. tokenize's trainer).
 */
export function cpuSeconds(pid: number, children = false): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0)) / 100;
  } catch {
    return NaN;
  }
}

/** A process's peak resident set (VmHWM) in bytes, from /proc/<pid>/status. */
export function peakRss(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU samples of a set of processes over time, read back by interpolation at any instant. */
export class CpuSampler {
  private readonly samples: { t: number; cpu: number }[] = [];
  private timer?: NodeJS.Timeout;
  constructor(
    private readonly pids: number[],
    private readonly children = false,
  ) {}
  private sample(): void {
    this.samples.push({ t: Date.now(), cpu: this.pids.reduce((a, p) => a + cpuSeconds(p, this.children), 0) });
  }
  start(everyMs = 200): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
  at(t: number): number {
    const s = this.samples;
    if (t <= s[0].t) return s[0].cpu;
    for (let i = 1; i < s.length; i++) {
      if (t <= s[i].t) return s[i - 1].cpu + ((s[i].cpu - s[i - 1].cpu) * (t - s[i - 1].t)) / Math.max(1, s[i].t - s[i - 1].t);
    }
    return s[s.length - 1].cpu;
  }
}

export interface PipelineSizes {
  shardSize: number;
  topK: number;
}

/**
 * The pipeline for a corpus: a WARC corpus through warc → extract → filter → dedupe → select; a JSONL corpus (the
 * pages' main text) through source → filter with every rule off (a pass-through: the shard I/O path alone, so
 * that a 1M-document run fits this machine) → dedupe → select.
 */
export function pipelinePlan(corpus: Corpus, sizes: PipelineSizes): Plan {
  const { shardSize, topK } = sizes;
  const off = { enabled: false };
  const head =
    corpus.format === 'jsonl'
      ? {
          source: { uses: 'source', with: { paths: [corpus.warcDir], shardSize } },
          filter: { uses: 'filter', needs: ['source'], with: { shardSize, language: off, gopherRepetition: off, gopherQuality: off, c4: off, fineweb: off, pii: off } },
        }
      : {
          warc: { uses: 'warc', with: { paths: [corpus.warcDir], shardSize } },
          extract: { uses: 'extract', needs: ['warc'], with: { shardSize } },
          filter: { uses: 'filter', needs: ['extract'], with: { shardSize } },
        };
  const res = compilePipeline({
    name: 'bench-pipeline',
    stages: {
      seed: { uses: 'source', with: { paths: [corpus.seedDir], shardSize } },
      ...head,
      dedupe: { uses: 'dedupe', needs: ['filter'], with: { method: 'near', shardSize } },
      select: { uses: 'select', needs: ['dedupe', 'seed'], with: { seed: 'seed', topK, shardSize } },
    },
  });
  if (!res.ok) throw new Error(formatIssues('<bench:pipeline spec>', res.issues));
  return res.plan;
}

let configCounter = 0;

/** One run of the pipeline with `workers` fresh worker processes, in a bucket of its own (nothing reused). */
export async function measureDapt(o: { client: Client; base: DaptConfig; dir: string; plan: Plan; corpus: Corpus; workers: number; log: (m: string) => void }): Promise<RunMeasure> {
  const n = ++configCounter;
  const config: DaptConfig = { ...o.base, store: { ...o.base.store, bucket: `pipeline-${n}` } };
  const procs: WorkerProcess[] = [];
  try {
    procs.push(
      ...(await Promise.all(
        Array.from({ length: o.workers }, (_, i) =>
          startWorkerProcess({ config, queues: ['cpu'], concurrency: 1, workflows: false, logFile: path.join(o.dir, `worker-${n}-${i}.log`) }),
        ),
      )),
    );
    const sampler = new CpuSampler(procs.map((p) => p.pid));
    sampler.start();
    const t0 = performance.now();
    const run = await startRun(o.client, config, o.plan, { runId: `w${o.workers}-${n}` });
    const res = await waitForRun(o.client, run.workflowId);
    const wallS = (performance.now() - t0) / 1000;
    sampler.stop();
    if (!res.ok) throw new Error(`run ${run.workflowId} failed: ${res.error}`);
    const peak = procs.map((p) => peakRss(p.pid));
    const store = new ArtifactStore(config.store);
    const names = stagesOf(o.corpus);
    const manifests = new Map<string, { docs: number; bytes: number; jsonlBytes: number }>();
    for (const name of names) {
      const s = res.status.stages[name];
      const m = s.digest ? await store.readManifest(s.digest) : undefined;
      if (!m) throw new Error(`${run.workflowId}: no manifest for ${name}`);
      const shards = documentShards(m);
      // Untimed, after the run: the shards' JSONL bytes (for MB/s of JSONL), by decompressing them.
      let jsonlBytes = 0;
      for (const f of shards) for await (const c of decompressed(await store.getStream(f.key), f.name)) jsonlBytes += c.length;
      manifests.set(name, { docs: shards.reduce((a, f) => a + (f.records ?? 0), 0), bytes: shards.reduce((a, f) => a + f.bytes, 0), jsonlBytes });
    }
    const stages = names.map((name, i): StageMeasure => {
      const s = res.status.stages[name];
      if (s.state !== 'succeeded' || !s.startedAt || !s.endedAt) throw new Error(`${run.workflowId}: ${name} is ${s.state}`);
      const [start, end] = [Date.parse(s.startedAt), Date.parse(s.endedAt)];
      const prev = i === 0 ? undefined : manifests.get(names[i - 1])!;
      const out = manifests.get(name)!;
      return {
        stage: name,
        docsIn: prev ? prev.docs : out.docs,
        docsOut: out.docs,
        inputBytes: prev ? prev.bytes : o.corpus.warcBytes,
        ...(prev ? { inputJsonlBytes: prev.jsonlBytes } : o.corpus.jsonlBytes ? { inputJsonlBytes: o.corpus.jsonlBytes } : {}),
        wallS: (end - start) / 1000,
        cpuS: sampler.at(end) - sampler.at(start),
        tasks: s.fanout?.total,
      };
    });
    o.log(`  dapt, ${o.workers} worker process(es): ${wallS.toFixed(1)} s; ${stages.map((s) => `${s.stage} ${s.wallS.toFixed(1)} s / ${s.cpuS.toFixed(1)} CPU s`).join(', ')}`);
    const msPerPage = res.status.stages.extract?.metrics?.msPerPage;
    return { impl: 'dapt', workers: o.workers, wallS, stages, peakRssBytes: peak, extractMsPerPage: typeof msPerPage === 'number' ? msPerPage : undefined };
  } finally {
    await Promise.all(procs.map((p) => p.stop().catch((e: unknown) => console.error(`worker ${p.pid}:`, e))));
  }
}
