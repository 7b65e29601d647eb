import { describeError, GrantlineError } from '../../connector/errors.js';
import { createProducer, partitionTransactionalId, type GrantlineProducer, type Kafka, type ProducerOptions } from '../../kafka/index.js';
import type { TicketState } from '../../model/index.js';
import { encodeStateRecord } from '../state/record.js';
import type { Output } from '../cloudevents.js';

/** Bytes of messages per send within a chunk's transaction; a single larger message goes alone. */
export const TX_SEND_MAX_BYTES = 512 * 1024;

/** A message of the transaction: an output, or a state record (null value: a tombstone). */
type Message = Omit<Output['message'], 'value'> & { value: string | null };

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

  constructor(
    private readonly kafka: Kafka,
    private readonly options: {
      readonly groupId: string;
      readonly inputTopic: string;
      readonly stateTopic: string;
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
    const byTopic = new Map<string, Message[]>();
    for (const out of outputs) {
      const list = byTopic.get(out.topic) ?? [];
      list.push(out.message);
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
      for (const sendChunk of chunkTopicMessages(byTopic, TX_SEND_MAX_BYTES)) {
        await tx.sendBatch(sendChunk);
      }
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
