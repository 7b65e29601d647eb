import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Connector, Delivery, VerifyResult } from '../connector/contract.js';
import type { GrantlineProducer } from '../kafka/index.js';
import { CE_TYPES, encodeCloudEvent } from './cloudevents.js';
import { ticketKey, type DeliveryEvent } from '../model/index.js';
import type { PipelineMetrics } from './metrics.js';
import { ReplayGuard, type ReplayGuardOptions } from './replay-guard.js';

/** What the HTTP layer answers. Expected outcomes are data; only a bug throws. */
export type IngestResult =
  | { status: 202; body: { status: 'accepted' | 'ignored' | 'duplicate'; deliveryId: string; ticketId?: string; reason?: string } }
  | { status: 400; body: { error: { code: 'unidentifiable' | 'malformed'; message: string } } }
  | { status: 401; body: { error: { code: Refusal; message: string } } }
  | { status: 404; body: { error: { code: 'unknown_connector'; message: string } } }
  | { status: 503; body: { error: { code: 'unavailable'; message: string } }; retryAfterSeconds: number };

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
  /** How long to wait for Kafka to take the event before answering 503. */
  readonly produceTimeoutMs: number;
  /** Authenticated bodies already stored are not written again (default: 600 s, 100000 bodies). */
  readonly replay?: ReplayGuardOptions;
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

/**
 * Webhook ingress: verify with the connector, identify the ticket, write the verified delivery to
 * `grantline.ticket-events.v1` (acks=all, idempotent producer) and only then answer 202. When Kafka
 * cannot take it, 503 so that the source retries: never a 2xx for an event that is not stored.
 */
export class Ingress {
  private readonly replays: ReplayGuard;

  constructor(private readonly options: IngressOptions) {
    this.replays = new ReplayGuard(options.replay ?? { windowMs: 600_000, maxEntries: 100_000 });
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
      return { status: 202, body: { status: 'ignored', deliveryId: id.deliveryId, ticketId: id.ticketId, reason: `event ${id.eventType} is not watched` } };
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
    try {
      // The same signed bytes again (a replay with a fresh delivery id, or the source's own retry):
      // stored once, so no second Kafka write and no second source fetch.
      const outcome = await this.replays.once(`${connectorId}:${event.payloadSha256}`, { deliveryId: id.deliveryId, ticketId: id.ticketId }, delivery.receivedAt.getTime(), () =>
        withTimeout(this.publish([event]), this.options.produceTimeoutMs, 'writing the delivery to Kafka'),
      );
      if ('duplicateOf' in outcome) {
        metrics.webhooks.inc({ connector: connectorId, outcome: 'duplicate' });
        log.debug({ ...where, firstDeliveryId: outcome.duplicateOf.deliveryId }, 'body already stored; not written again');
        return { status: 202, body: { status: 'duplicate', deliveryId: outcome.duplicateOf.deliveryId, ticketId: outcome.duplicateOf.ticketId } };
      }
    } catch (error) {
      metrics.webhooks.inc({ connector: connectorId, outcome: 'unavailable' });
      log.error({ ...where, error: error instanceof Error ? error.message : String(error) }, 'delivery not stored; answering 503 so the source retries');
      return { status: 503, body: { error: { code: 'unavailable', message: 'the event could not be stored; retry later' } }, retryAfterSeconds: 5 };
    }
    metrics.ingressLatency.observe({ connector: connectorId }, Number(process.hrtime.bigint() - started) / 1e9);
    metrics.webhooks.inc({ connector: connectorId, outcome: 'accepted' });
    return { status: 202, body: { status: 'accepted', deliveryId: id.deliveryId, ticketId: id.ticketId } };
  }

  /**
   * Writes ticket events (from webhooks or the poller) keyed by ticket. Resolves once Kafka has
   * taken them (acks=all). Events of calls that arrive while a write is in flight go out together
   * in the next one (group commit): the idempotent producer has one request in flight, so one
   * produce per webhook capped ingress at one broker round trip per delivery.
   */
  async publish(events: readonly DeliveryEvent[]): Promise<void> {
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
    const bytes = messages.reduce((sum, m) => sum + Buffer.byteLength(m.key) + Buffer.byteLength(m.value), 0);
    await new Promise<void>((resolve, reject) => {
      this.waiting.push({ messages, bytes, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private readonly waiting: PendingWrite[] = [];
  private writing = false;

  /** Sends what waits, in arrival order (so per-ticket order holds), until nothing waits. */
  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) {
        let take = 0;
        let bytes = 0;
        // A Kafka record batch must stay under the broker's message.max.bytes (1 MB by default).
        while (take < this.waiting.length && (take === 0 || bytes + (this.waiting[take] as PendingWrite).bytes <= COALESCE_MAX_BYTES)) {
          bytes += (this.waiting[take] as PendingWrite).bytes;
          take += 1;
        }
        const writes = this.waiting.splice(0, take);
        try {
          await this.options.producer.send(this.options.topic, writes.flatMap((w) => w.messages));
          for (const w of writes) w.resolve();
        } catch (error) {
          // All or nothing for the writes of this send: each caller answers 503 and its source retries.
          for (const w of writes) w.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}

interface PendingWrite {
  readonly messages: ReturnType<typeof encodeCloudEvent>[];
  readonly bytes: number;
  resolve(): void;
  reject(error: unknown): void;
}

/** Bytes of ticket events written together at most; a single larger delivery still goes alone. */
const COALESCE_MAX_BYTES = 512 * 1024;
