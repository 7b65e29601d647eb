/** What every scenario of one benchmark run shares: the broker, the stubs, an HTTP agent, the clock. */
import type { Agent } from 'node:http';
import type { Stubs } from '../../dev/harness.js';
import type { Kafka } from '../../src/kafka/index.js';
import { prefixTopics, topicEnds, type TopicEnds } from '../kafka.js';
import { sleep } from '../lib.js';

export interface BenchContext {
  readonly brokers: string;
  readonly kafka: Kafka;
  readonly stubs: Stubs;
  /** Keep-alive agent for webhook deliveries. */
  readonly agent: Agent;
  /** Unique per run: topic prefixes and instance ids carry it. */
  readonly runId: string;
  /** `performance.now()` when the run started. */
  readonly t0: number;
}

/** Webhook requests in flight at saturation. */
export const CONCURRENCY = 32;
/** grantline's default `pipeline.fetchConcurrency`; the baselines use the same. */
export const FETCH_CONCURRENCY = 8;

/**
 * Waits until a grantline instance has finished what it was given: `done()` holds (say, every
 * ticket has its note) and then the end offsets of every topic of the prefix stay the same for
 * `quietMs` (no write-back record, custody event or state still on its way). Returns the end
 * offsets it settled at, or null on timeout. Independent of grantline's consumer group names.
 */
export async function settle(ctx: BenchContext, prefix: string, done: () => boolean, timeoutMs: number, quietMs = 1000): Promise<TopicEnds | null> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return null;
    await sleep(50);
  }
  const topics = await prefixTopics(ctx.kafka, prefix);
  let last = await topicEnds(ctx.kafka, topics);
  for (;;) {
    await sleep(quietMs);
    const now = await topicEnds(ctx.kafka, topics);
    if (sameEnds(last, now)) return now;
    if (Date.now() > deadline) return null;
    last = now;
  }
}

function sameEnds(a: TopicEnds, b: TopicEnds): boolean {
  if (a.size !== b.size) return false;
  for (const [topic, ends] of a) {
    const other = b.get(topic);
    if (other === undefined || other.size !== ends.size) return false;
    for (const [p, end] of ends) if (other.get(p) !== end) return false;
  }
  return true;
}
