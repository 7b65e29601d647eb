import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Connector, Delivery, VerifyResult } from '../connector/contract.js';
import type { GrantlineProducer } from '../kafka/index.js';
import { CE_TYPES, encodeCloudEvent } from './cloudevents.js';
import { ticketKey, type DeliveryEvent } from '../model/index.js';
import type { PipelineMetrics } from './metrics.js';
import { IngressQueue, IngressQueueFullError, neverSent, type IngressQueueLimits } from './ingress-queue.js';
import { ReplayGuard, type ReplayGuardOptions } from './replay-guard.js';

/** What the HTTP layer answers. Expected outcomes are data; only a bug throws. */
export type IngestResult =
  | { status: 202; body: { status: 'accepted' | 'ignored' | 'duplicate'; deliveryId: string; ticketId?: string; reason?: string } }
  | { status: 400; body: { error: { code: 'unidentifiable' | 'malformed'; message: string } } }
  | { status: 401; body: { error: { code: Refusal; message: string } } }
  | { status: 404; body: { error: { code: 'unknown_connector'; message: string } } }
  | { status: 503; body: { error: { code: 'unavailable'; message: string }; stored: 'no' | 'unknown' }; retryAfterSeconds: number }
  | { status: 504; body: { error: { code: 'pending'; message: string }; stored: 'pending' }; retryAfterSeconds: number };

/** Verdicts that mean the caller could not be authenticated: 401. */
type Refusal = Exclude<VerifyResult, 'valid' | 'malformed'>;

const REFUSALS: Record<Refusal, string> = {
  missing_signature: 'the delivery carries no signature or credentials',
  bad_signature: 'the delivery signature does not match its body',
  stale: 'the delivery is outside the accepted time window (replayed or delayed)',
  unauthorized: 'the delivery credentials are not accepted',
};

