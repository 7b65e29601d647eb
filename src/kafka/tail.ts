import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { createConsumer } from './consumer.js';
import { TAIL_GROUP_PREFIX } from './names.js';
import { PIPELINE_CONSUMER_TIMING, type InboundMessage } from './partition-loop.js';

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
    private readonly onMessage: (message: InboundMessage, partition: number) => void,
    /** Names the tail's consumer group (`<prefix>-<uuid>`), so broker tools show whose it is. */
    private readonly groupPrefix = TAIL_GROUP_PREFIX,
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
export async function readTopic(kafka: Kafka, topic: string): Promise<{ partition: number; message: InboundMessage }[]> {
  const out: { partition: number; message: InboundMessage }[] = [];
  const tail = new TopicTail(kafka, topic, (message, partition) => out.push({ partition, message }));
  await tail.start();
  try {
    await tail.catchUp();
  } finally {
    await tail.stop();
  }
  return out;
}

