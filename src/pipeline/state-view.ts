import type { Logger } from 'pino';
import type { z } from 'zod';
import { TopicTail, type InboundMessage, type Kafka } from '../kafka/index.js';
import { TicketState } from '../model/index.js';
import type { Gate } from './refusals.js';

/** Topic reading lives in `src/kafka/tail.ts`; re-exported for the CLI, the adapter kit and tests. */
export { readTopic, TopicTail } from '../kafka/index.js';

/**
 * An in-memory view of a compacted topic of versioned rows. The processor reads a ticket's state
 * from here (after `catchUp`, so a restart or a rebalance never decides on stale state) and applies
 * its own committed writes at once; the lifecycle role scans it for expiring grants and open reviews.
 *
 * A record only replaces what the view holds when its `version` is higher, so a lagging replay of
 * the topic never overwrites a newer state the processor applied itself.
 */
export class KafkaTable<S extends z.ZodType<{ version: number }>> {
  protected readonly rows = new Map<string, z.infer<S>>();
  private readonly tail: TopicTail;

  constructor(
    kafka: Kafka,
    topic: string,
    private readonly schema: S,
    private readonly logger: Logger,
    /** Authenticates each record (its MAC, src/trust); a refused one is reported and never applied. */
    private readonly gate: Gate,
  ) {
    this.tail = new TopicTail(kafka, topic, (message, partition) => this.read(message, partition));
  }

  get size(): number {
    return this.rows.size;
  }

  get(key: string): z.infer<S> | undefined {
    return this.rows.get(key);
  }

  values(): IterableIterator<z.infer<S>> {
    return this.rows.values();
  }

  /** Applies a row if it is newer than the one held. Returns whether it was applied. */
  apply(key: string, row: z.infer<S>): boolean {
    const held = this.rows.get(key);
    if (held && held.version >= row.version) return false;
    this.replaced(key, held, row);
    this.rows.set(key, row);
    return true;
  }

  /** Hook for subclasses that keep indexes. */
  protected replaced(_key: string, _old: z.infer<S> | undefined, _row: z.infer<S>): void {}

  private read(message: InboundMessage, partition: number): void {
    const key = message.key?.toString('utf8');
    if (!key || message.value === null) return;
    const opened = this.gate.open(partition, message);
    if (!opened.ok) return;
    const parsed = opened.value;
    // Most records read back are this process's own writes, already applied: a version that is not
    // newer than the held row would be discarded anyway, so it is not validated either.
    const held = this.rows.get(key);
    const version = (parsed as { version?: unknown } | null | undefined)?.version;
    if (held !== undefined && typeof version === 'number' && version <= held.version) return;
    const result = this.schema.safeParse(parsed);
    if (!result.success) {
      this.logger.error({ topic: this.tail.topic, partition, offset: message.offset }, 'invalid record skipped');
      return;
    }
    this.apply(key, result.data);
  }

  start(): Promise<void> {
    return this.tail.start();
  }

  catchUp(timeoutMs?: number): Promise<void> {
    return this.tail.catchUp(timeoutMs);
  }

  stop(): Promise<void> {
    return this.tail.stop();
  }
}

/** The per-ticket decision state (see `TicketState`), with an index from grant id to ticket. */
export class StateView extends KafkaTable<typeof TicketState> {
  private readonly grantIndex = new Map<string, string>();

  constructor(kafka: Kafka, topic: string, logger: Logger, gate: Gate) {
    super(kafka, topic, TicketState, logger, gate);
  }

  /** The key of the ticket that issued a grant, for commands that name only the grant. */
  ticketOfGrant(grantId: string): string | undefined {
    return this.grantIndex.get(grantId);
  }

  protected override replaced(key: string, old: TicketState | undefined, row: TicketState): void {
    if (old) for (const g of old.grants) this.grantIndex.delete(g.grantId);
    for (const g of row.grants) this.grantIndex.set(g.grantId, key);
  }
}
