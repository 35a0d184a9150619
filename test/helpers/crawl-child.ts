/**
 * Runs the crawl stage in a separate process, so a test can SIGKILL it mid-crawl like a dying worker.
 * Input: one JSON argument {store, params, run, stage}. Output: one JSON line per progress report on stdout,
 * the way the activity runtime would heartbeat them. Its work folder comes from the parent: a SIGKILLed process
 * runs no exit hook, so a folder of its own would be left behind.
 */
import { crawlStage } from '../../activities/stages/crawl/run';
import { ArtifactStore, type StoreConfig } from '../../activities/store';
import type { StageParams } from '../../schemas/stages';

interface ChildInput {
  store: StoreConfig;
  params: StageParams<'crawl'>;
  run: string;
  stage: string;
  workDir: string;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]) as ChildInput;
  await crawlStage.run!({
    pipeline: 'test',
    run: input.run,
    stage: input.stage,
    attempt: 1,
    params: input.params,
    inputs: [],
    store: new ArtifactStore(input.store),
    workDir: input.workDir,
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
