import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { createConsumer } from './consumer.js';
import { PIPELINE_CONSUMER_TIMING, type InboundMessage } from './partition-loop.js';

export interface FollowOptions {
  /** Read each topic from its first message; otherwise only what is committed after `follow` resolves. */
  readonly fromBeginning: boolean;
  readonly onMessage: (topic: string, partition: number, message: InboundMessage) => void;
  /** Names the consumer group (`<prefix>-<uuid>`), so broker tools show whose it is. */
  readonly groupPrefix?: string;
}

/** A running follow: the topics it reads, those it skipped because they do not exist, and how to stop it. */
export interface Follow {
  readonly following: readonly string[];
  readonly missing: readonly string[];
  stop(): Promise<void>;
}

type EndOffsets = { topic: string; partitions: { partition: number; offset: string }[] };

/**
 * Follows several topics with a consumer group of its own (nothing is committed; committed
 * transactions only), until `stop`. Topics that do not exist are skipped and reported, since
 * subscribing to one would fail the whole consumer.
 *
 * From the end: the topics' last stable offsets are read before the consumer starts and every
 * partition is sought there, so "the end" is the moment `follow` resolved, not whenever the group
 * happened to join — a message committed after it returns is never missed.
 */
export async function follow(kafka: Kafka, topics: readonly string[], options: FollowOptions): Promise<Follow> {
  const admin = kafka.admin();
  await admin.connect();
  const ends: EndOffsets[] = [];
  let present: Set<string>;
  try {
    present = new Set(await admin.listTopics());
    if (!options.fromBeginning) {
      for (const topic of topics.filter((t) => present.has(t))) {
        const offsets = await admin.fetchTopicOffsets(topic);
        ends.push({ topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
      }
    }
  } finally {
    await admin.disconnect();
  }
  const following = topics.filter((t) => present.has(t));
  const missing = topics.filter((t) => !present.has(t));
  if (following.length === 0) return { following, missing, stop: async () => undefined };

  const consumer: Consumer = createConsumer(kafka, {
    groupId: `${options.groupPrefix ?? 'grantline-follow'}-${randomUUID()}`,
    readCommitted: true,
    ...PIPELINE_CONSUMER_TIMING,
  });
  // GROUP_JOIN is emitted after the assignment and before the first fetch, so a seek made here is
  // the first position of every partition. Only once: a later rejoin keeps the positions reached.
  let sought = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (sought) return;
    sought = true;
    for (const end of ends) for (const p of end.partitions) consumer.seek({ topic: end.topic, partition: p.partition, offset: p.offset });
  });
  await consumer.connect();
  await consumer.subscribe({ topics: following, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => options.onMessage(topic, partition, message),
  });
  return { following, missing, stop: () => consumer.disconnect() };
}
