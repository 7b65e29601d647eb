/**
 * Kafka helpers of the benchmark, through grantline's own Kafka layer (`src/kafka`), so baselines
 * and readers use the same client settings (acks=-1, idempotence, read_committed).
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { createConsumer, createKafka, ensureTopics, type Kafka, type KafkaMessage } from '../src/kafka/index.js';

export function benchKafka(brokers: string, clientId: string): Kafka {
  return createKafka({ brokers: brokers.split(','), clientId, topicPrefix: '', partitions: 3 }, pino({ level: 'error' }));
}

export async function createTopics(kafka: Kafka, topics: string[], partitions: number): Promise<void> {
  await ensureTopics(
    kafka,
    topics.map((topic) => ({ topic, partitions })),
  );
}

/**
 * Follows a topic from its beginning (read_committed) and hands every message with its arrival
 * time (`performance.now()`) to `onMessage`.
 */
export async function follow(kafka: Kafka, topic: string, onMessage: (message: KafkaMessage, atMs: number) => void): Promise<{ stop(): Promise<void> }> {
  const consumer = createConsumer(kafka, { groupId: `bench-follow-${randomUUID()}`, readCommitted: true, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const at = performance.now();
      for (const m of batch.messages) onMessage(m, at);
    },
  });
  return { stop: () => consumer.disconnect() };
}

/** Messages a consumer group has not committed yet on a topic (sum over partitions). */
export async function groupLag(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [high, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const done = new Map<number, bigint>();
    for (const p of committed[0]?.partitions ?? []) done.set(p.partition, BigInt(p.offset));
    let lag = 0n;
    for (const h of high) {
      const c = done.get(h.partition) ?? -1n;
      const start = c < 0n ? BigInt(h.low) : c;
      if (BigInt(h.high) > start) lag += BigInt(h.high) - start;
    }
    return Number(lag);
  } finally {
    await admin.disconnect();
  }
}
