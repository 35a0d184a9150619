/** Training curves: each pretrain stage's loss by step (from its model's metrics.json) and its summary numbers. */
import { withCurrentMetricNames } from '../../../model-stage/metric-names';
import { stagesOfKind, thin, type ReportData } from '../gather';
import { esc, fmtNum, kvTable, notInPipeline } from '../html';
import { lineChart } from '../svg';
import { ngramAdapterLine } from './ngram-adapter';
import type { Section } from './types';

const SUMMARY = ['train.steps', 'train.finalLoss', 'train.firstLoss', 'train.minLoss', 'train.firstContrastiveLoss', 'train.finalContrastiveLoss', 'train.tokens', 'tokensPerSec', 'attempt', 'resumedFromStep', 'checkpointsUploaded', 'trainDocs', 'heldoutDocs', 'generalHeldoutDocs', 'replayDocs', 'objective', 'seqLen'];

/** What contrastive pretraining did, when it was on: its setting and the InfoNCE term at the first and last log. */
function contrastiveLine(x: Record<string, unknown>): string {
  const cl = x.contrastive;
  if (typeof cl !== 'object' || cl === null) return '';
  const c = cl as Record<string, unknown>;
  return (
    `<p>Contrastive pretraining (SimCSE InfoNCE between two dropout views, ${esc(c.pooling)} pooling, weight ${fmtNum(c.weight)}, τ ${fmtNum(c.temperature)}): ` +
    `InfoNCE ${fmtNum(x['train.firstContrastiveLoss'])} at the first log → ${fmtNum(x['train.finalContrastiveLoss'])} at the last. ` +
    'The training loss above includes weight × InfoNCE; the held-out eval.* losses are MLM alone (the perplexity stage compares them with the base).</p>'
  );
}

function stagePart(data: ReportData, name: string): string {
  const m = data.manifests[name];
  if (!m) return `<h3>${esc(name)}</h3><p class="absent">${esc(name)} has no model yet (${esc(data.view.stages[name].state)}).</p>`;
  const x = withCurrentMetricNames(m.metrics); // a run recorded under the old names reads the same
  const curve = data.training[name]?.lossCurve ?? [];
  const shown = thin(curve, data.maxCurvePoints);
  const evals = Object.keys(x).filter((k) => k.startsWith('eval.')).sort();
  return (
    `<h3>${esc(name)}</h3>` +
    (shown.length
      ? lineChart({ id: `loss-${name}`, series: [{ name: 'training loss', points: shown }], xLabel: 'step', yLabel: 'loss' }) +
        (shown.length < curve.length ? `<p class="hint">${curve.length} logged points, ${shown.length} drawn.</p>` : '')
      : '<p class="absent">No loss curve was logged (metrics.json without lossCurve).</p>') +
    `<div class="cols">${kvTable(SUMMARY.filter((k) => k in x).map((k) => [k, x[k]]), `train.${name}`)}` +
    (evals.length ? kvTable(evals.map((k) => [k, x[k]]), `train.${name}`) : '') +
    `</div>` +
    contrastiveLine(x) +
    ngramAdapterLine(x)
  );
}

export const trainingSection: Section = {
  id: 'training',
  title: 'Training',
  render(data: ReportData) {
    const names = stagesOfKind(data, 'pretrain');
    if (!names.length) return notInPipeline('Continued pretraining (pretrain)');
    return names.map((n) => stagePart(data, n)).join('');
  },
};
