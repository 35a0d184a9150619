/**
 * bench:extract's report: the Markdown tables printed and, with --write-docs, the generated block of the
 * "bench:extract" section of docs/benchmarks.md (the section and its markers are appended when missing; only
 * the block between the markers is rewritten, so other sections and the interpretation stay as written).
 */
import fs from 'node:fs';
import type { Page } from './pages';

export interface Row {
  extractor: string;
  precision: number;
  recall: number;
  f1: number;
  macroF1: number;
  byTemplate: Record<string, number>;
  msMean: number;
  msMedian: number;
  msP95: number;
}

/** One extractor on one Dragnet split: shingle scores on the whole gold file and on its article part. */
export interface RealRow {
  extractor: string;
  split: string;
  pages: number;
  precision: number;
  recall: number;
  f1: number;
  /** F1 and recall against the gold text before its comments section (the article alone). */
  articleF1: number;
  articleRecall: number;
  msMean: number;
  msMedian: number;
  msP95: number;
}

export function renderReal(rows: RealRow[], reps: number, skipped?: string): string {
  if (skipped) return `Real pages (Dragnet): skipped, ${skipped}.`;
  const f = (x: number) => x.toFixed(3);
  return [
    `Real pages (Dragnet ${[...new Set(rows.map((r) => r.split))].join(' and ')} ids; word 4-gram shingles, per-page normalized TP/FP/FN summed over pages; time per page: fastest of ${reps} passes):`,
    '',
    '| extractor | split | pages | precision | recall | F1 | article-only recall | article-only F1 | ms/page mean | median | p95 |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.extractor} | ${r.split} | ${r.pages} | ${f(r.precision)} | ${f(r.recall)} | ${f(r.f1)} | ${f(r.articleRecall)} | ${f(r.articleF1)} | ${r.msMean.toFixed(2)} | ${r.msMedian.toFixed(2)} | ${r.msP95.toFixed(2)} |`),
  ].join('\n');
}

/** `flags`: the command's other options as given (`--real test --baseline REV`), so the recorded command reruns the same thing. */
export function render(rows: Row[], pages: Page[], reps: number, env: string, flags = ''): string {
  const f = (x: number) => x.toFixed(3);
  const templates = Object.keys(rows[0].byTemplate);
  return [
    `- command: \`npm run bench:extract -- --pages ${pages.length} --reps ${reps}${flags}\` (time per page: fastest of ${reps} passes over all pages, after a warm-up pass)`,
    `- date: ${new Date().toISOString()}`,
    `- machine: ${env}`,
    '',
    '| extractor | precision | recall | F1 (micro) | F1 (macro) | ms/page mean | median | p95 | pages/s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.extractor} | ${f(r.precision)} | ${f(r.recall)} | ${f(r.f1)} | ${f(r.macroF1)} | ${r.msMean.toFixed(2)} | ${r.msMedian.toFixed(2)} | ${r.msP95.toFixed(2)} | ${(1000 / r.msMean).toFixed(0)} |`),
    '',
    `Macro F1 per page template (${templates.length} templates, ${pages.length / templates.length} pages each):`,
    '',
    `| extractor | ${templates.join(' | ')} |`,
    `| --- | ${templates.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.extractor} | ${templates.map((t) => f(r.byTemplate[t])).join(' | ')} |`),
  ].join('\n');
}

const SECTION = `## bench:extract

Main-text extraction on generated pages whose main text is known: \`npm run bench:extract\` generates articles
(English prose and Chinese) inside five kinds of boilerplate — a news site (cookie banner, menus, breadcrumbs,
share links, a "read also" box inside the article, most-read list, newsletter box, footer), a blog (sidebar,
tag cloud, comments), a legacy table layout with \`<div>\`/\`<br>\` paragraphs, a portal with ads inside the
article and teaser paragraphs under it, and a Chinese news page — and runs dapt's extractor (Readability over
linkedom with the body fallback, \`activities/stages/html-text.ts\`, what the \`extract\` stage runs) and
trafilatura 2.3.1 (\`trafilatura.extract\`, defaults, in its own venv) on the same pages in the same run.
Scores are bag-of-words precision/recall/F1 against the gold text (body paragraphs and subheadings, not the
title; Chinese per character); times cover the extraction call only: a warm-up pass over all pages, then
\`--reps\` timed passes, each page's fastest time kept.

Real pages: the Dragnet data set (1,381 pages of 2012 with the main text a person marked; read in place from
\`$DAPT_DRAGNET_DIR\` or \`../shared/data/dragnet\`, never copied into the repository; skipped with a note where
absent), its test ids unless \`--real train|both\`, scored as its README prescribes: \`\\w+\` tokens, word
4-gram shingles with counts, per-page TP/FP/FN normalized to sum to 1 and summed over pages. The gold files
hold the article and, after a marker line, the page's user comments; "article-only" scores against the part
before the marker.
`;

export function writeDocs(file: string, block: string): void {
  const [open, close] = ['<!-- bench:extract results: generated by `npm run bench:extract -- --write-docs docs/benchmarks.md` -->', '<!-- /bench:extract results -->'];
  let doc = fs.readFileSync(file, 'utf8');
  if (!doc.includes(open)) doc = `${doc.trimEnd()}\n\n${SECTION}\n${open}\n${close}\n`;
  const [a, b] = [doc.indexOf(open) + open.length, doc.indexOf(close)];
  fs.writeFileSync(file, `${doc.slice(0, a)}\n\n${block}\n\n${doc.slice(b)}`);
}
