/**
 * Run a stage implementation directly, without Temporal: a real MinIO per test file, a fresh bucket per
 * context, a temp work dir, an AbortController, and the progress reports captured for assertions.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ArtifactStore } from '../../activities/store';
import type { Progress, StageContext, StageInputArtifact } from '../../activities/stages/types';
import type { DocumentRecordT, ManifestT } from '../../schemas/manifest';
import { readDocuments } from '../../activities/documents';
import { startMinio, type MinioServer } from '../../infra/servers';
import { tempDir } from './tmp';

export interface TestMinio {
  server: MinioServer;
  dir: string;
  /** A store on a new bucket, so contexts in one file do not see each other's objects. */
  freshStore(): Promise<ArtifactStore>;
  stop(): Promise<void>;
}

let buckets = 0;

export async function startTestMinio(label: string): Promise<TestMinio> {
  const dir = tempDir(label);
  const server = await startMinio({ dataDir: path.join(dir, 'minio'), logFile: path.join(dir, 'minio.log') });
  return {
    server,
    dir,
    async freshStore() {
      const bucket = `t-${label}-${process.pid}-${++buckets}`.toLowerCase();
      const store = new ArtifactStore({ endpoint: server.endpoint, accessKey: server.accessKey, secretKey: server.secretKey, bucket });
      await store.ensureBucket();
      return store;
    },
    async stop() {
      await server.stop();
      if (!process.env.DAPT_KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestStageContext<P> {
  ctx: StageContext<P>;
  controller: AbortController;
  progressLog: Progress[];
  logLines: string[];
  /** What `resumeFrom()` returns from now on (a previous attempt's last checkpoint). */
  setResumeFrom(checkpoint: unknown): void;
  /** The last checkpoint reported through progress, as the runtime would heartbeat it. */
  lastCheckpoint(): unknown;
  cleanup(): void;
}

export interface StageContextOptions<P> {
  store: ArtifactStore;
  params: P;
  stage?: string;
  run?: string;
  attempt?: number;
  inputs?: StageInputArtifact[];
  resumeFrom?: unknown;
  /** Echo log lines to stderr (handy when a test fails). */
  verbose?: boolean;
}

export function makeStageContext<P>(opts: StageContextOptions<P>): TestStageContext<P> {
  const workDir = tempDir('stage');
  const controller = new AbortController();
  const progressLog: Progress[] = [];
  const logLines: string[] = [];
  let resume = opts.resumeFrom;
  const ctx: StageContext<P> = {
    pipeline: 'test',
    run: opts.run ?? 'run-1',
    stage: opts.stage ?? 'stage',
    attempt: opts.attempt ?? 1,
    params: opts.params,
    inputs: opts.inputs ?? [],
    store: opts.store,
    workDir,
    signal: controller.signal,
    progress: (p) => progressLog.push(p),
    resumeFrom: <T>() => resume as T | undefined,
    log: (msg) => {
      logLines.push(msg);
      if (opts.verbose) process.stderr.write(`${msg}\n`);
    },
  };
  return {
    ctx,
    controller,
    progressLog,
    logLines,
    setResumeFrom: (c) => {
      resume = c;
    },
    lastCheckpoint: () => [...progressLog].reverse().find((p) => p.checkpoint !== undefined)?.checkpoint,
    cleanup: () => fs.rmSync(workDir, { recursive: true, force: true }),
  };
}

/** A stage output as the engine would publish it, so it can feed the next stage's `inputs`. */
export async function publishAsInput(
  store: ArtifactStore,
  stage: string,
  out: { files: ManifestT['files']; schema: string },
): Promise<StageInputArtifact> {
  const manifest = await store.writeManifest({
    kind: 'documents',
    schema: out.schema,
    files: out.files,
    producer: { pipeline: 'test', run: 'run-1', stage, stageKind: 'test', attempt: 1, cacheKey: stage, createdAt: new Date().toISOString() },
    parents: [],
    metrics: {},
  });
  return { stage, manifest };
}

/** Every document a stage output holds, read back through a published manifest as the next stage would. */
export async function readOutput(store: ArtifactStore, out: { files: ManifestT['files']; schema: string }): Promise<DocumentRecordT[]> {
  const docs: DocumentRecordT[] = [];
  for await (const d of readDocuments(store, (await publishAsInput(store, 'out', out)).manifest)) docs.push(d);
  return docs;
}
