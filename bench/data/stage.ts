/**
 * bench:data --stage: the whole `dedupe` stage (method near) as one activity would run it, against a local
 * MinIO: gzip JSONL shards in, signatures and bucket objects through the store, output shards out. It shows
 * what the I/O around the MinHash core costs. Usage: stage.ts CORPUS DOCS → one JSON line on stdout.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ShardWriter } from '../../activities/documents';
import { dedupeStage } from '../../activities/stages/dedupe/run';
import { ArtifactStore } from '../../activities/store';
import { startMinio } from '../../infra/servers';
import { DOCUMENT_SCHEMA } from '../../schemas/manifest';
import { stageKinds } from '../../schemas/stages';
import { BENCH_LSH } from './config';
import { readCorpus } from './corpus';

async function main(): Promise<void> {
  const [corpus, docsArg] = process.argv.slice(2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-bench-stage-'));
  const minio = await startMinio({ dataDir: path.join(dir, 'minio'), logFile: path.join(dir, 'minio.log') });
  try {
    const store = new ArtifactStore({ endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: 'bench' });
    await store.ensureBucket();
    const texts = readCorpus(corpus, Number(docsArg));
    const writer = new ShardWriter(store, dir, 10_000);
    for (const [i, text] of texts.entries()) if (text) await writer.write({ id: String(i), text, source: 'bench', metadata: {} });
    const files = await writer.close();
    const manifest = await store.writeManifest({
      kind: 'documents',
      schema: DOCUMENT_SCHEMA,
      files,
      producer: { pipeline: 'bench', run: 'r', stage: 'corpus', stageKind: 'source', attempt: 1, cacheKey: 'corpus', createdAt: new Date().toISOString() },
      parents: [],
      metrics: {},
    });
    const { numPerm, bands, rows, ngram, threshold, seed } = BENCH_LSH;
    const params = stageKinds.dedupe.params.parse({ method: 'near', near: { numPerm, bands, rows, ngram, threshold, seed } });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await dedupeStage.run!({
      pipeline: 'bench', run: 'r', stage: 'dedupe', attempt: 1, params, inputs: [{ stage: 'corpus', manifest }], store,
      workDir: dir, signal: new AbortController().signal, progress: () => {}, resumeFrom: () => undefined, log: () => {},
    });
    const cpu = process.cpuUsage(cpu0);
    const m = out.metrics as { input: number; duplicates: number };
    process.stdout.write(JSON.stringify({ impl: 'dapt stage (MinIO, gzip JSONL)', docs: m.input, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, duplicates: m.duplicates }) + '\n');
  } finally {
    await minio.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
