import type { Logger } from 'pino';
import { z } from 'zod';
import type { Connector } from '../connector/contract.js';
import { describeError, SourceUnavailableError } from '../connector/errors.js';
import type { GrantlineProducer } from '../kafka/index.js';
import { IsoDateTime } from '../model/index.js';
import { pollDeliveryId, type DeliveryEvent } from '../model/index.js';
import { sha256Hex, type Ingress } from './ingress.js';
import type { KafkaTable } from './state-view.js';

/** A connector's polling watermark, kept in a compacted topic keyed by connector id. */
export const PollerState = z.object({
  connectorId: z.string().min(1),
  watermark: z.string(),
  version: z.number().int().nonnegative(),
  updatedAt: IsoDateTime,
});
export type PollerState = z.infer<typeof PollerState>;

export interface PollerOptions {
  readonly connector: Connector;
  readonly ingress: Ingress;
  readonly table: KafkaTable<typeof PollerState>;
  readonly producer: GrantlineProducer;
  readonly stateTopic: string;
  readonly intervalMs: number;
  /** How far back the very first poll looks when no watermark is stored. */
  readonly initialLookbackMs: number;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/**
 * Reconciliation poller: asks the source for tickets changed since the stored watermark and feeds
 * them into the same topic as webhooks, so a lost webhook is caught. The watermark is stored only
 * after the events are durably in Kafka (at-least-once; the processor drops what changed nothing).
 */
export class Poller {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private inFlight: Promise<void> | null = null;
  private readonly now: () => Date;

  constructor(private readonly options: PollerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private schedule(delay: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.pollOnce()
        .then(() => this.schedule(this.options.intervalMs))
        .catch((error: unknown) => {
          const retryAfter = error instanceof SourceUnavailableError ? (error.retryAfterMs ?? 0) : 0;
          this.options.logger.warn({ connector: this.options.connector.id, error: describeError(error) }, 'poll failed; will retry');
          this.schedule(Math.max(this.options.intervalMs, retryAfter));
        });
    }, delay);
  }

  /** One poll: returns how many tickets it fed in. Exposed for tests and the CLI. */
  async pollOnce(): Promise<number> {
    const { connector, table } = this.options;
    const held = table.get(connector.id);
    const since = new Date(this.now().getTime() - this.options.initialLookbackMs);
    const page = await connector.poll(held?.watermark ?? null, since);
    const receivedAt = this.now().toISOString();
    const events: DeliveryEvent[] = page.tickets.map((t) => ({
      kind: 'delivery',
      deliveryId: pollDeliveryId(t.ticketId, t.updatedAt),
      connectorId: connector.id,
      ticketId: t.ticketId,
      ticketKey: t.ticketKey,
      eventType: 'poll',
      via: 'poll',
      receivedAt,
      payloadSha256: sha256Hex(JSON.stringify(t)),
      signatureVerified: false,
    }));
    await this.options.ingress.publish(events);
    if (page.watermark !== held?.watermark) {
      const state: PollerState = { connectorId: connector.id, watermark: page.watermark, version: (held?.version ?? 0) + 1, updatedAt: receivedAt };
      await this.options.producer.send(this.options.stateTopic, [{ key: connector.id, value: JSON.stringify(state) }]);
      table.apply(connector.id, state);
    }
    return events.length;
  }
}
