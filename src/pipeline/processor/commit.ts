import { describeError, GrantlineError } from '../../connector/errors.js';
import { createProducer, type GrantlineProducer, type Kafka } from '../../kafka/index.js';
import type { TicketState } from '../../model/index.js';
import type { Output } from '../cloudevents.js';

/** Bytes of messages per send within a chunk's transaction; a single larger message goes alone. */
export const TX_SEND_MAX_BYTES = 512 * 1024;

type Message = Output['message'];

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
      let size = Buffer.byteLength(message.key) + Buffer.byteLength(message.value);
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
  readonly states: readonly { key: string; state: TicketState }[];
  /** The next offset to read: the last processed one plus one. */
  readonly nextOffset: bigint;
}

/**
 * Publishes a chunk's outputs, its new ticket states and its consumed offset in ONE Kafka
 * transaction: all of it becomes visible or none of it.
 */
export class TransactionalCommitter {
  private producer: GrantlineProducer | null = null;
  private broken = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: {
      /** Stable per instance, so a restarted processor fences its predecessor's open transaction. */
      readonly transactionalId: string;
      readonly groupId: string;
      readonly stateTopic: string;
    },
  ) {}

  /** Connects the producer now, so a start fails early when Kafka refuses it. */
  async connect(): Promise<void> {
    await this.transactionalProducer();
  }

  async disconnect(): Promise<void> {
    await this.producer?.disconnect();
    this.producer = null;
  }

  /**
   * The transactional producer, made anew after a failed transaction: after a broker restart the
   * old one can stay stuck behind the coordinator's abort of its open transaction, while a new one
   * (same transactional id) waits for that abort, fences the old epoch and goes on.
   */
  private async transactionalProducer(): Promise<GrantlineProducer> {
    if (this.producer && !this.broken) return this.producer;
    await this.producer?.disconnect().catch(() => undefined);
    const producer = createProducer(this.kafka, { transactionalId: this.options.transactionalId });
    await producer.connect();
    this.producer = producer;
    this.broken = false;
    return producer;
  }

  /** Commits the chunk; a failure throws a `restartable` error with nothing visible or committed. */
  async commit(chunk: ChunkCommit): Promise<void> {
    await this.send(chunk).catch((error: unknown) => {
      throw restartable('committing the batch', error);
    });
  }

  private async send({ topic, partition, outputs, states, nextOffset }: ChunkCommit): Promise<void> {
    const producer = await this.transactionalProducer();
    const byTopic = new Map<string, Message[]>();
    for (const out of outputs) {
      const list = byTopic.get(out.topic) ?? [];
      list.push(out.message);
      byTopic.set(out.topic, list);
    }
    const stateTopic = this.options.stateTopic;
    const stateMessages = states.map(({ key, state }) => ({ key, value: JSON.stringify(state), headers: {} }));
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
      // Nothing of the chunk is visible or committed; the consumer re-reads it from the last
      // resolved offset, and the next attempt gets a fresh producer.
      this.broken = true;
      throw error;
    }
  }
}
