/**
 * Politeness per host: at most `limit` requests in flight and request starts spaced `delayMs` apart. Crawlee's
 * own `sameDomainDelaySecs` keys on the registered domain (and skips IP hosts), and its concurrency is global,
 * hence this small gate.
 *
 * Entries are keyed by a token (one crawling context per attempt), and `leave` may be called before `enter`
 * has finished — a request can time out while it still waits here — so a late slot is handed back at once.
 */

interface HostState {
  active: number;
  nextStart: number;
  waiters: (() => void)[];
}

interface Slot {
  host: string;
  held: boolean;
  left: boolean;
}

export class HostGate {
  private readonly hosts = new Map<string, HostState>();
  private readonly slots = new WeakMap<object, Slot>();

  constructor(
    private readonly limit: number,
    private readonly delayMs: number,
  ) {}

  async enter(token: object, host: string): Promise<void> {
    const slot: Slot = { host, held: false, left: false };
    this.slots.set(token, slot);
    const h = this.state(host);
    while (h.active >= this.limit) await new Promise<void>((wake) => h.waiters.push(wake));
    h.active++;
    slot.held = true;
    const now = Date.now();
    const wait = h.nextStart - now;
    h.nextStart = Math.max(now, h.nextStart) + this.delayMs;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (slot.left) this.release(slot);
  }

  /** Idempotent; safe for tokens that never entered. */
  leave(token: object): void {
    const slot = this.slots.get(token);
    if (!slot) return;
    slot.left = true;
    this.release(slot);
  }

  private release(slot: Slot): void {
    if (!slot.held) return;
    slot.held = false;
    const h = this.state(slot.host);
    h.active--;
    h.waiters.shift()?.();
  }

  private state(host: string): HostState {
    let h = this.hosts.get(host);
    if (!h) {
      h = { active: 0, nextStart: 0, waiters: [] };
      this.hosts.set(host, h);
    }
    return h;
  }
}
