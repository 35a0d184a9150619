/** The workflows a dapt worker hosts. Deterministic code only: no I/O, no Node built-ins (enforced by lint). */
export { pipelineWorkflow } from './pipeline';
export { fanoutBatchWorkflow } from './fanout';
export * from './definitions';
