import { describeError, GrantlineError } from '../../connector/errors.js';
import { createProducer, partitionCount, partitionOf, partitionTransactionalId, type GrantlineProducer, type GrantlineTransaction, type Kafka, type ProducerOptions } from '../../kafka/index.js';
import type { TicketState } from '../../model/index.js';
import { encodeStateRecord } from '../state/record.js';
import type { IndexTag, Output } from '../cloudevents.js';
import { indexMessages, type LocatedRecord } from '../ticket-index/record.js';

/** Bytes of messages per send within a chunk's transaction; a single larger message goes alone. */
export const TX_SEND_MAX_BYTES = 512 * 1024;

/** A message of the transaction: an output, or a state record (null value: a tombstone). */
type Message = Omit<Output['message'], 'value'> & { value: string | null; partition?: number };

/** Splits the chunk's messages, in order, into `sendBatch` payloads of at most `maxBytes` each. */
export function chunkTopicMessages(byTopic: ReadonlyMap<string, Message[]>, maxBytes: number): { topic: string; messages: Message[] }[][] {
  const chunks: { topic: string; messages: Message[] }[][] = [];
  let current = new Map<string, Message[]>();
  let bytes = 0;
  const flush = (): void => {
    if (current.size > 0) chunks.push([...current.entries()].map(([topic, messages]) => ({ topic, messages })));
    current = new Map();
    bytes = 0;
  };
  for (const [topic, messages] of byTopic) {
    for (const message of messages) {
      let size = Buffer.byteLength(message.key) + (message.value === null ? 0 : Buffer.byteLength(message.value));
      for (const [name, value] of Object.entries(message.headers)) size += Buffer.byteLength(name) + Buffer.byteLength(value);
      if (bytes > 0 && bytes + size > maxBytes) flush();
      const list = current.get(topic) ?? [];
      list.push(message);
      current.set(topic, list);
      bytes += size;
    }
  }
  flush();
  return chunks;
}

/**
 * A Kafka failure while the batch is in hand (broker restarting, producer fenced, coordinator
 * loading). kafkajs restarts a crashed consumer only when the innermost cause is retriable, so this
 * error carries no `cause`: the batch is read again from its last committed offset, on a fresh
 * producer, instead of the role stopping for good.
 */
export function restartable(what: string, error: unknown): GrantlineError {
  return new GrantlineError(`${what} failed (${describeError(error)}); the batch will be read again`, { retriable: true });
}

/** One chunk's commit: what it publishes, the ticket states it writes, and the offset it consumed up to. */
export interface ChunkCommit {
  readonly topic: string;
  readonly partition: number;
  readonly outputs: readonly Output[];
  /** New states; null: the ticket is retired (a tombstone). */
  readonly states: readonly { key: string; state: TicketState | null }[];
  /** The next offset to read: the last processed one plus one. */
  readonly nextOffset: bigint;
}

/**
 * Publishes a chunk's outputs, its new ticket states and its consumed offset in ONE Kafka
 * transaction: all of it becomes visible or none of it. One transactional producer per owned input
 * partition (`partitionTransactionalId`, src/kafka/names.ts: kafkajs cannot bind a transaction to a
 * consumer group generation, so a new owner's producer fences the old owner's and a zombie's late
 * commit is refused by the broker), connected when the partition is assigned.
 */
