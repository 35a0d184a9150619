/** dapt artifacts RUN [STAGE] [--download DIR]: what each stage of a run produced, with lineage. */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { ArtifactStore, sha256File } from '../../activities/store';
import type { DaptConfig } from '../../config';
import { UsageError } from '../context';

export async function artifactsCommand(
  client: Client,
  cfg: DaptConfig,
  run: string,
  stage: string | undefined,
  opts: { download?: string; json?: boolean },
): Promise<void> {
  const store = new ArtifactStore(cfg.store);
  const memo = (await client.workflow.getHandle(run).describe()).memo as { pipeline?: string } | undefined;
  if (!memo?.pipeline) throw new UsageError(`${run} is not a dapt run (its memo names no pipeline)`);
  const records = (await store.listRunStages(memo.pipeline, run.slice(memo.pipeline.length + 1))).filter((r) => !stage || r.stage === stage);
  if (!records.length) throw new UsageError(stage ? `run ${run} has no output for stage "${stage}"` : `run ${run} has no recorded outputs`);
  const out = [];
  for (const r of records) {
    const manifest = await store.readManifest(r.digest);
    if (!manifest) throw new Error(`manifest ${r.digest} of ${r.stage} is missing from the store`);
    out.push({ ...r, manifest });
    if (opts.json) continue;
    console.log(`${r.stage}  ${manifest.kind}  ${r.digest}${r.cached ? '  (cached)' : ''}`);
    console.log(`  produced by ${manifest.producer.pipeline}/${manifest.producer.run}/${manifest.producer.stage} attempt ${manifest.producer.attempt}`);
    for (const p of manifest.parents) console.log(`  parent ${p.stage} ${p.digest}`);
    for (const f of manifest.files) console.log(`  ${f.name.padEnd(28)} ${String(f.bytes).padStart(10)} B  ${f.records ?? ''}${f.records !== undefined ? ' records' : ''}  ${f.key}`);
    if (opts.download) {
      const dir = path.join(opts.download, r.stage);
      fs.mkdirSync(dir, { recursive: true });
      for (const f of manifest.files) {
        const local = path.resolve(dir, f.name);
        if (path.relative(dir, local).startsWith('..')) throw new Error(`${f.name}: file name points outside ${dir}`);
        fs.mkdirSync(path.dirname(local), { recursive: true }); // names may have folders (a model's eval/, tokenizer files)
        await store.downloadFile(f.key, local);
        if ((await sha256File(local)) !== f.sha256) throw new Error(`${f.key}: downloaded bytes do not match the recorded sha256`);
      }
      fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
      console.log(`  downloaded to ${dir}`);
    }
  }
  if (opts.json) console.log(JSON.stringify(out, null, 2));
}
