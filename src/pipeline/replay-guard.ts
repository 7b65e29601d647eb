/** What the first copy of a body was stored as. */
export interface FirstCopy {
  readonly deliveryId: string;
  readonly ticketId: string;
}

export interface ReplayGuardOptions {
  /** How long a stored body is remembered; at least the connectors' freshness window, both ways. */
  readonly windowMs: number;
  /** Most bodies remembered; past it the oldest is forgotten first. */
  readonly maxEntries: number;
}

interface Entry extends FirstCopy {
  readonly expiresAt: number;
}

/**
 * Remembers the authenticated bodies ingress has stored, by connector and SHA-256 of the exact
 * bytes, for the freshness window. Jira signs the body but not `X-Atlassian-Webhook-Identifier`, so
 * a captured delivery replayed inside the window with a fresh id passes `verify`; this makes the
 * copy cost no Kafka write and so no source fetch. Memory is bounded by `maxEntries` (a key and a
 * few fields each); entries leave in insertion order, which is expiry order.
 *
 * A body is remembered only once it is stored. A copy arriving while the first is still being
 * written waits for that write: stored, the copy is a duplicate; failed (503), the copy is written
 * in its own right. Only one write of a body is ever in flight.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<FirstCopy | undefined>>();

  constructor(private readonly options: ReplayGuardOptions) {}

  /** Bodies remembered (some may have expired and not been dropped yet). */
  get size(): number {
    return this.seen.size;
  }

  /**
   * Writes a body not stored inside the window; a copy of one that is (or is being) stored is not
   * written again and gets the first copy's ids instead.
   */
  async once<T>(key: string, first: FirstCopy, nowMs: number, write: () => Promise<T>): Promise<{ duplicateOf: FirstCopy } | { written: T }> {
    for (;;) {
      // Synchronous from the look-up to `storing`, which marks the write in flight: a copy that
      // looks after this sees it.
      const entry = this.seen.get(key);
      if (entry !== undefined && entry.expiresAt > nowMs) return { duplicateOf: entry };
      const inFlight = this.pending.get(key);
      if (inFlight === undefined) return { written: await this.storing(key, first, nowMs, write) };
      const prior = await inFlight;
      if (prior !== undefined) return { duplicateOf: prior };
      // That write failed: look again, since another waiting copy may have started its own.
    }
  }

  /**
   * Runs the write of a first copy; while it runs, copies of the same body wait for it (`once`).
   * Remembers the body when the write succeeds.
   */
  private async storing<T>(key: string, first: FirstCopy, nowMs: number, write: () => Promise<T>): Promise<T> {
    let settle: (value: FirstCopy | undefined) => void = () => undefined;
    this.pending.set(key, new Promise((resolve) => (settle = resolve)));
    try {
      const result = await write();
      this.remember(key, first, nowMs);
      settle(first);
      return result;
    } catch (error) {
      settle(undefined);
      throw error;
    } finally {
      this.pending.delete(key);
    }
  }

  private remember(key: string, first: FirstCopy, nowMs: number): void {
    this.seen.delete(key);
    // Oldest first: drop what has expired, then, when still full, the oldest that has not.
    for (const [k, e] of this.seen) {
      if (e.expiresAt > nowMs && this.seen.size < this.options.maxEntries) break;
      this.seen.delete(k);
    }
    this.seen.set(key, { ...first, expiresAt: nowMs + this.options.windowMs });
  }
}
