/**
 * Base vs adapted: the perplexity stage's held-out domain and general numbers (the general set is the forgetting
 * probe) and the evaluate stage's fine-tuning metrics, mean ± std over seeds with each seed shown.
 */
import { orderedStages, type ReportData } from '../gather';
import { esc, fmtDelta, fmtNum, isNum, kvTable, notInPipeline, numCell } from '../html';
import { groupedBarChart, intervalChart, lineChart, stripChart } from '../svg';
import type { Section } from './types';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});

const PERPLEXITY_SCHEMA = 'perplexity-metrics/v1';
const FINETUNE_SCHEMA = 'finetune-metrics/v1';

function perplexityPart(data: ReportData, name: string): string {
  const x = data.manifests[name].metrics;
  const models = obj(x.models);
  const delta = obj(x.delta);
  const sets = [...new Set(Object.values(models).flatMap((m) => Object.keys(obj(m))))].sort((a, b) => (a === 'domain' ? -1 : b === 'domain' ? 1 : a.localeCompare(b)));
  const measures = [...new Set(sets.flatMap((s) => Object.values(models).flatMap((m) => Object.keys(obj(obj(m)[s])))))];
  const modelNames = Object.keys(models).sort((a, b) => (a === 'base' ? -1 : b === 'base' ? 1 : a.localeCompare(b)));
  const rows = sets.flatMap((set) =>
    measures.map((measure) => {
      const cells = modelNames.map((mn) => numCell(`eval.${name}.${mn}.${set}.${measure}`, obj(obj(models[mn])[set])[measure])).join('');
      const d = obj(delta[set])[measure];
      const better = isNum(d) && d !== 0 ? (measure === 'accuracy' ? d > 0 : d < 0) : undefined;
      const cls = better === undefined ? '' : better ? ' better' : ' worse';
      return `<tr><th>${esc(set)}</th><td>${esc(measure)}</td>${cells}<td class="num${cls}" data-key="eval.${esc(name)}.delta.${esc(set)}.${esc(measure)}"${isNum(d) ? ` data-value="${d}"` : ''}>${esc(fmtDelta(d))}</td></tr>`;
    }),
  );
  const setInfo = obj(x.sets);
  const general = obj(delta.general).loss;
  const probe = isNum(general)
    ? `<p>Forgetting probe: general-text loss ${general > 0 ? 'rose' : 'fell'} by <b>${esc(fmtNum(Math.abs(general)))}</b> (${esc(fmtDelta(general))}).</p>`
    : '<p class="hint">No general held-out set: forgetting was not probed.</p>';
  const chart = groupedBarChart({
    id: `perplexity-loss-${name}`,
    groups: sets.map((set) => ({ label: set, bars: modelNames.map((mn) => ({ name: mn, value: obj(obj(models[mn])[set]).loss as number })) })),
    yLabel: 'held-out loss',
  });
  return (
    `<h3>${esc(name)} <small>held-out loss and perplexity</small></h3>${chart}` +
    `<table class="grid"><thead><tr><th>set</th><th>measure</th>${modelNames.map((m) => `<th>${esc(m)}</th>`).join('')}<th>Δ ${esc(modelNames.filter((m) => m !== 'base').join(', ') || 'adapted')} − base</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    probe +
    (Array.isArray(x.headless) && x.headless.length
      ? `<p class="hint">${esc(x.headless.join(', '))}: no MLM head weights in the checkpoint, so its loss is that of a random head and not comparable.</p>`
      : '') +
    (Object.keys(setInfo).length ? `<p class="hint">${Object.entries(setInfo).map(([s, i]) => `${esc(s)}: ${esc(fmtNum(obj(i).documents))} documents from ${esc(obj(i).source)}`).join('; ')}</p>` : '')
  );
}

/** A seed's value of a metric: seeds are numbers, or objects holding the metric (directly or under `metrics`). */
function seedValue(seed: unknown, metric: string): number | undefined {
  if (isNum(seed)) return seed;
  const s = obj(seed);
  const v = s[metric] ?? obj(s.metrics)[metric];
  return isNum(v) ? v : undefined;
}

function finetunePart(data: ReportData, name: string): string {
  const x = data.manifests[name].metrics;
  const models = obj(x.models);
  // base first, the rest in the evaluate stage's order (an ablation's arms add one part of the pipeline each)
  const modelNames = Object.keys(models).sort((a, b) => Number(b === 'base') - Number(a === 'base'));
  const metricsOf = (m: Obj) => (isNum(m.mean) ? ['score'] : Object.keys(obj(m.mean)).filter((k) => isNum(obj(m.mean)[k])));
  const primary = typeof x.primary === 'string' ? x.primary : undefined;
  const metrics = [...new Set(modelNames.flatMap((mn) => metricsOf(obj(models[mn]))))].sort((a, b) => Number(b === primary) - Number(a === primary));
  if (!metrics.length) return `<h3>${esc(name)}</h3><p class="absent">No per-model means in the metrics of ${esc(name)}.</p>`;
  const parts = metrics.map((metric) => {
    const rows = modelNames.map((mn) => {
      const m = obj(models[mn]);
      const mean = metric === 'score' && isNum(m.mean) ? m.mean : obj(m.mean)[metric];
      const std = metric === 'score' && isNum(m.std) ? m.std : obj(m.std)[metric];
      const seeds = (Array.isArray(m.seeds) ? m.seeds : []).map((s) => seedValue(s, metric)).filter(isNum);
      return { label: mn, mean: isNum(mean) ? mean : undefined, std: isNum(std) ? std : undefined, values: seeds };
    });
    const table = rows
      .map((r) => `<tr><th>${esc(r.label)}</th>${numCell(`eval.${name}.${r.label}.mean.${metric}`, r.mean)}${numCell(`eval.${name}.${r.label}.std.${metric}`, r.std)}<td class="num">${esc(r.values.length)}</td><td>${esc(r.values.map((v) => fmtNum(v)).join(', '))}</td></tr>`)
      .join('');
    return (
      `<h4>${esc(metric)}</h4>` +
      stripChart({ id: `seeds-${name}-${metric}`, rows, xLabel: `${metric}: each seed (dot), mean (tick), ± std (line)` }) +
      `<table class="grid"><thead><tr><th>model</th><th>mean</th><th>std</th><th>seeds</th><th>per seed</th></tr></thead><tbody>${table}</tbody></table>`
    );
  });
  const delta = flatNumbers(x.delta);
  const verdict =
    typeof x.improved === 'boolean'
      ? `<p>${esc(x.task ?? 'task')}: the adapted model <b class="${x.improved ? 'better' : 'worse'}" data-key="eval.${esc(name)}.improved">${x.improved ? 'improved' : 'did not improve'}</b> ${esc(primary ?? 'the primary measure')} (${esc(fmtDelta(obj(x.delta)[primary ?? '']))}).</p>`
      : '';
  const ablation = comparisonPart(name, obj(x.comparison), primary);
  const curves = (Array.isArray(x.curves) ? x.curves : []).map(obj).map((c) => ({
    name: `${String(c.model)} seed ${String(c.seed)}`,
    points: (Array.isArray(c.points) ? c.points : []).map(obj).map((p): [number, number] => [p.step as number, p.loss as number]),
  }));
  return (
    `<h3>${esc(name)} <small>fine-tuned task metrics over seeds</small></h3>${verdict}${multiTaskPart(name, x)}${trainingOptions(x)}${ablation}${parts.join('')}` +
    (delta.length ? `<h4>Δ adapted − base</h4>${kvTable(delta, `eval.${name}.delta`)}` : '') +
    (curves.some((c) => c.points.length) ? `<h4>Fine-tuning loss</h4>${lineChart({ id: `finetune-loss-${name}`, series: curves, xLabel: 'step', yLabel: 'loss' })}` : '') +
    (isNum(obj(x.data).test) ? `<p class="hint">${Object.entries(obj(x.data)).map(([k, v]) => `${esc(k)}: ${esc(fmtNum(v))}`).join(', ')} rows</p>` : '')
  );
}

const meanStd = (m: Obj, k: string) => (isNum(obj(m.mean)[k]) ? `${fmtNum(obj(m.mean)[k])} ± ${fmtNum(obj(m.std)[k] ?? 0)}` : '–');

/**
 * Multi-task evaluation: one row per task (base and adapted mean ± std over seeds on the task's primary measure,
 * the difference and its paired interval, the task's share of the training steps), then the macro average.
 */
function multiTaskPart(name: string, x: Obj): string {
  const tasks = obj(x.tasks);
  if (!Object.keys(tasks).length) return '';
  const sampling = obj(x.sampling);
  const share = obj(sampling.proportions);
  const rows = Object.entries(tasks).map(([task, tv]) => {
    const t = obj(tv);
    const primary = String(t.primary ?? 'macroF1');
    const models = obj(t.models);
    const d = obj(obj(obj(t.comparison).adapted)[primary]);
    const verdict = isNum(d.lower) && isNum(d.upper) ? (d.lower > 0 ? 'better' : d.upper < 0 ? 'worse' : '') : '';
    const interval = isNum(d.lower) && isNum(d.upper) ? `[${fmtDelta(d.lower)}, ${fmtDelta(d.upper)}]` : '–';
    const delta = obj(t.delta)[primary];
    return (
      `<tr><th>${esc(task)}</th><td>${esc(t.task)}</td><td>${esc(primary)}</td><td class="num">${esc(meanStd(obj(models.base), primary))}</td>` +
      `<td class="num">${esc(meanStd(obj(models.adapted), primary))}</td><td class="num ${verdict}" data-key="eval.${esc(name)}.tasks.${esc(task)}.delta"${isNum(delta) ? ` data-value="${delta}"` : ''}>${esc(fmtDelta(delta))}</td>` +
      `<td class="num">${esc(interval)}</td><td class="num">${esc(fmtNum(obj(t.data).train))}</td><td class="num">${esc(isNum(share[task]) ? fmtNum(share[task]) : '–')}</td></tr>`
    );
  });
  const models = obj(x.models);
  const avg = obj(x.delta).taskAverage;
  rows.push(
    `<tr><th>macro average</th><td></td><td>taskAverage</td><td class="num">${esc(meanStd(obj(models.base), 'taskAverage'))}</td><td class="num">${esc(meanStd(obj(models.adapted), 'taskAverage'))}</td>` +
      `<td class="num" data-key="eval.${esc(name)}.delta.taskAverage">${esc(fmtDelta(avg))}</td><td></td><td class="num">${esc(fmtNum(obj(x.data).train))}</td><td></td></tr>`,
  );
  const how = sampling.strategy === 'size' ? 'by size (p ∝ rows)' : `by temperature T ${fmtNum(sampling.temperature)} (p ∝ rows^(1/T))`;
  return (
    `<h4>Per task</h4><p>${esc(Object.keys(tasks).length)} tasks on one shared encoder with a head each; a step trained one task, drawn ${esc(how)}. ` +
    `Base vs adapted on every task (mean ± std over seeds; the interval is the paired bootstrap over seeds × test items of that task):</p>` +
    `<table class="grid"><thead><tr><th>task</th><th>kind</th><th>measure</th><th>base</th><th>adapted</th><th>Δ adapted − base</th><th>interval</th><th>train rows</th><th>step share</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

/** A model's mean of `key` in a trainer option's summary ({…config, models: {name: {key: mean}}}), per model. */
function perModel(summary: Obj, key: string): string {
  return Object.entries(obj(summary.models))
    .filter(([, v]) => isNum(obj(v)[key]))
    .map(([m, v]) => `${m} ${fmtNum(obj(v)[key])}`)
    .join(', ');
}

/** One line per training option the evaluate stage used, saying what it did during training (means over steps). */
function trainingOptions(x: Obj): string {
  const lines: string[] = [];
  const adv = obj(x.adversarial);
  if (Object.keys(adv).length) {
    const pgd = adv.method === 'pgd' ? `, ${fmtNum(adv.steps)} steps of ${fmtNum(adv.alpha)}` : '';
    lines.push(
      `Adversarial training (${String(adv.method).toUpperCase()} on the word embeddings, ε ${fmtNum(adv.epsilon)}${pgd}): ` +
        `perturbation length ${perModel(adv, 'perturbationNorm')}; loss at the perturbed embeddings ${perModel(adv, 'adversarialLoss')} ` +
        `against the clean loss ${perModel(adv, 'supervisedLoss')}.`,
    );
  }
  const rdrop = obj(x.rdrop);
  if (Object.keys(rdrop).length) {
    lines.push(`R-Drop (α ${fmtNum(rdrop.alpha)}): symmetric KL between the two dropout passes ${perModel(rdrop, 'rdropKl')}.`);
  }
  const cl = obj(x.contrastive);
  if (Object.keys(cl).length) {
    lines.push(`Contrastive auxiliary loss (SimCSE InfoNCE, weight ${fmtNum(cl.weight)}, τ ${fmtNum(cl.temperature)}): InfoNCE ${perModel(cl, 'contrastiveLoss')}.`);
  }
  const uda = obj(x.uda);
  if (Object.keys(uda).length) {
    lines.push(
      `UDA on ${fmtNum(uda.pairs)} unlabeled pairs (weight ${fmtNum(uda.weight)}, confidence ≥ ${fmtNum(uda.confidenceThreshold)}): ` +
        `share of pairs counted ${perModel(uda, 'maskFraction')}; consistency loss ${perModel(uda, 'consistencyLoss')}.`,
    );
  }
  const noise = obj(x.noise);
  if (isNum(noise.count)) lines.push(`Confident learning flagged ${fmtNum(noise.count)} train rows as likely mislabeled (${String(noise.action)}).`);
  return lines.map((l) => `<p class="hint">${esc(l)}</p>`).join('') + labelReviewPart(obj(x.labelReview));
}

const REVIEW_ROWS = 25;

/** The label review's suspects (rows labeled unlike their embedding cluster) as a table for a person. */
function labelReviewPart(r: Obj): string {
  if (!isNum(r.flagged)) return '';
  const suspects = (Array.isArray(r.suspects) ? r.suspects : []).map(obj);
  const mixed = (Array.isArray(r.mixed) ? r.mixed : []).map(obj);
  const rows = suspects
    .slice(0, REVIEW_ROWS)
    .map((s) => `<tr><td class="num">${esc(s.row)}</td><td>${esc(s.label)}</td><td>${esc(s.majority)} (${esc(fmtNum(s.share))} of ${esc(s.size)})</td><td>${esc(s.text)}</td></tr>`)
    .join('');
  return (
    `<h4>Label review</h4><p>${esc(fmtNum(r.flagged))} train rows carry another label than the majority of their embedding cluster ` +
    `(${esc(fmtNum(r.clusters))} clusters by ${esc(r.model)}, majority ≥ ${esc(fmtNum(r.purity))}); ${esc(mixed.length)} clusters are mixed. Nothing was changed: check them by hand.</p>` +
    (rows
      ? `<table class="grid"><thead><tr><th>row</th><th>label</th><th>cluster majority</th><th>text</th></tr></thead><tbody>${rows}</tbody></table>` +
        (suspects.length > REVIEW_ROWS ? `<p class="hint">the first ${REVIEW_ROWS} of ${suspects.length}; all are in metrics.json (labelReview.suspects)</p>` : '')
      : '')
  );
}

/**
 * Every model against the base on the primary measure, with its interval (the trainer's paired bootstrap over
 * seeds × test items): one chart for however many arms the evaluation has, and a sentence on whether the
 * adapted model's interval excludes 0.
 */
function comparisonPart(name: string, comparison: Obj, primary: string | undefined): string {
  const rows = Object.keys(comparison)
    .map((arm) => ({ arm, d: obj(obj(comparison[arm])[primary ?? '']) }))
    .filter(({ d }) => isNum(d.difference) && isNum(d.lower) && isNum(d.upper))
    .map(({ arm, d }) => ({ label: arm, difference: d.difference as number, lower: d.lower as number, upper: d.upper as number, confidence: d.confidence, seeds: d.seeds, items: d.items }));
  if (!rows.length) return '';
  const first = rows[0];
  const pct = isNum(first.confidence) ? `${fmtNum(first.confidence * 100)}%` : 'the';
  const a = rows.find((r) => r.label === 'adapted');
  const verdict = a
    ? `<p data-key="eval.${esc(name)}.interval">Δ ${esc(primary ?? '')} adapted − base ${esc(fmtDelta(a.difference))}, ${esc(pct)} interval [${esc(fmtDelta(a.lower))}, ${esc(fmtDelta(a.upper))}] ` +
      `(paired bootstrap, ${esc(String(first.seeds))} seeds × ${esc(String(first.items))} test items): ` +
      `<b class="${a.lower > 0 ? 'better' : a.upper < 0 ? 'worse' : ''}">${a.lower > 0 ? 'excludes 0, a gain' : a.upper < 0 ? 'excludes 0, a loss' : 'includes 0: not distinguishable from noise'}</b>.</p>`
    : '';
  return verdict + intervalChart({ id: `ablation-${name}`, rows, xLabel: `${primary ?? 'score'}: difference to base (dot) and its ${pct} interval (line)` });
}

/** Nested numbers as [dotted.path, value] rows. */
export function flatNumbers(v: unknown, prefix = ''): [string, unknown][] {
  if (isNum(v)) return [[prefix || 'value', v]];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return [];
  return Object.entries(v).flatMap(([k, x]) => flatNumbers(x, prefix ? `${prefix}.${k}` : k));
}

export const evaluationSection: Section = {
  id: 'evaluation',
  title: 'Base vs adapted',
  render(data: ReportData) {
    const parts = orderedStages(data.view).flatMap((name) => {
      const m = data.manifests[name];
      const kind = data.view.stages[name].kind;
      if (m?.schema === PERPLEXITY_SCHEMA) return [perplexityPart(data, name)];
      if (m?.schema === FINETUNE_SCHEMA) return [finetunePart(data, name)];
      if ((kind === 'perplexity' || kind === 'evaluate') && !m) return [`<h3>${esc(name)}</h3><p class="absent">${esc(name)} has no metrics yet (${esc(data.view.stages[name].state)}).</p>`];
      return [];
    });
    return parts.length ? parts.join('') : notInPipeline('Evaluation (perplexity, evaluate)');
  },
};
