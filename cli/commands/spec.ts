/** dapt validate | schema */
import { loadPlan, pipelineJsonSchema } from '../../schemas';
import { trainerJsonSchema } from '../../schemas/trainer';
import { parseSets } from '../context';
import { levelsText } from '../render';

export async function validateCommand(file: string, opts: { set?: string[]; json?: boolean }): Promise<void> {
  const plan = await loadPlan(file, { overrides: parseSets(opts.set ?? []) });
  console.log(opts.json ? JSON.stringify(plan, null, 2) : `${file}: valid\n${levelsText(plan)}`);
}

export function schemaCommand(opts: { trainer?: boolean } = {}): void {
  console.log(JSON.stringify(opts.trainer ? trainerJsonSchema() : pipelineJsonSchema(), null, 2));
}
