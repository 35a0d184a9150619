/**
 * JSON Schema for pipeline files, generated from the zod schemas: `stages.*` is a union over the stage kinds,
 * each with its own `with`, so editors autocomplete and check every stage's params.
 */
import { z } from 'zod';
import { PipelineSpec, StageSpec } from './pipeline';
import { stageKinds } from './stages';

export function pipelineJsonSchema(): Record<string, unknown> {
  const perKind = Object.entries(stageKinds).map(([name, k]) =>
    StageSpec.extend({ uses: z.literal(name), with: (k.params as z.ZodObject).optional() }).describe(k.description),
  );
  const typed = PipelineSpec.extend({
    stages: z.record(z.string(), z.discriminatedUnion('uses', perKind as unknown as [z.ZodObject, ...z.ZodObject[]])),
  });
  const schema = z.toJSONSchema(typed, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://dapt.dev/schemas/pipeline.json', title: 'dapt pipeline' };
}
