/**
 * Fetching as a guest: every request takes a slot at the per-host gate, and a request answered with 408, 429
 * or a 5xx (501 aside), or failing with a timeout or a network error, is tried again up to `maxRetries` times
 * after an exponential backoff with jitter. A Retry-After (seconds or an HTTP date) pauses the whole host and
 * lengthens the wait; one asking for more than `maxRetryAfterSecs` is not waited for.
 */
import type { StageParams } from '../../../schemas/stages';
import { FetchError, type Fetcher, type FetchOptions, type FetchResult } from './fetch';
import type { HostGate } from './host-gate';
import { isBlockedTarget } from './network-guard';

type Params = Pick<StageParams<'crawl'>, 'maxRetries' | 'retryBackoffMs' | 'maxRetryAfterSecs'>;

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501);
}

function isRetryableError(e: unknown): boolean {
  if (isBlockedTarget(e)) return false;
  if (e instanceof FetchError) return e.retryable;
  return (e as NodeJS.ErrnoException).code !== 'ENOTFOUND';
}

/** Milliseconds asked for by a Retry-After header, if it has a usable value. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class PoliteClient {
  retries = 0;

  constructor(
    private readonly fetcher: Fetcher,
    private readonly gate: HostGate,
    private readonly params: Params,
    private readonly signal: AbortSignal,
  ) {}

  /**
   * The last response (possibly a retryable status once the retries are spent); throws the last error. Resolves
   * undefined when the crawl was cancelled while waiting to retry.
   */
  async get(url: string, o: FetchOptions): Promise<FetchResult | undefined> {
    const host = new URL(url).host;
    for (let attempt = 0; ; attempt++) {
      let wait = this.params.retryBackoffMs * 2 ** attempt * (0.8 + Math.random() * 0.4);
      const release = await this.gate.enter(host);
      try {
        const res = await this.fetcher.get(url, o);
        if (!isRetryableStatus(res.status) || attempt >= this.params.maxRetries) return res;
        const asked = retryAfterMs(res.headers['retry-after']);
        if (asked !== undefined) {
          if (asked > this.params.maxRetryAfterSecs * 1000) return res;
          this.gate.pause(host, asked);
          wait = Math.max(wait, asked);
        }
      } catch (e) {
        if (!isRetryableError(e) || attempt >= this.params.maxRetries) throw e;
      } finally {
        release();
      }
      this.retries++;
      if (!(await sleep(wait, this.signal))) return undefined;
    }
  }
}

/** False when the signal fired first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