export class TransactionalCommitter {
  private readonly producers = new Map<number, GrantlineProducer>();
  /** Partitions of each topic the index points into, asked once per process. */
  private readonly partitionCounts = new Map<string, Promise<number>>();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: {
      readonly groupId: string;
      readonly inputTopic: string;
      readonly stateTopic: string;
      /** `grantline.ticket-index.v1`: where the chunk's custody events and signed messages went, per ticket. */
      readonly indexTopic: string;
      /** Seals what goes to grantline's internal topics (`internalSealer`, src/trust). */
      readonly seal?: ProducerOptions['seal'];
    },
  ) {}

  /**
   * Connects the partition's producer; initialising its transactions fences any earlier producer of
   * the same id and aborts its open transaction, so what the partition's state topic holds once
   * this resolves is final.
   */
  async acquire(partition: number): Promise<void> {
    await this.release(partition);
    const producer = createProducer(this.kafka, { transactionalId: partitionTransactionalId(this.options.groupId, this.options.inputTopic, partition), ...(this.options.seal ? { seal: this.options.seal } : {}) });
    await producer.connect();
    this.producers.set(partition, producer);
  }

  async release(partition: number): Promise<void> {
    const producer = this.producers.get(partition);
    this.producers.delete(partition);
    await producer?.disconnect().catch(() => undefined);
  }

  private partitionsOf(topic: string): Promise<number> {
    let count = this.partitionCounts.get(topic);
    if (count === undefined) {
      count = partitionCount(this.kafka, topic);
      // A failed look-up is asked again by the next chunk.
      count.catch(() => this.partitionCounts.delete(topic));
      this.partitionCounts.set(topic, count);
    }
    return count;
  }

  async disconnect(): Promise<void> {
    await Promise.all([...this.producers.keys()].map((p) => this.release(p)));
  }

  /**
   * Commits the chunk; a failure throws a `restartable` error with nothing visible or committed, and
   * the partition's producer is closed (the caller drops the partition's state and restores it).
   */
  async commit(chunk: ChunkCommit): Promise<void> {
    const producer = this.producers.get(chunk.partition);
    if (!producer) throw restartable('committing the batch', new Error(`partition ${chunk.partition} is not held`));
    await this.send(producer, chunk).catch(async (error: unknown) => {
      await this.release(chunk.partition);
      throw restartable('committing the batch', error);
    });
  }

  private async send(producer: GrantlineProducer, { topic, partition, outputs, states, nextOffset }: ChunkCommit): Promise<void> {
    // Messages of the topics the index points into get their partition here (the producer's own
    // partitioner, so the same one), so each one's offset follows from the send's base offsets.
    const located = new Set(outputs.filter((o) => o.index !== undefined).map((o) => o.topic));
    const counts = new Map(await Promise.all([...located].map(async (t) => [t, await this.partitionsOf(t)] as const)));
    const byTopic = new Map<string, Message[]>();
    const tags = new Map<Message, IndexTag>();
    for (const out of outputs) {
      const list = byTopic.get(out.topic) ?? [];
      const count = counts.get(out.topic);
      const message: Message = count === undefined ? out.message : { ...out.message, partition: partitionOf(out.topic, out.message.key, count) };
      if (out.index !== undefined) tags.set(message, out.index);
      list.push(message);
      byTopic.set(out.topic, list);
    }
    const stateTopic = this.options.stateTopic;
    const stateMessages: Message[] = states.map(({ key, state }) => (state === null ? { key, value: null, headers: {} } : encodeStateRecord(key, state)));
    if (stateMessages.length > 0) byTopic.set(stateTopic, [...(byTopic.get(stateTopic) ?? []), ...stateMessages]);

    const tx = await producer.transaction();
    try {
      // A produce request carries one record batch per partition and the broker refuses one over
      // message.max.bytes (1 MB by default, non-retriable): a large consumer batch (a backlog, a
      // replay) crashed the processor. It goes out in several sends of the same transaction.
      const records: LocatedRecord[] = [];
      for (const sendChunk of chunkTopicMessages(byTopic, TX_SEND_MAX_BYTES)) {
        records.push(...locate(sendChunk, await tx.sendBatch(sendChunk), tags));
      }
      // The index of what was just written: one more send per chunk, whatever its number of tickets.
      await sendAll(tx, new Map([[this.options.indexTopic, indexMessages(records, new Date().toISOString())]]));
      await tx.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [{ topic, partitions: [{ partition, offset: nextOffset.toString() }] }],
      });
      await tx.commit();
    } catch (error) {
      await tx.abort().catch(() => undefined);
      throw error;
    }
  }
}

/** Sends messages in the transaction, in sends of at most `TX_SEND_MAX_BYTES`. */
async function sendAll(tx: GrantlineTransaction, byTopic: ReadonlyMap<string, Message[]>): Promise<void> {
  for (const sendChunk of chunkTopicMessages(byTopic, TX_SEND_MAX_BYTES)) {
    if (sendChunk.some((t) => t.messages.length > 0)) await tx.sendBatch(sendChunk);
  }
}

/**
 * Where the tagged messages of one send went: the send appends each partition's messages in order
 * from the base offset the broker returned for that partition (one record batch per partition).
 */
export function locate(
  sent: readonly { topic: string; messages: readonly Message[] }[],
  metadata: readonly { topicName: string; partition: number; baseOffset?: string }[],
  tags: ReadonlyMap<Message, IndexTag>,
): LocatedRecord[] {
  const out: LocatedRecord[] = [];
  for (const { topic, messages } of sent) {
    const next = new Map<number, bigint>();
    for (const message of messages) {
      if (message.partition === undefined) continue;
      const base = metadata.find((m) => m.topicName === topic && m.partition === message.partition)?.baseOffset;
      if (base === undefined) throw new Error(`the broker returned no offset for ${topic}[${message.partition}]`);
      const offset = next.get(message.partition) ?? BigInt(base);
      next.set(message.partition, offset + 1n);
      const tag = tags.get(message);
      if (tag !== undefined) out.push({ topic, partition: message.partition, offset: offset.toString(), tag });
    }
  }
  return out;
}
