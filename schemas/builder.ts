/**
 * The typed TypeScript builder. `definePipeline` returns the spec unchanged (it is validated like YAML when
 * loaded); its value is the types: `uses` picks the stage kind and `with` autocompletes that kind's params,
 * `needs` only accepts names of stages in the same pipeline.
 */
import type { z } from 'zod';
import type { PipelineSpecInput, StageSpecInput } from './pipeline';
import type { StageKindName, StageParamsInput } from './stages';

type StageCommon = Omit<StageSpecInput, 'uses' | 'with' | 'needs'>;

export type TypedStage<Names extends string> = {
  [K in StageKindName]: StageCommon & { uses: K; with?: StageParamsInput<K>; needs?: Names[] };
}[StageKindName];

export type TypedPipeline<S extends Record<string, unknown>> = Omit<PipelineSpecInput, 'stages'> & {
  stages: { [N in keyof S]: TypedStage<Extract<keyof S, string>> };
};

export function definePipeline<const S extends Record<string, TypedStage<Extract<keyof S, string>>>>(
  spec: Omit<PipelineSpecInput, 'stages'> & { stages: S },
): TypedPipeline<S> {
  return spec as TypedPipeline<S>;
}

export type { z };
