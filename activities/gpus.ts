/**
 * GPUs this process may use (CUDA_VISIBLE_DEVICES if set, else the NVIDIA device nodes) and the pool a GPU
 * worker hands them out from: each training attempt leases whole GPUs and runs with CUDA_VISIBLE_DEVICES set to
 * exactly those, so two activities on one machine never share a device.
 */
import fs from 'node:fs';

/** The device ids as CUDA_VISIBLE_DEVICES names them (indices or UUIDs), in order. */
export function visibleGpuIds(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = env.CUDA_VISIBLE_DEVICES;
  if (list !== undefined) {
    const ids = list.split(',').map((s) => s.trim()).filter(Boolean);
    // CUDA stops at the first invalid entry; "-1" is the conventional "no GPU".
    const stop = ids.findIndex((id) => id.startsWith('-'));
    return stop < 0 ? ids : ids.slice(0, stop);
  }
  try {
    return fs
      .readdirSync('/dev')
      .flatMap((n) => /^nvidia(\d+)$/.exec(n)?.[1] ?? [])
      .sort((a, b) => Number(a) - Number(b));
  } catch {
    return [];
  }
}

export function visibleGpus(): number {
  return visibleGpuIds().length;
}

export interface GpuLease {
  ids: string[];
  release(): void;
}

/** Whole GPUs, leased first come first served; a request waits until enough are free. */
export class GpuPool {
  private readonly free: string[];
  private readonly waiting: { n: number; grant: (ids: string[]) => void }[] = [];

  constructor(readonly ids: readonly string[]) {
    this.free = [...ids];
  }

  get total(): number {
    return this.ids.length;
  }

  get leased(): number {
    return this.ids.length - this.free.length;
  }

  /** Lease `n` GPUs; rejects when the signal aborts while waiting, or when the pool can never hold `n`. */
  acquire(n: number, signal?: AbortSignal): Promise<GpuLease> {
    if (n > this.ids.length) {
      return Promise.reject(new Error(`the stage needs ${n} GPU(s) but this worker has ${this.ids.length} (${this.ids.join(',') || 'none'})`));
    }
    const lease = (ids: string[]): GpuLease => {
      let released = false;
      return {
        ids,
        release: () => {
          if (released) return;
          released = true;
          this.free.push(...ids);
          this.free.sort((a, b) => this.ids.indexOf(a) - this.ids.indexOf(b));
          this.drain();
        },
      };
    };
    // FIFO: a large request is not starved by small ones arriving after it.
    if (!this.waiting.length && this.free.length >= n) return Promise.resolve(lease(this.free.splice(0, n)));
    return new Promise<GpuLease>((resolve, reject) => {
      const entry = {
        n,
        grant: (ids: string[]) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(lease(ids));
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason ?? new Error('aborted'));
        this.drain();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  private drain(): void {
    while (this.waiting.length && this.free.length >= this.waiting[0].n) {
      const w = this.waiting.shift()!;
      w.grant(this.free.splice(0, w.n));
    }
  }
}
