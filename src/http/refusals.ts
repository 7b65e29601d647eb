import type { Logger } from 'pino';
import type { RefusalLimits } from '../config/http-schema.js';

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * Refusals per connector and client address, as token buckets: each refusal takes a token, tokens
 * come back at `perMinute` up to `burst`. A client whose bucket is empty is answered 429 before its
 * body is read or any signature computed, so a flood of forged deliveries costs little. Accepted
 * deliveries take no token: a source that signs correctly is never limited by this.
 *
 * Refusals are logged once per `logIntervalMs` per connector and address, with a count per reason,
 * never once per request. Memory is bounded by `maxClients` buckets (least recently refused go first).
 */
export class RefusalLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly counts = new Map<string, { connector: string; client: string; byCode: Record<string, number> }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly refillPerMs: number;

  constructor(
    private readonly limits: RefusalLimits,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.refillPerMs = limits.perMinute / 60_000;
  }

  /** Whether a refusal is still allowed for this client: false means answer 429 without further work. */
  admits(connector: string, client: string): boolean {
    const bucket = this.buckets.get(key(connector, client));
    return bucket === undefined || this.refill(bucket) >= 1;
  }

  /** Seconds until this client's bucket holds a token again (for `Retry-After`). */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(1 / (this.refillPerMs * 1000)));
  }

  /** Records one refusal: takes a token, counts it for the next log line. */
  refused(connector: string, client: string, code: string): void {
    const k = key(connector, client);
    const bucket = this.buckets.get(k) ?? { tokens: this.limits.burst, updatedMs: this.now() };
    bucket.tokens = Math.max(0, this.refill(bucket) - 1);
    // Re-inserted so the map's order is least recently refused first.
    this.buckets.delete(k);
    this.buckets.set(k, bucket);
    for (const oldest of this.buckets.keys()) {
      if (this.buckets.size <= this.limits.maxClients) break;
      this.buckets.delete(oldest);
    }
    const entry = this.counts.get(k) ?? { connector, client, byCode: {} };
    entry.byCode[code] = (entry.byCode[code] ?? 0) + 1;
    this.counts.set(k, entry);
    if (this.counts.size > this.limits.maxClients) this.flush();
    this.timer ??= setTimeout(() => this.flush(), this.limits.logIntervalMs).unref();
  }

  /** Logs what was refused since the last flush, one line per connector and address. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const { connector, client, byCode } of this.counts.values()) {
      const total = Object.values(byCode).reduce((a, b) => a + b, 0);
      this.logger.warn({ connector, client, refused: total, byCode, intervalMs: this.limits.logIntervalMs }, 'webhook deliveries refused');
    }
    this.counts.clear();
  }

  private refill(bucket: Bucket): number {
    const now = this.now();
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + (now - bucket.updatedMs) * this.refillPerMs);
    bucket.updatedMs = now;
    return bucket.tokens;
  }
}

function key(connector: string, client: string): string {
  return `${connector}\u0000${client}`;
}
