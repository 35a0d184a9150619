/**
 * The `report` stage: one self-contained HTML page about its run (report.html), built from the run view the
 * workflow hands it (the DAG and the states of the stages so far) and the manifests in the store. The same
 * gathering and rendering serve `dapt report RUN --render` for a finished run.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StageParams } from '../../../schemas/stages';
import { ConfigError } from '../../errors';
import type { StageContext, StageImpl } from '../types';
import { gatherReport } from './gather';
import { SECTIONS, renderReport } from './page';

export { gatherReport, type ReportData } from './gather';
export { renderReport } from './page';

type Params = StageParams<'report'>;

export const REPORT_SCHEMA = 'report-html/v1';
export const REPORT_FILE = 'report.html';

export const reportStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    if (!ctx.runView) throw new ConfigError('report: no run view was passed to this stage (it runs inside a pipeline run, whose workflow provides it)');
    ctx.progress({ message: 'reading the manifests of the run' });
    const data = await gatherReport(ctx.store, ctx.runView, {
      title: ctx.params.title,
      renderedBy: ctx.stage,
      maxCurvePoints: ctx.params.maxCurvePoints,
      known: ctx.inputs.map((i) => i.manifest),
    });
    const html = renderReport(data);
    const file = path.join(ctx.workDir, REPORT_FILE);
    fs.writeFileSync(file, html);
    const covered = Object.keys(data.manifests);
    ctx.log(`report: ${covered.length} stage outputs, ${Buffer.byteLength(html)} bytes${data.problems.length ? `; ${data.problems.length} unreadable` : ''}`);
    return {
      files: [await ctx.store.putFile(file, REPORT_FILE)],
      schema: REPORT_SCHEMA,
      metrics: { bytes: Buffer.byteLength(html), stages: covered.sort(), sections: SECTIONS.map((s) => s.id), problems: data.problems },
    };
  },
};
