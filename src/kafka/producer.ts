import { Partitioners } from 'kafkajs';
import type { Kafka, Message, Producer, RecordMetadata, TopicMessages, TopicOffsets, Transaction } from 'kafkajs';

/** Every produce waits for all in-sync replicas; grantline never writes with weaker acks. */
const ACKS_ALL = -1;

/** One open Kafka transaction. Either `commit` or `abort` it; nothing is visible before commit. */
export interface GrantlineTransaction {
  send(topic: string, messages: Message[]): Promise<RecordMetadata[]>;
  sendBatch(topicMessages: TopicMessages[]): Promise<RecordMetadata[]>;
  /** Commits the consumer group's offsets atomically with the messages of this transaction. */
  sendOffsets(offsets: { consumerGroupId: string; topics: TopicOffsets[] }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  isActive(): boolean;
}

/**
 * grantline's producer: idempotent, `acks=-1` on every send (callers cannot pass weaker acks),
 * transactional when created with a `transactionalId`.
 */
export interface GrantlineProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Outside a transaction; only for a producer created without `transactionalId`. */
  send(topic: string, messages: Message[]): Promise<RecordMetadata[]>;
  /** Outside a transaction; only for a producer created without `transactionalId`. */
  sendBatch(topicMessages: TopicMessages[]): Promise<RecordMetadata[]>;
  /** Begins a transaction; only for a producer created with `transactionalId`. */
  transaction(): Promise<GrantlineTransaction>;
  readonly transactional: boolean;
}

export type ProducerOptions = {
  /**
   * Makes the producer transactional. Must be stable per producing instance (e.g. role plus
   * instance id) so a restarted instance fences its zombie predecessor.
   */
  transactionalId?: string;
  /** Broker aborts a transaction left open longer than this; kafkajs default 60000 ms. */
  transactionTimeoutMs?: number;
  /**
   * Applied to every message before it is sent (in or outside a transaction): grantline passes
   * `internalSealer` (src/trust), which adds the MAC header to messages bound for its internal topics.
   */
  seal?: (topic: string, message: Message) => Message;
};

type Sealer = (topic: string, messages: Message[]) => Message[];

function sealerOf(seal: ProducerOptions['seal']): Sealer {
  return seal === undefined ? (_topic, messages) => messages : (topic, messages) => messages.map((m) => seal(topic, m));
}

function sealBatch(seal: Sealer, topicMessages: TopicMessages[]): TopicMessages[] {
  return topicMessages.map((t) => ({ ...t, messages: seal(t.topic, t.messages) }));
}

function wrapTransaction(tx: Transaction, seal: Sealer): GrantlineTransaction {
  return {
    send: (topic, messages) => tx.send({ topic, messages: seal(topic, messages), acks: ACKS_ALL }),
    sendBatch: (topicMessages) => tx.sendBatch({ topicMessages: sealBatch(seal, topicMessages), acks: ACKS_ALL }),
    sendOffsets: ({ consumerGroupId, topics }) => tx.sendOffsets({ consumerGroupId, topics }),
    commit: () => tx.commit(),
    abort: () => tx.abort(),
    isActive: () => tx.isActive(),
  };
}

/**
 * Creates grantline's producer. Idempotent always; one request in flight per broker connection,
 * because kafkajs' idempotent producer keeps order across retries only then.
 *
 * Retries are bounded (`SERVICE_RETRY`), so kafkajs logs once at creation that limited retries may
 * weaken exactly-once. That is the chosen trade: a send fails within seconds with a `retriable`
 * error instead of hanging, and a re-send after such a failure may duplicate, which consumers
 * absorb (deterministic `requestId`, grants keyed by `grantId`). Transactions are unaffected:
 * an uncommitted transaction is aborted and its messages never reach read_committed readers.
 */
export function createProducer(kafka: Kafka, opts: ProducerOptions = {}): GrantlineProducer {
  const transactional = opts.transactionalId !== undefined;
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    transactionalId: opts.transactionalId,
    transactionTimeout: opts.transactionTimeoutMs,
    allowAutoTopicCreation: false,
    // The kafkajs 2.x default partitioner (murmur2, as the Java client), named so kafkajs does not
    // warn about the v1 -> v2 change on every start.
    createPartitioner: Partitioners.DefaultPartitioner,
  });

  const seal = sealerOf(opts.seal);
  return {
    transactional,
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    send: (topic, messages) => producer.send({ topic, messages: seal(topic, messages), acks: ACKS_ALL }),
    sendBatch: (topicMessages) => producer.sendBatch({ topicMessages: sealBatch(seal, topicMessages), acks: ACKS_ALL }),
    transaction: async () => {
      if (!transactional) {
        throw new Error('transaction() needs a producer created with a transactionalId');
      }
      return wrapTransaction(await producer.transaction(), seal);
    },
  };
}
