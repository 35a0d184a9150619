/** dapt validate | schema, and the plan of a pipeline file as validate, run and schedule create read it. */
import { formatIssues, loadPlanWithWarnings, pipelineJsonSchema, type Plan } from '../../schemas';
import { trainerJsonSchema } from '../../schemas/trainer';
import { trainerEventsJsonSchema } from '../../schemas/trainer-events';
import { parseSets } from '../context';
import { levelsText } from '../render';

export interface PlanFileOptions {
  set?: string[];
  /** commander's --no-check-paths */
  checkPaths?: boolean;
}

export const CHECK_PATHS_HELP = 'do not check that local files named by the pipeline exist here (when only the workers hold them)';

/** Compiles the file, or throws SpecError with every problem; warnings (a plan near Temporal's size limit) go to stderr. */
export async function planFromFile(file: string, opts: PlanFileOptions): Promise<Plan> {
  const { plan, warnings } = await loadPlanWithWarnings(file, { overrides: parseSets(opts.set ?? []), checkPaths: opts.checkPaths !== false });
  if (warnings.length) console.error(formatIssues(file, warnings));
  return plan;
}

export async function validateCommand(file: string, opts: PlanFileOptions & { json?: boolean }): Promise<void> {
  const plan = await planFromFile(file, opts);
  console.log(opts.json ? JSON.stringify(plan, null, 2) : `${file}: valid\n${levelsText(plan)}`);
}

export function schemaCommand(opts: { trainer?: boolean; trainerEvents?: boolean } = {}): void {
  const schema = opts.trainerEvents ? trainerEventsJsonSchema() : opts.trainer ? trainerJsonSchema() : pipelineJsonSchema();
  console.log(JSON.stringify(schema, null, 2));
}
