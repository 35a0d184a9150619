/**
 * Runs the crawl stage in a separate process, so a test can SIGKILL it mid-crawl like a dying worker.
 * Input: one JSON argument {store, params, run, stage}. Output: one JSON line per progress report on stdout,
 * the way the activity runtime would heartbeat them.
 */
import { crawlStage } from '../../activities/stages/crawl/run';
import { ArtifactStore, type StoreConfig } from '../../activities/store';
import type { StageParams } from '../../schemas/stages';
import { tempDir } from './tmp';

interface ChildInput {
  store: StoreConfig;
  params: StageParams<'crawl'>;
  run: string;
  stage: string;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]) as ChildInput;
  const workDir = tempDir('crawl-child');
  await crawlStage.run!({
    pipeline: 'test',
    run: input.run,
    stage: input.stage,
    attempt: 1,
    params: input.params,
    inputs: [],
    store: new ArtifactStore(input.store),
    workDir,
    signal: new AbortController().signal,
    progress: (p) => process.stdout.write(`${JSON.stringify(p)}\n`),
    resumeFrom: () => undefined,
    log: () => {},
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
