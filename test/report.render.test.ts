/**
 * The report renderer's pure parts, without servers: escaping, curve thinning, tick choice, and a failed run's
 * page (states, the failure text escaped, absent sections). The page in a browser is test/report.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderReport, type ReportData } from '../activities/stages/report/run';
import { thin } from '../activities/stages/report/gather';
import { esc, fmtDuration, fmtNum } from '../activities/stages/report/html';
import { intervalChart, lineChart, niceTicks } from '../activities/stages/report/svg';
import type { RunView } from '../schemas/run';

test('esc: every character that could open markup or close an attribute', () => {
  assert.equal(esc(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  assert.equal(esc(undefined), '');
});

test('numbers and durations read as people write them', () => {
  assert.equal(fmtNum(1234567), '1,234,567');
  assert.equal(fmtNum(3.14159), '3.142');
  assert.equal(fmtNum(0.000123456), '0.0001235');
  assert.equal(fmtNum(null), '—');
  assert.equal(fmtDuration(850), '850 ms');
  assert.equal(fmtDuration(65_000), '1 min 05 s');
});

test('thin keeps the first and last point and at most max points, evenly', () => {
  const pts = Array.from({ length: 1001 }, (_, i) => i);
  const t = thin(pts, 11);
  assert.deepEqual(t, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  assert.equal(thin(pts.slice(0, 5), 11).length, 5);
});

test('niceTicks: round steps covering the range', () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(4.3, 5.7), [4.5, 5, 5.5]); // step 0.5: the first round step at least (max − min) / count
  assert.deepEqual(niceTicks(3, 3), [3]);
});

test('lineChart: one vertex per point; nothing to draw draws nothing', () => {
  const svg = lineChart({ id: 'c', series: [{ name: 'loss', points: [[1, 3], [2, 2], [3, 1.5]] }], xLabel: 'step', yLabel: 'loss' });
  const d = /<path class="series s0" data-series="loss" data-points="3" d="([^"]+)"/.exec(svg);
  assert.ok(d, svg);
  assert.equal(d[1].match(/[ML]/g)?.length, 3);
  assert.equal(lineChart({ id: 'c', series: [{ name: 'loss', points: [] }], xLabel: 'step', yLabel: 'loss' }), '');
});

test('a failed run: states per stage, the failure escaped, skipped dependents, absent sections', () => {
  const view: RunView = {
    pipeline: 'p',
    runId: 'r1',
    planHash: 'a'.repeat(64),
    state: 'failed',
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:01:00.000Z',
    stages: {
      crawl: { kind: 'crawl', needs: [], produces: 'documents', state: 'failed', attempt: 3, startedAt: '2026-01-01T00:00:01.000Z', endedAt: '2026-01-01T00:00:59.000Z', error: 'HTTP <500> & "boom"' },
      dedupe: { kind: 'dedupe', needs: ['crawl'], produces: 'documents', state: 'skipped', attempt: 0, reason: 'needs did not succeed: crawl' },
    },
  };
  const data: ReportData = { title: 'T', view, manifests: {}, training: {}, generatedAt: '2026-01-01T00:02:00.000Z', maxCurvePoints: 100, problems: [] };
  const html = renderReport(data);
  assert.match(html, /HTTP &lt;500&gt; &amp; &quot;boom&quot;/);
  assert.doesNotMatch(html, /<500>/);
  assert.match(html, /data-stage="crawl" data-state="failed"/);
  assert.match(html, /data-key="stage.crawl.attempt" data-value="3"/);
  assert.match(html, /needs did not succeed: crawl/);
  for (const id of ['funnel', 'vocab', 'longtail', 'training', 'evaluation', 'promotion']) {
    const section = new RegExp(`<section id="${id}"[^>]*>.*?</section>`, 's').exec(html)?.[0] ?? '';
    assert.match(section, /not in this pipeline/, id);
  }
});

test('intervalChart: a dot at the difference, a whisker over the interval, a class for the side of 0', () => {
  const svg = intervalChart({
    id: 'a',
    rows: [
      { label: 'adapted', difference: 0.05, lower: 0.01, upper: 0.09 },
      { label: 'general-cpt', difference: 0.01, lower: -0.03, upper: 0.05 },
    ],
    xLabel: 'macroF1',
  });
  assert.match(svg, /<line class="whisker better"[^>]* data-lower="0.01" data-upper="0.09"\/><circle class="seed better"[^>]* data-value="0.05"/);
  assert.match(svg, /<line class="whisker neutral"[^>]* data-lower="-0.03" data-upper="0.05"\/>/);
  assert.equal(intervalChart({ id: 'a', rows: [], xLabel: 'x' }), '');
});

test('evaluation and promotion: the interval of adapted − base as a chart and a sentence; which bound decided', () => {
  const stage = (kind: string, produces: string) => ({ kind, needs: [], produces, state: 'succeeded', attempt: 1 }) as RunView['stages'][string];
  const view: RunView = {
    pipeline: 'p',
    runId: 'r2',
    planHash: 'b'.repeat(64),
    state: 'succeeded',
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:01:00.000Z',
    stages: { evaluate: stage('evaluate', 'metrics'), promote: stage('promote', 'promotion') },
  };
  const manifest = (kind: string, schema: string, metrics: Record<string, unknown>) => ({ kind, schema, digest: 'd', files: [], producer: {}, parents: [], metrics }) as unknown as ReportData['manifests'][string];
  const interval = { difference: 0.031, lower: -0.012, upper: 0.074, confidence: 0.95, seeds: 5, items: 400 };
  const data: ReportData = {
    title: 'T',
    view,
    manifests: {
      evaluate: manifest('metrics', 'finetune-metrics/v1', {
        task: 'classification',
        primary: 'macroF1',
        improved: true,
        delta: { macroF1: 0.031 },
        models: {
          base: { mean: { macroF1: 0.5 }, std: { macroF1: 0.02 }, seeds: [] },
          adapted: { mean: { macroF1: 0.531 }, std: { macroF1: 0.02 }, seeds: [] },
          'adapted+pl': { mean: { macroF1: 0.54 }, std: { macroF1: 0.02 }, seeds: [] },
        },
        comparison: { adapted: { macroF1: interval }, 'adapted+pl': { macroF1: { ...interval, difference: 0.04 } } },
        adversarial: { method: 'fgm', epsilon: 1, models: { base: { perturbationNorm: 1, adversarialLoss: 0.9, supervisedLoss: 0.7 } } },
        rdrop: { alpha: 1, models: { base: { rdropKl: 0.012 } } },
        labelReview: {
          model: 'base',
          clusters: 8,
          purity: 0.6,
          flagged: 1,
          suspects: [{ row: 17, label: 'games', majority: 'sound', share: 0.9, size: 10, cluster: 2, text: 'an audio <mixer>' }],
          mixed: [],
        },
      }),
      promote: manifest('promotion', 'promotion/v1', {
        decision: 'rejected-margin',
        metric: 'evaluate.models.adapted.mean.macroF1',
        margin: 0,
        improvement: 0.031,
        decidedBy: 'lower-bound',
        interval: { from: 'evaluate.comparison.adapted.macroF1', lower: -0.012, upper: 0.074, confidence: 0.95, seeds: 5, items: 400 },
      }),
    },
    training: {},
    generatedAt: '2026-01-01T00:02:00.000Z',
    maxCurvePoints: 100,
    problems: [],
  };
  const html = renderReport(data);
  assert.match(html, /data-key="eval\.evaluate\.interval">Δ macroF1 adapted − base \+0\.031, 95% interval \[−0\.012, \+0\.074\]/);
  assert.match(html, /includes 0: not distinguishable from noise/);
  assert.match(html, /data-chart="ablation-evaluate"/);
  // the arms in the evaluate stage's order, base first; what each training option did
  const at = (key: string) => html.indexOf(`data-key="eval.evaluate.${key}.mean.macroF1"`);
  assert.ok(at('base') >= 0 && at('base') < at('adapted') && at('adapted') < at('adapted+pl'), 'arm order');
  assert.match(html, /Adversarial training \(FGM on the word embeddings, ε 1\): perturbation length base 1; loss at the perturbed embeddings base 0\.9 against the clean loss base 0\.7\./);
  assert.match(html, /R-Drop \(α 1\): symmetric KL between the two dropout passes base 0\.012\./);
  assert.match(html, /1 train rows carry another label than the majority of their embedding cluster \(8 clusters by base/);
  assert.match(html, /<td class="num">17<\/td><td>games<\/td><td>sound \(0\.9 of 10\)<\/td><td>an audio &lt;mixer&gt;<\/td>/);
  assert.match(html, /data-key="promotion\.promote\.decidedBy">Decided by the <b>lower bound<\/b> -0\.012 of the 95% interval/);
});
