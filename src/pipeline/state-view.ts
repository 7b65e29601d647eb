import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { PIPELINE_CONSUMER_TIMING } from './backoff.js';
import { createConsumer, type Consumer, type Kafka, type KafkaMessage } from '../kafka/index.js';
import { TicketState } from './events.js';

/**
 * Follows a topic from its beginning with a consumer group of its own (every process reads every
 * partition; nothing is committed) and tells when it has read everything that was committed to the
 * topic at a given moment (`catchUp`). Base of the in-memory views and of the CLI's topic reads.
 */
export class TopicTail {
  private readonly consumed = new Map<number, bigint>();
  private consumer: Consumer | null = null;

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
    private readonly onMessage: (message: KafkaMessage, partition: number) => void,
    /** Names the tail's consumer group (`<prefix>-<uuid>`), so broker tools show whose it is. */
    private readonly groupPrefix = 'grantline-tail',
  ) {}

  async start(): Promise<void> {
    const consumer = createConsumer(this.kafka, { groupId: `${this.groupPrefix}-${randomUUID()}`, readCommitted: true, ...PIPELINE_CONSUMER_TIMING });
    this.consumer = consumer;
    // Batches of only transaction markers or aborted records reach no handler, but still move the
    // position; the instrumentation event sees them.
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      const { partition, lastOffset } = event.payload as { partition: number; lastOffset: string };
      this.noteConsumed(partition, BigInt(lastOffset));
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) this.onMessage(message, batch.partition);
        this.noteConsumed(batch.partition, BigInt(batch.lastOffset()));
      },
    });
  }

  private noteConsumed(partition: number, lastOffset: bigint): void {
    const held = this.consumed.get(partition);
    if (held === undefined || lastOffset > held) this.consumed.set(partition, lastOffset);
  }

  /**
   * Resolves once everything committed to the topic when it was called has been read, so what the
   * reader holds is at least as new as what any earlier writer wrote.
   */
  async catchUp(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const targets = await this.endOffsets(deadline);
    for (;;) {
      const behind = targets.filter((t) => t.high > 0n && (this.consumed.get(t.partition) ?? -1n) + 1n < t.high);
      if (behind.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`reading ${this.topic} did not catch up within ${timeoutMs} ms (partitions ${behind.map((b) => b.partition).join(', ')})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The topic's end offsets. Right after a topic is created its leaders may still move: retried. */
  private async endOffsets(deadline: number): Promise<{ partition: number; high: bigint }[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (;;) {
        try {
          const offsets = await admin.fetchTopicOffsets(this.topic);
          return offsets.map((o) => ({ partition: o.partition, high: BigInt(o.high) }));
        } catch (err) {
          if ((err as { retriable?: boolean }).retriable !== true || Date.now() > deadline) throw err;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    } finally {
      await admin.disconnect();
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = null;
  }
}

/** Reads a whole topic as it is now (committed messages only), in partition order. */
export async function readTopic(kafka: Kafka, topic: string): Promise<{ partition: number; message: KafkaMessage }[]> {
  const out: { partition: number; message: KafkaMessage }[] = [];
  const tail = new TopicTail(kafka, topic, (message, partition) => out.push({ partition, message }));
  await tail.start();
  try {
    await tail.catchUp();
  } finally {
    await tail.stop();
  }
  return out;
}

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

  private read(message: KafkaMessage, partition: number): void {
    const key = message.key?.toString('utf8');
    if (!key || message.value === null) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message.value.toString('utf8'));
    } catch {
      parsed = undefined;
    }
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
