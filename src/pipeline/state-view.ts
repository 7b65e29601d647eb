import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createConsumer, type Consumer, type Kafka } from '../kafka/index.js';
import type { z } from 'zod';
import { TicketState } from './events.js';

/**
 * An in-memory view of a compacted topic of versioned rows, read from the beginning by a consumer with
 * a group of its own. The processor reads a ticket's state from here (after `catchUp`, so a restart
 * or a rebalance never decides on stale state) and applies its own committed writes at once; the
 * lifecycle role scans it for expiring grants and open reviews.
 *
 * A record only replaces what the view holds when its `version` is higher, so a lagging replay of
 * the topic never overwrites a newer state the processor applied itself.
 */
export class KafkaTable<S extends z.ZodType<{ version: number }>> {
  protected readonly rows = new Map<string, z.infer<S>>();
  private readonly consumed = new Map<number, bigint>();
  private consumer: Consumer | null = null;
  private invalidRecords = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly schema: S,
    private readonly logger: Logger,
  ) {}

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

  async start(): Promise<void> {
    // A group of its own per process: every instance reads every partition from the beginning.
    const consumer = createConsumer(this.kafka, { groupId: `grantline-table-${randomUUID()}`, readCommitted: true });
    this.consumer = consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      const { partition, lastOffset } = event.payload as { partition: number; lastOffset: string };
      this.noteConsumed(partition, BigInt(lastOffset));
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const key = message.key?.toString('utf8');
          if (!key || message.value === null) continue;
          let parsed: unknown;
          try {
            parsed = JSON.parse(message.value.toString('utf8'));
          } catch {
            parsed = undefined;
          }
          const result = this.schema.safeParse(parsed);
          if (!result.success) {
            this.invalidRecords += 1;
            this.logger.error({ topic: this.topic, partition: batch.partition, offset: message.offset }, 'invalid record skipped');
            continue;
          }
          this.apply(key, result.data);
        }
        this.noteConsumed(batch.partition, BigInt(batch.lastOffset()));
      },
    });
  }

  private noteConsumed(partition: number, lastOffset: bigint): void {
    const held = this.consumed.get(partition);
    if (held === undefined || lastOffset > held) this.consumed.set(partition, lastOffset);
  }

  /**
   * Resolves once the view has read everything committed to the topic when it was called, so the
   * state it holds is at least as new as what any earlier owner of a partition wrote.
   */
  async catchUp(timeoutMs = 60_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    let targets: { partition: number; high: bigint }[];
    try {
      const offsets = await admin.fetchTopicOffsets(this.topic);
      targets = offsets.map((o) => ({ partition: o.partition, high: BigInt(o.high) }));
    } finally {
      await admin.disconnect();
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const behind = targets.filter((t) => t.high > 0n && (this.consumed.get(t.partition) ?? -1n) + 1n < t.high);
      if (behind.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`view of ${this.topic} did not catch up within ${timeoutMs} ms (partitions ${behind.map((b) => b.partition).join(', ')})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  get invalidCount(): number {
    return this.invalidRecords;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = null;
  }
}

/**
 * The per-ticket decision state (see `TicketState`), with an index from grant id to ticket.
 */
export class StateView extends KafkaTable<typeof TicketState> {
  private readonly grantIndex = new Map<string, string>();

  constructor(kafka: Kafka, topic: string, logger: Logger) {
    super(kafka, topic, TicketState, logger);
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
