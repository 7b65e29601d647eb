import { randomUUID } from 'node:crypto';
import { Partitioners, type Kafka } from 'kafkajs';
import { createConsumer } from './consumer.js';
import { fixedAssigner } from './partition-reader.js';
import { TAIL_GROUP_PREFIX } from './names.js';
import { PIPELINE_CONSUMER_TIMING, type InboundMessage } from './partition-loop.js';

/**
 * Record locations: which partition a key goes to, and reading records back by their offsets. The
 * ticket index (src/pipeline/ticket-index) stores where a ticket's records are; these read them.
 */

const partitioner = Partitioners.DefaultPartitioner();

/** The partition kafkajs's default partitioner (murmur2, as the Java client) gives `key` among `count` partitions. */
export function partitionOf(topic: string, key: string, count: number): number {
  const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
  return partitioner({ topic, partitionMetadata, message: { key, value: null } });
}

/** One record's place in Kafka. */
export interface RecordLocation {
  readonly topic: string;
  readonly partition: number;
  /** The offset, as a decimal string (Kafka offsets are 64-bit). */
  readonly offset: string;
}

const tp = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** The map key under which `readLocations` returns a record. */
export function locationKey(l: RecordLocation): string {
  return `${l.topic}\u0000${l.partition}\u0000${BigInt(l.offset).toString()}`;
}

/**
 * Reads exactly the records at `locations` (committed ones only), seeking from one wanted offset to
 * the next instead of reading what lies between, and returns them by `locationKey`. A location that
 * no longer holds a record (deleted by retention) is absent from the result. Nothing is committed;
 * the consumer group (`grantline-tail-<uuid>`, the operator's tail ACL) is its own.
 */
export async function readLocations(kafka: Kafka, locations: readonly RecordLocation[], options: { timeoutMs?: number } = {}): Promise<Map<string, InboundMessage>> {
  const found = new Map<string, InboundMessage>();
  const wanted = new Map<string, { topic: string; partition: number; offsets: bigint[] }>();
  for (const l of locations) {
    const entry = wanted.get(tp(l.topic, l.partition)) ?? { topic: l.topic, partition: l.partition, offsets: [] };
    entry.offsets.push(BigInt(l.offset));
    wanted.set(tp(l.topic, l.partition), entry);
  }
  if (wanted.size === 0) return found;
  for (const w of wanted.values()) w.offsets = [...new Set(w.offsets)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const assignment: Record<string, number[]> = {};
  for (const w of wanted.values()) (assignment[w.topic] ??= []).push(w.partition);

  const timeoutMs = options.timeoutMs ?? 60_000;
  const consumer = createConsumer(kafka, {
    groupId: `${TAIL_GROUP_PREFIX}-${randomUUID()}`,
    readCommitted: true,
    ...PIPELINE_CONSUMER_TIMING,
    partitionAssigners: [fixedAssigner(assignment)],
  });
  let settle: (() => void) | null = null;
  const done = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const check = (): void => {
    if ([...wanted.values()].every((w) => w.offsets.length === 0)) settle?.();
  };
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: Object.keys(assignment), fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: Math.max(1, wanted.size),
      eachBatch: async ({ batch }) => {
        const w = wanted.get(tp(batch.topic, batch.partition));
        if (!w || w.offsets.length === 0 || batch.messages.length === 0) return;
        const last = BigInt(batch.lastOffset());
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (w.offsets.includes(offset)) found.set(locationKey({ topic: w.topic, partition: w.partition, offset: message.offset }), message);
        }
        // Seeks only move forward, so a wanted offset at or before this batch's end that it did not
        // hold is not in the log any more.
        w.offsets = w.offsets.filter((o) => o > last);
        const next = w.offsets[0];
        if (next !== undefined && next > last + 1n) consumer.seek({ topic: w.topic, partition: w.partition, offset: next.toString() });
        check();
      },
    });
    // The first fetch starts at the log's beginning; seek to the first wanted offset at once.
    for (const w of wanted.values()) {
      const first = w.offsets[0];
      if (first !== undefined) consumer.seek({ topic: w.topic, partition: w.partition, offset: first.toString() });
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    const outcome = await Promise.race([done.then(() => 'done' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      const missing = [...wanted.values()].filter((w) => w.offsets.length > 0).map((w) => `${w.topic}[${w.partition}]`);
      throw new Error(`reading records of ${missing.join(', ')} did not finish within ${timeoutMs} ms`);
    }
    return found;
  } finally {
    await consumer.disconnect();
  }
}
