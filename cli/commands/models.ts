/** dapt models NAME [--history] [--json]: the promoted model of a line, what it won on, and earlier promotions. */
import { readPromoted, type PromotedModel } from '../../activities/model-stage/registry';
import { ArtifactStore, keys } from '../../activities/store';
import type { DaptConfig } from '../../config';
import { UsageError } from '../context';

export async function modelsCommand(cfg: DaptConfig, name: string, opts: { history?: boolean; json?: boolean }): Promise<void> {
  const store = new ArtifactStore(cfg.store);
  const latest = await readPromoted(store, name);
  if (!latest) throw new UsageError(`nothing has been promoted as "${name}" (${keys.promotedLatest(name)} is absent in bucket ${cfg.store.bucket})`);
  const history: PromotedModel[] = [];
  if (opts.history) {
    // History keys start with the promotion time, so their order is the order of promotions.
    const entries = (await store.list(keys.promotedHistoryPrefix(name))).map((e) => e.key).sort();
    for (const k of entries) {
      const h = await store.getJson<PromotedModel>(k);
      if (h) history.push(h);
    }
  }
  if (opts.json) {
    console.log(JSON.stringify(opts.history ? { latest, history } : latest, null, 2));
    return;
  }
  const line = (p: PromotedModel) =>
    `${p.promotedAt}  ${p.model.digest.slice(0, 12)}  ${p.metric.path} = ${p.metric.value}  ${p.pipeline}/${p.run}${p.approver ? `  approved by ${p.approver}` : ''}`;
  console.log(`${name}: ${line(latest)}`);
  console.log(`  model artifact ${latest.model.digest} (stage ${latest.model.stage}, ${latest.model.files.length} files); use it as baseModel: promoted:${name}`);
  if (latest.previous) console.log(`  replaced ${latest.previous}`);
  for (const h of history) console.log(`  ${line(h)}`);
}
