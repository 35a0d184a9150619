/**
 * dapt's error vocabulary. Each class says whether a retry can help; the activity runtime maps them onto
 * Temporal failures (non-retryable ones stop the stage's retries at once).
 */

/** The stage's configuration cannot work (bad params, missing file named in the spec): retrying will not help. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly retryable = false;
}

/** The stage's input data is broken in a way a retry cannot fix (corrupt shard, wrong record schema). */
export class InputError extends Error {
  override name = 'InputError';
  readonly retryable = false;
}

/** A dependency is down or slow (store, remote site): retry with backoff. */
export class TransientError extends Error {
  override name = 'TransientError';
  readonly retryable = true;
}

/**
 * The error names the workflow's retry policy never retries (nonRetryableErrorTypes): a second line behind each
 * error's own `retryable`, for failures that reach Temporal without going through the runtime's classification.
 */
export const NON_RETRYABLE_TYPES: readonly string[] = ['ConfigError', 'InputError'];

export function isNonRetryable(e: unknown): boolean {
  return e instanceof Error && (e as { retryable?: boolean }).retryable === false;
}
