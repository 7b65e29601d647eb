import type { Batch, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { createConsumer } from './consumer.js';

/** A header value as it arrives: bytes, text, or several of either. */
export type InboundHeaderValue = Buffer | string | (Buffer | string)[] | undefined;

/** One consumed message: bytes, offset and headers, and nothing of the client library's API. */
export interface InboundMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly offset: string;
  readonly headers?: Readonly<Record<string, InboundHeaderValue>>;
}

/**
 * One fetched batch of one partition, as a pipeline stage sees it. Offsets are strings (Kafka's
 * int64); the loop never resolves anything by itself.
 */
export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly InboundMessage[];
  /** The partition's high watermark when the batch was fetched: every offset below it had been written. */
  readonly highWatermark: string;
  /** False once the loop is stopping or the partition moved to another member: drop the batch. */
  active(): boolean;
  /** Tells the group coordinator this member is alive (call between slow steps). */
  heartbeat(): Promise<void>;
  /** Marks everything up to and including `offset` as processed. */
  resolve(offset: string): void;
  /** Commits the resolved offsets (loops whose offsets are not committed in a transaction). */
  commitResolved(): Promise<void>;
  /**
   * Stops fetching this partition, rewinds it to `offset` (read again on resume, nothing skipped)
   * and resumes it after `ms`; `onResume` runs when it resumes.
   */
  pause(offset: string, ms: number, onResume?: () => void): void;
  /** The batch's messages, in order, in chunks of at most `size`. */
  chunks(size: number): InboundMessage[][];
}

export interface PartitionLoopOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /**
   * `transaction`: offsets are committed only by the handler's transaction (`sendOffsets`), one
   * partition at a time. `resolved`: the loop commits what the handler resolved.
   */
  readonly offsets: 'transaction' | 'resolved';
  /**
   * Called after the group (re)assigned partitions, before their first batch is handled, with the
   * partitions of each topic this member now owns (every other partition it held is revoked).
   */
  readonly onAssignment?: (assignment: Readonly<Record<string, readonly number[]>>) => void;
  /** The consumer crashed and will not restart: nothing is consumed any more. */
  readonly onFatal?: (err: unknown) => void;
  readonly handle: (batch: PartitionBatch) => Promise<void>;
}

/**
 * Consumer timing for the pipeline's groups: a member that died (SIGKILL, lost broker) is dropped
 * after 10 s instead of kafkajs' 30 s, so its partitions move on sooner; an idle fetch returns
 * within 500 ms, so a stop does not wait 5 s per consumer.
 */
export const PIPELINE_CONSUMER_TIMING = { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, maxWaitTimeInMs: 500 } as const;

/** Splits messages, in order, into chunks of at most `size` (at least one per chunk). */
export function chunksOf<T>(messages: readonly T[], size: number): T[][] {
  const step = Math.max(1, size);
  const out: T[][] = [];
  for (let i = 0; i < messages.length; i += step) out.push(messages.slice(i, i + step));
  return out;
}

/**
 * A consumer group member that hands each fetched partition batch to `handle`, read committed,
 * from the beginning for a new group, never auto-creating topics. The one place the pipeline's
 * consumers meet kafkajs: its batch payload, pause and seek, and crash events stay in here.
 */
export class PartitionLoop {
  private consumer: Consumer | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: PartitionLoopOptions,
  ) {}

  async start(): Promise<void> {
    const { groupId, topics, onAssignment, onFatal, offsets } = this.options;
    const consumer = createConsumer(this.kafka, { groupId, readCommitted: true, ...PIPELINE_CONSUMER_TIMING });
    this.consumer = consumer;
    if (onAssignment) consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => onAssignment(payload.memberAssignment));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // kafkajs restarts a consumer after retriable errors; when it will not, nothing consumes any
      // more and the process must not go on looking healthy.
      if (!payload.restart) onFatal?.(payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      ...(offsets === 'transaction' ? { autoCommit: false, partitionsConsumedConcurrently: 1 } : {}),
      eachBatch: (payload) => this.options.handle(this.batchOf(consumer, payload)),
    });
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.consumer?.disconnect();
    this.consumer = null;
  }

  private batchOf(consumer: Consumer, payload: EachBatchPayload): PartitionBatch {
    const batch: Batch = payload.batch;
    const { topic, partition } = batch;
    return {
      topic,
      partition,
      messages: batch.messages,
      highWatermark: batch.highWatermark,
      active: () => payload.isRunning() && !payload.isStale(),
      heartbeat: () => payload.heartbeat(),
      resolve: (offset) => payload.resolveOffset(offset),
      commitResolved: () => payload.commitOffsetsIfNecessary(),
      chunks: (size) => chunksOf(batch.messages, size),
      pause: (offset, ms, onResume) => {
        const resume = payload.pause();
        consumer.seek({ topic, partition, offset });
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          onResume?.();
          resume();
        }, ms);
        this.timers.add(timer);
      },
    };
  }
}
