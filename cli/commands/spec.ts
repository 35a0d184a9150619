/** dapt validate | schema */
import { loadPlan, pipelineJsonSchema } from '../../schemas';
import { parseSets } from '../context';
import { levelsText } from '../render';

export async function validateCommand(file: string, opts: { set?: string[]; json?: boolean }): Promise<void> {
  const plan = await loadPlan(file, { overrides: parseSets(opts.set ?? []) });
  console.log(opts.json ? JSON.stringify(plan, null, 2) : `${file}: valid\n${levelsText(plan)}`);
}

export function schemaCommand(): void {
  console.log(JSON.stringify(pipelineJsonSchema(), null, 2));
}
