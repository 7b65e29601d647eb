import { randomUUID } from 'node:crypto';
import { AssignerProtocol, type Kafka, type PartitionAssigner } from 'kafkajs';
import { createConsumer } from './consumer.js';
import { RESTORE_GROUP_PREFIX } from './names.js';
import { PIPELINE_CONSUMER_TIMING, type InboundMessage } from './partition-loop.js';

/**
 * An assigner that gives the group's (only) member exactly the given partitions of each topic:
 * kafkajs has no manual `assign()`, so a group of its own with this assigner is how one reads
 * chosen partitions.
 */
export function fixedAssigner(assignment: Readonly<Record<string, readonly number[]>>): PartitionAssigner {
  const name = 'GrantlineFixedPartitions';
  const copy = Object.fromEntries(Object.entries(assignment).map(([topic, partitions]) => [topic, [...partitions]]));
  return () => ({
    name,
    version: 1,
    assign: async ({ members }) =>
      members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: i === 0 ? copy : {}, userData: Buffer.alloc(0) }),
      })),
    protocol: ({ topics }) => ({ name, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) }),
  });
}

async function endOffsets(kafka: Kafka, topic: string, deadline: number): Promise<Map<number, { low: bigint; high: bigint }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (;;) {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        return new Map(offsets.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]));
      } catch (err) {
        if ((err as { retriable?: boolean }).retriable !== true || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads the given partitions of a topic from their beginning up to their end offsets of the moment
 * it is called, committed messages only (read_committed), and returns. Nothing is committed; the
 * consumer group is its own and is left behind empty. The restore of a partition's state uses it.
 */
export async function readPartitionsToEnd(
  kafka: Kafka,
  topic: string,
  partitions: readonly number[],
  onMessage: (message: InboundMessage, partition: number) => void,
  options: { timeoutMs?: number; groupPrefix?: string } = {},
): Promise<void> {
  if (partitions.length === 0) return;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const ends = await endOffsets(kafka, topic, deadline);
  const consumed = new Map<number, bigint>();
  const behind = (): number[] =>
    partitions.filter((p) => {
      const end = ends.get(p);
      if (end === undefined || end.high <= end.low) return false;
      return (consumed.get(p) ?? -1n) + 1n < end.high;
    });
  if (behind().length === 0) return;

  const consumer = createConsumer(kafka, {
    groupId: `${options.groupPrefix ?? RESTORE_GROUP_PREFIX}-${randomUUID()}`,
    readCommitted: true,
    ...PIPELINE_CONSUMER_TIMING,
    partitionAssigners: [fixedAssigner({ [topic]: partitions })],
  });
  const note = (partition: number, lastOffset: bigint): void => {
    const held = consumed.get(partition);
    if (held === undefined || lastOffset > held) consumed.set(partition, lastOffset);
  };
  // Batches of only transaction markers or aborted records reach no handler but move the position.
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    const { partition, lastOffset } = event.payload as { partition: number; lastOffset: string };
    note(partition, BigInt(lastOffset));
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: Math.max(1, partitions.length),
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) onMessage(message, batch.partition);
        note(batch.partition, BigInt(batch.lastOffset()));
      },
    });
    for (;;) {
      const late = behind();
      if (late.length === 0) return;
      if (Date.now() > deadline) throw new Error(`reading partitions ${late.join(', ')} of ${topic} did not reach their end within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await consumer.disconnect();
  }
}

/** A topic grantline expected is not on the cluster (not created yet, or another prefix). */
export class TopicMissingError extends Error {
  constructor(readonly topic: string) {
    super(`topic ${topic} does not exist on the Kafka cluster`);
    this.name = 'TopicMissingError';
  }
}

/** Which of `topics` the cluster does not have (asked once, without the retries an unknown topic's metadata request makes). */
export async function missingTopics(kafka: Kafka, topics: readonly string[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    return topics.filter((t) => !existing.has(t));
  } finally {
    await admin.disconnect();
  }
}

/** How many partitions a topic has (the lifecycle fans a command out to each); `TopicMissingError` when it does not exist. */
export async function partitionCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new TopicMissingError(topic);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const count = meta.topics[0]?.partitions.length ?? 0;
    if (count === 0) throw new Error(`topic ${topic} has no partitions`);
    return count;
  } finally {
    await admin.disconnect();
  }
}
