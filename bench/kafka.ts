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

/** High watermark of every partition, by topic: the offset the next record will get. */
export type TopicEnds = Map<string, Map<number, bigint>>;

/** The topics of one grantline instance (every topic whose name starts with its prefix). */
export async function prefixTopics(kafka: Kafka, prefix: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).filter((t) => t.startsWith(prefix)).sort();
  } finally {
    await admin.disconnect();
  }
}

export async function topicEnds(kafka: Kafka, topics: readonly string[]): Promise<TopicEnds> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out: TopicEnds = new Map();
    for (const topic of topics) out.set(topic, new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)])));
    return out;
  } finally {
    await admin.disconnect();
  }
}

export interface TopicCount {
  records: number;
  bytes: number;
}

/**
 * Counts the committed records (read_committed: no transaction markers, nothing aborted) between
 * two snapshots of the end offsets, per topic, with their bytes (key, value and headers). Reads
 * only that window: it seeks each partition to its start.
 */
export async function countRecords(kafka: Kafka, from: TopicEnds, to: TopicEnds, timeoutMs = 600_000): Promise<Record<string, TopicCount>> {
  const counts: Record<string, TopicCount> = {};
  const work: { topic: string; partition: number; start: bigint; end: bigint }[] = [];
  for (const [topic, ends] of to) {
    counts[topic] = { records: 0, bytes: 0 };
    for (const [partition, end] of ends) {
      const start = from.get(topic)?.get(partition) ?? 0n;
      if (end > start) work.push({ topic, partition, start, end });
    }
  }
  if (work.length === 0) return counts;
  const window = new Map(work.map((w) => [`${w.topic}:${w.partition}`, w]));
  const consumed = new Map<string, bigint>();
  const note = (topic: string, partition: number, lastOffset: string): void => {
    const key = `${topic}:${partition}`;
    const at = BigInt(lastOffset);
    if (at > (consumed.get(key) ?? -1n)) consumed.set(key, at);
  };
  const consumer = createConsumer(kafka, { groupId: `bench-count-${randomUUID()}`, readCommitted: true, maxWaitTimeInMs: 100 });
  // Batches of only markers reach no handler but still move the position.
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    const p = event.payload as { topic: string; partition: number; lastOffset: string };
    note(p.topic, p.partition, p.lastOffset);
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...new Set(work.map((w) => w.topic))], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const w = window.get(`${batch.topic}:${batch.partition}`);
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (w === undefined || offset < w.start || offset >= w.end) continue;
          const c = counts[batch.topic] as TopicCount;
          c.records += 1;
          c.bytes += bytesOf(m);
        }
        note(batch.topic, batch.partition, batch.lastOffset());
      },
    });
    for (const w of work) consumer.seek({ topic: w.topic, partition: w.partition, offset: w.start.toString() });
    const deadline = Date.now() + timeoutMs;
    while (work.some((w) => (consumed.get(`${w.topic}:${w.partition}`) ?? -1n) < w.end - 1n)) {
      if (Date.now() > deadline) throw new Error(`counting records did not reach the end offsets within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await consumer.disconnect();
  }
  return counts;
}

/** Bytes of a record on the wire, near enough: key, value, header names and values. */
export const bytesOf = (m: { key: Buffer | null; value: Buffer | null; headers?: Record<string, unknown> }): number =>
  (m.key?.length ?? 0) + (m.value?.length ?? 0) + Object.entries(m.headers ?? {}).reduce((a, [k, v]) => a + k.length + String(v).length, 0);

/** What the benchmark sees of grantline's decisions on the grant topic, by ticket key. */
export interface DecisionWatch {
  /** Ticket key → when its first grant was seen (`performance.now()`). */
  readonly granted: Map<string, number>;
  /** Ticket key → its first grant record's timestamp (set by grantline's producer when it sent it), on the `performance.now()` clock. */
  readonly grantRecordAt: Map<string, number>;
  /** Ticket key → when its first revocation was seen. */
  readonly revoked: Map<string, number>;
  /** Ticket key → the grant ids seen issued for it. */
  readonly grantIds: Map<string, string[]>;
  /** Bytes of the first 1,000 grants. */
  readonly grantBytes: number[];
  stop(): Promise<void>;
}

/** Follows `access.grants.pam.v1` of a prefix (read_committed) and records grants and revocations. */
export async function watchDecisions(kafka: Kafka, prefix: string): Promise<DecisionWatch> {
  const granted = new Map<string, number>();
  const grantRecordAt = new Map<string, number>();
  const revoked = new Map<string, number>();
  const grantIds = new Map<string, string[]>();
  const grantBytes: number[] = [];
  const f = await follow(kafka, `${prefix}access.grants.pam.v1`, (m, at) => {
    type Decision = { outcome?: string; grantId?: string; source?: { ticketKey?: string } } | null;
    let v: Decision;
    try {
      v = JSON.parse(m.value?.toString('utf8') ?? 'null') as Decision;
    } catch {
      return;
    }
    const key = v?.source?.ticketKey;
    if (!key) return;
    if (v?.outcome === 'granted') {
      if (!granted.has(key)) {
        granted.set(key, at);
        grantRecordAt.set(key, Number(m.timestamp) - performance.timeOrigin);
      }
      if (v.grantId) grantIds.set(key, [...(grantIds.get(key) ?? []), v.grantId]);
      if (grantBytes.length < 1000) grantBytes.push(bytesOf(m));
    } else if (v?.outcome === 'revoked' && !revoked.has(key)) {
      revoked.set(key, at);
    }
  });
  return { granted, grantRecordAt, revoked, grantIds, grantBytes, stop: () => f.stop() };
}
