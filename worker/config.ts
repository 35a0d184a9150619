/**
 * Where dapt finds its servers: flags > environment > local defaults (the `dapt dev up` stack). Credentials
 * come from the environment, never from pipeline files.
 */
import type { StoreConfig } from '../activities/store';

export interface DaptConfig {
  temporal: { address: string; namespace: string };
  store: StoreConfig;
  /** Prepended to every task queue name (isolates teams or tests sharing one Temporal namespace). */
  queuePrefix: string;
  /** Register the DaptPipeline search attribute on runs (the dev server and `dapt dev up` define it). */
  searchAttributes: boolean;
  uiUrl: string;
  consoleUrl: string;
}

/** The task queue of pipeline workflows and the engine's bookkeeping activities. */
export const WORKFLOW_QUEUE = 'pipelines';
export const DEFAULT_BUCKET = 'dapt';
export const DEV_CREDENTIALS = { accessKey: 'dapt', secretKey: 'dapt-dev-secret' };

export function loadConfig(overrides: Partial<DaptConfig> = {}, env: NodeJS.ProcessEnv = process.env): DaptConfig {
  const base: DaptConfig = {
    temporal: {
      address: env.DAPT_TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
      namespace: env.DAPT_NAMESPACE ?? 'default',
    },
    store: {
      endpoint: env.DAPT_S3_ENDPOINT ?? 'http://127.0.0.1:9000',
      accessKey: env.DAPT_S3_ACCESS_KEY ?? DEV_CREDENTIALS.accessKey,
      secretKey: env.DAPT_S3_SECRET_KEY ?? DEV_CREDENTIALS.secretKey,
      bucket: env.DAPT_BUCKET ?? DEFAULT_BUCKET,
      prefix: env.DAPT_S3_PREFIX ?? '',
    },
    queuePrefix: env.DAPT_QUEUE_PREFIX ?? '',
    searchAttributes: (env.DAPT_SEARCH_ATTRIBUTES ?? '1') !== '0',
    uiUrl: env.DAPT_UI_URL ?? 'http://127.0.0.1:8233',
    consoleUrl: env.DAPT_CONSOLE_URL ?? 'http://127.0.0.1:9001',
  };
  return {
    ...base,
    ...overrides,
    temporal: { ...base.temporal, ...overrides.temporal },
    store: { ...base.store, ...overrides.store },
  };
}

export function workflowQueue(cfg: Pick<DaptConfig, 'queuePrefix'>): string {
  return cfg.queuePrefix + WORKFLOW_QUEUE;
}

/** The environment that makes another dapt process (a worker, the CLI) use this configuration. */
export function configEnv(cfg: DaptConfig): Record<string, string> {
  return {
    DAPT_TEMPORAL_ADDRESS: cfg.temporal.address,
    DAPT_NAMESPACE: cfg.temporal.namespace,
    DAPT_S3_ENDPOINT: cfg.store.endpoint,
    DAPT_S3_ACCESS_KEY: cfg.store.accessKey,
    DAPT_S3_SECRET_KEY: cfg.store.secretKey,
    DAPT_BUCKET: cfg.store.bucket,
    DAPT_S3_PREFIX: cfg.store.prefix ?? '',
    DAPT_QUEUE_PREFIX: cfg.queuePrefix,
    DAPT_SEARCH_ATTRIBUTES: cfg.searchAttributes ? '1' : '0',
    DAPT_UI_URL: cfg.uiUrl,
  };
}
