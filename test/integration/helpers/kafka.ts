/**
 * Shared helpers for integration tests against the real broker that scripts/test.sh starts and
 * names in KAFKA_BROKERS. They go through src/kafka like the service does.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { createConsumer, createKafka, ensureTopics } from '../../../src/kafka/index.js';
import type { IHeaders, Kafka, KafkaMessage, TopicSpec } from '../../../src/kafka/index.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Bootstrap brokers of the test broker, from KAFKA_BROKERS (`host:port[,host:port]`). */
export function brokers(): string[] {
  const raw = process.env.KAFKA_BROKERS;
  if (!raw || raw.trim() === '') {
    throw new Error('KAFKA_BROKERS is not set: run integration tests through scripts/test.sh');
  }
  return raw.split(',').map((b) => b.trim()).filter((b) => b !== '');
}

/** A short random suffix, so topics, groups and transactional ids never collide across runs. */
export function randomTopicSuffix(): string {
  return randomBytes(5).toString('hex');
}

/** A topic name no other test (or earlier run on the same broker) has used. */
export function uniqueTopic(base = 'test'): string {
  return `it.${base}.${randomTopicSuffix()}`;
}

/** Logger for tests: silent unless GRANTLINE_TEST_LOG_LEVEL asks for more. */
export function testLogger(): Logger {
  return pino({ level: process.env.GRANTLINE_TEST_LOG_LEVEL ?? 'silent' });
}

/** A client for the test broker, made the way the service makes its own. */
export function testKafka(clientId = 'grantline-it', logger: Logger = testLogger()): Kafka {
  return createKafka({ brokers: brokers(), clientId, topicPrefix: '', partitions: 1 }, logger);
}

/** Creates fresh topics (unique names) and returns their names in the order given. */
export async function createTopics(kafka: Kafka, specs: TopicSpec[]): Promise<string[]> {
  await ensureTopics(kafka, specs);
  return specs.map((s) => s.topic);
}

/** A consumed message with its bytes decoded as UTF-8, plus the raw kafkajs message. */
export type ConsumedMessage = {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string | string[]>;
  raw: KafkaMessage;
};

function decodeHeaders(headers: IHeaders | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.map((v) => v.toString('utf8')) : value.toString('utf8');
  }
  return out;
}

export type ConsumeOptions = {
  /** Isolation level of the reading consumer; default true (read_committed). */
  readCommitted?: boolean;
  /** Stop once this many messages have been read. */
  count?: number;
  /** Stop after the first message for which this is true (it is included). */
  until?: (message: ConsumedMessage) => boolean;
  /** Give up waiting after this long and return what was read; default 20 s. */
  timeoutMs?: number;
};

/**
 * Reads a topic from the beginning with a fresh consumer group until `count` messages were read,
 * `until` matched, or `timeoutMs` passed, then returns the messages in the order consumed. On a
 * timeout it returns what it has, so a test's length assertion shows what arrived.
 */
export async function consumeAll(kafka: Kafka, topic: string, opts: ConsumeOptions = {}): Promise<ConsumedMessage[]> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const consumer = createConsumer(kafka, {
    groupId: `it-reader-${randomTopicSuffix()}`,
    readCommitted: opts.readCommitted ?? true,
    maxWaitTimeInMs: 100,
  });
  const messages: ConsumedMessage[] = [];
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const timer = setTimeout(finish, timeoutMs);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic: from, partition, message }) => {
        const consumed: ConsumedMessage = {
          topic: from,
          partition,
          offset: message.offset,
          key: message.key === null ? null : message.key.toString('utf8'),
          value: message.value === null ? null : message.value.toString('utf8'),
          headers: decodeHeaders(message.headers),
          raw: message,
        };
        messages.push(consumed);
        if ((opts.count !== undefined && messages.length >= opts.count) || opts.until?.(consumed) === true) finish();
      },
    });
    await done;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return messages;
}

function testBrokerPort(): string {
  const first = brokers()[0] ?? '';
  const port = first.slice(first.lastIndexOf(':') + 1);
  if (!/^\d+$/.test(port)) throw new Error(`cannot tell the test broker's port from KAFKA_BROKERS=${first}`);
  return port;
}

function dataArgs(): string[] {
  const data = process.env.KAFKA_DATA_DIR;
  return data ? ['--data', data] : [];
}

/** Stops the test broker (clean shutdown; its data dir stays). */
export async function stopBroker(): Promise<void> {
  await run('bash', [`${repoRoot}dev/kafka/stop.sh`, '--port', testBrokerPort(), ...dataArgs()], { timeout: 60_000 });
}

/** Starts the test broker again on the same port and data dir, so its topics are still there. */
export async function startBroker(): Promise<void> {
  await run('bash', [`${repoRoot}dev/kafka/start.sh`, '--port', testBrokerPort(), ...dataArgs()], { timeout: 120_000 });
}