export interface IngressOptions {
  readonly connectors: ReadonlyMap<string, Connector>;
  readonly producer: GrantlineProducer;
  readonly topic: string;
  readonly logger: Logger;
  readonly metrics: PipelineMetrics;
  /**
   * How long a delivery may wait in the queue for Kafka: still unsent then, it is dropped and
   * answered 503. One already handed to Kafka is answered by that write, waiting at most this long
   * again (then 504 `pending`: it is still being written, exactly once).
   */
  readonly produceTimeoutMs: number;
  /** Authenticated bodies already stored are not written again (default: 600 s, 100000 bodies). */
  readonly replay?: ReplayGuardOptions;
  /** Bounds of what waits for Kafka (default: 10000 messages, 32 MiB). */
  readonly queue?: IngressQueueLimits;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Rejects with `<what> timed out after <ms> ms` when the promise takes longer (the promise itself goes on). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with the promise's value, or with PENDING after `ms` (the promise itself goes on). */
const PENDING = Symbol('pending');
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof PENDING> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<typeof PENDING>((resolve) => {
    timer = setTimeout(() => resolve(PENDING), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Webhook ingress: verify with the connector, identify the ticket, write the verified delivery to
 * `grantline.ticket-events.v1` (acks=all, idempotent producer) and only then answer 202. When Kafka
 * cannot take it, 503 so that the source retries: never a 2xx for an event that is not stored, and
 * a 503 only for an event never handed to Kafka, which is then never written (`IngressQueue`).
 */
export class Ingress {
  private readonly replays: ReplayGuard;
  private readonly queue: IngressQueue;

  constructor(private readonly options: IngressOptions) {
    this.replays = new ReplayGuard(options.replay ?? { windowMs: 600_000, maxEntries: 100_000 });
    this.queue = new IngressQueue(options.producer, options.topic, options.queue ?? { maxCount: 10_000, maxBytes: 32 * 1024 * 1024 });
  }

  /** Whether a connector with this id is configured (the HTTP layer answers 404 before reading a body). */
  has(connectorId: string): boolean {
    return this.options.connectors.has(connectorId);
  }

  /** Counts a delivery the HTTP layer answered itself (rate limited, unknown connector, body too large). */
  count(connectorId: string, outcome: string): void {
    this.options.metrics.webhooks.inc({ connector: this.has(connectorId) ? connectorId : 'unknown', outcome });
  }

  async ingest(connectorId: string, delivery: Delivery): Promise<IngestResult> {
    const { connectors, metrics } = this.options;
    // Plain fields on each line, not child loggers: a child per delivery cost ~1% of CPU under load.
    const log = this.options.logger;
    const connector = connectors.get(connectorId);
    if (!connector) {
      metrics.webhooks.inc({ connector: 'unknown', outcome: 'unknown_connector' });
      return { status: 404, body: { error: { code: 'unknown_connector', message: `no connector is configured with id "${connectorId}"` } } };
    }
    const verdict = connector.verify(delivery);
    // Refusals are logged by the HTTP layer, once per interval with counts: a flood of forged
    // deliveries must not become a flood of log lines.
    if (verdict === 'malformed') {
      metrics.webhooks.inc({ connector: connectorId, outcome: verdict });
      return { status: 400, body: { error: { code: 'malformed', message: 'the delivery is authentic but its body is not a JSON object' } } };
    }
    if (verdict !== 'valid') {
      metrics.webhooks.inc({ connector: connectorId, outcome: verdict });
      return { status: 401, body: { error: { code: verdict, message: REFUSALS[verdict] } } };
    }
    const id = connector.identify(delivery);
    if (!id.ok) {
      metrics.webhooks.inc({ connector: connectorId, outcome: 'unidentifiable' });
      log.debug({ connector: connectorId, reason: id.reason }, 'verified delivery names no ticket');
      return { status: 400, body: { error: { code: 'unidentifiable', message: id.reason } } };
    }
    const where = { connector: connectorId, ticket: id.ticketKey ?? id.ticketId, deliveryId: id.deliveryId };
    if (!id.relevant) {
      metrics.webhooks.inc({ connector: connectorId, outcome: 'ignored' });
      log.debug({ ...where, eventType: id.eventType }, 'delivery acknowledged and ignored');
      return { status: 202, body: { status: 'ignored', deliveryId: id.deliveryId, ticketId: id.ticketId, reason: id.ignoredBecause ?? `event ${id.eventType} is not watched` } };
    }
    const event: DeliveryEvent = {
      kind: 'delivery',
      deliveryId: id.deliveryId,
      connectorId,
      ticketId: id.ticketId,
      ticketKey: id.ticketKey,
      eventType: id.eventType,
      via: 'webhook',
      receivedAt: delivery.receivedAt.toISOString(),
      payloadSha256: sha256Hex(delivery.rawBody),
      signatureVerified: true,
      payload: delivery.rawBody.toString('utf8'),
    };
    const started = process.hrtime.bigint();
    const timeoutMs = this.options.produceTimeoutMs;
    try {
      // The same signed bytes again (a replay with a fresh delivery id, or the source's own retry):
      // stored once, so no second Kafka write and no second source fetch.
      const storing = this.replays.once(`${connectorId}:${event.payloadSha256}`, { deliveryId: id.deliveryId, ticketId: id.ticketId }, delivery.receivedAt.getTime(), () =>
        this.publish([event], timeoutMs),
      );
      // Still queued at timeoutMs: dropped, 503. Handed to Kafka: answered by that write, which the
      // queue sends again until Kafka takes it, but the source is not kept waiting past 2 × timeoutMs.
      const outcome = await within(storing, 2 * timeoutMs);
      metrics.replayBodies.set(this.replays.size);
      if (outcome === PENDING) {
        storing.catch((error: unknown) => this.noteUnstored(where, error));
        metrics.webhooks.inc({ connector: connectorId, outcome: 'pending' });
        return {
          status: 504,
          body: { error: { code: 'pending', message: 'the event was handed to Kafka and is still being written (once); a retry of this delivery is answered by that write' }, stored: 'pending' },
          retryAfterSeconds: 5,
        };
      }
      if ('duplicateOf' in outcome) {
        metrics.webhooks.inc({ connector: connectorId, outcome: 'duplicate' });
        log.debug({ ...where, firstDeliveryId: outcome.duplicateOf.deliveryId }, 'body already stored; not written again');
        return { status: 202, body: { status: 'duplicate', deliveryId: outcome.duplicateOf.deliveryId, ticketId: outcome.duplicateOf.ticketId } };
      }
    } catch (error) {
      metrics.webhooks.inc({ connector: connectorId, outcome: error instanceof IngressQueueFullError ? 'queue_full' : 'unavailable' });
      this.noteUnstored(where, error);
      // `no`: never handed to Kafka (queue full, or dropped at its deadline), so it will never be
      // written. `unknown`: a send the broker refused for good, or one cut off because the process
      // stops: the broker may have appended part of it.
      const stored = neverSent(error) ? 'no' : 'unknown';
      return { status: 503, body: { error: { code: 'unavailable', message: 'the event could not be stored; retry later' }, stored }, retryAfterSeconds: 5 };
    }
    metrics.ingressLatency.observe({ connector: connectorId }, Number(process.hrtime.bigint() - started) / 1e9);
    metrics.webhooks.inc({ connector: connectorId, outcome: 'accepted' });
    return { status: 202, body: { status: 'accepted', deliveryId: id.deliveryId, ticketId: id.ticketId } };
  }

  /** The process stops: nothing more is taken, and what waits for Kafka is answered (`IngressQueue.close`). */
  close(): void {
    this.queue.close();
  }

  private unstored = { count: 0, loggedAt: Number.NEGATIVE_INFINITY };

  /** While Kafka is down every delivery is 503: one error line per 10 s with the count, not one per delivery. */
  private noteUnstored(where: Record<string, string>, error: unknown): void {
    this.unstored.count += 1;
    const now = Date.now();
    if (now - this.unstored.loggedAt < UNSTORED_LOG_INTERVAL_MS) return;
    this.options.logger.error(
      { ...where, error: error instanceof Error ? error.message : String(error), notStored: this.unstored.count, queued: this.queue.depth },
      'delivery not stored; answering 503 so the source retries',
    );
    this.unstored = { count: 0, loggedAt: now };
  }

  /**
   * Writes ticket events (from webhooks or the poller) keyed by ticket through the bounded ingress
   * queue (group commit, see `IngressQueue`). Resolves once Kafka has taken them (acks=all).
   * With `timeoutMs`, rejects if they are still queued then, and they are never written.
   */
  async publish(events: readonly DeliveryEvent[], timeoutMs?: number): Promise<void> {
    if (events.length === 0) return;
    const messages = events.map((event) =>
      encodeCloudEvent(
        ticketKey(event.connectorId, event.ticketId),
        {
          id: event.deliveryId,
          source: `urn:grantline:${event.connectorId}`,
          type: CE_TYPES.ticketEvent,
          time: event.receivedAt,
          subject: event.ticketKey ?? event.ticketId,
        },
        event,
      ),
    );
    await this.queue.enqueue(messages, timeoutMs);
  }
}

const UNSTORED_LOG_INTERVAL_MS = 10_000;
