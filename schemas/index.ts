/** dapt's schemas: the pipeline spec, stage kinds and their params, plans, manifests. One source of truth. */
export * from './common';
export * from './issues';
export * from './pipeline';
export * from './stages';
export * from './plan';
export * from './manifest';
export * from './load';
export * from './builder';
export { canonicalJson } from './canonical';
export { pipelineJsonSchema } from './json-schema';
export * from './run';
export * from './trainer';
