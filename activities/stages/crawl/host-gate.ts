/**
 * Politeness per host: at most `limit` requests in flight, request starts spaced by the host's delay (the
 * stage's `delayMs`, raised by a robots.txt Crawl-delay), and a pause when the host asked for one (Retry-After
 * on a 429 or 503). `enter` resolves with the function that gives the slot back.
 */

interface HostState {
  active: number;
  delayMs: number;
  nextStart: number;
  pausedUntil: number;
  waiters: (() => void)[];
}

export class HostGate {
  private readonly hosts = new Map<string, HostState>();

  constructor(
    private readonly limit: number,
    private readonly delayMs: number,
  ) {}

  /** A host's own minimum delay (Crawl-delay); the stage's delay still applies when it is longer. */
  setDelay(host: string, ms: number): void {
    const h = this.state(host);
    h.delayMs = Math.max(this.delayMs, ms);
  }

  /** No request to the host starts in the next `ms` (one already waiting for its turn waits longer). */
  pause(host: string, ms: number): void {
    const h = this.state(host);
    h.pausedUntil = Math.max(h.pausedUntil, Date.now() + ms);
  }

  async enter(host: string): Promise<() => void> {
    const h = this.state(host);
    while (h.active >= this.limit) await new Promise<void>((wake) => h.waiters.push(wake));
    h.active++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      h.active--;
      h.waiters.shift()?.();
    };
    // Reserve a start time; a pause that arrives while this request sleeps makes it reserve again.
    for (;;) {
      const now = Date.now();
      const start = Math.max(now, h.nextStart, h.pausedUntil);
      h.nextStart = start + h.delayMs;
      if (start > now) await new Promise((r) => setTimeout(r, start - now));
      if (h.pausedUntil <= Date.now()) return release;
    }
  }

  private state(host: string): HostState {
    let h = this.hosts.get(host);
    if (!h) {
      h = { active: 0, delayMs: this.delayMs, nextStart: 0, pausedUntil: 0, waiters: [] };
      this.hosts.set(host, h);
    }
    return h;
  }
}
