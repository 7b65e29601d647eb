/**
 * Baselines: the least code that does the same Kafka and HTTP I/O as grantline, with the same
 * client settings (grantline's `src/kafka` layer: idempotent producer, acks=-1, one request in
 * flight, read_committed consumer, kafkajs default fetch sizes), on the same broker and stub.
 */
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { createConsumer, createProducer, type Kafka, type Message } from '../src/kafka/index.js';
import { createTopics } from './kafka.js';
import { httpCall, runLoad, sleep, summarize, type LatencySummary } from './lib.js';

function payload(bytes: number): string {
  // Printable, incompressible enough: what matters is the byte count on the wire.
  return randomBytes(Math.ceil(bytes / 2)).toString('hex').slice(0, bytes);
}

export interface ProduceBaseline {
  messages: number;
  messageBytes: number;
  mode: string;
  durationMs: number;
  perSec: number;
  latency?: LatencySummary;
}

/** Raw produce of `count` messages of `bytes` each, `batch` messages per send, one send at a time. */
export async function rawProduceBatched(kafka: Kafka, topic: string, count: number, bytes: number, batch: number): Promise<ProduceBaseline> {
  await createTopics(kafka, [topic], 3);
  const producer = createProducer(kafka);
  await producer.connect();
  const value = payload(bytes);
  try {
    const t0 = performance.now();
    for (let i = 0; i < count; i += batch) {
      const messages: Message[] = [];
      for (let j = i; j < Math.min(count, i + batch); j += 1) messages.push({ key: `k-${j}`, value });
      await producer.send(topic, messages);
    }
    const durationMs = performance.now() - t0;
    return { messages: count, messageBytes: bytes, mode: `batches of ${batch}, one send at a time`, durationMs: Math.round(durationMs), perSec: Math.round((count * 1000) / durationMs) };
  } finally {
    await producer.disconnect();
  }
}

/** Raw produce of one message per send with `concurrency` sends at once: what ingress does per webhook. */
export async function rawProduceSingles(kafka: Kafka, topic: string, count: number, bytes: number, concurrency: number, maxMs: number): Promise<ProduceBaseline> {
  await createTopics(kafka, [topic], 3);
  const producer = createProducer(kafka);
  await producer.connect();
  const value = payload(bytes);
  try {
    const r = await runLoad({
      count,
      concurrency,
      maxMs,
      send: async (i) => {
        await producer.send(topic, [{ key: `k-${i}`, value }]);
        return true;
      },
    });
    return {
      messages: r.ok,
      messageBytes: bytes,
      mode: `one message per send, ${concurrency} sends at once`,
      durationMs: Math.round(r.durationMs),
      perSec: Math.round((r.ok * 1000) / r.durationMs),
      latency: summarize(r.latenciesMs),
    };
  } finally {
    await producer.disconnect();
  }
}

const OUT_CHUNK = 200;

export interface LoopBaseline {
  events: number;
  inBytes: number;
  /** Bytes of each message produced per event. */
  outBytes: number[];
  httpGetsPerEvent: number;
  httpPostsPerEvent: number;
  fetchConcurrency: number;
  batches: number;
  /** From the first batch to the last commit, or to the last POST when there are POSTs (group join not counted). */
  durationMs: number;
  perSec: number;
  httpGets: number;
  httpPosts: number;
}

export interface LoopOptions {
  prefix: string;
  count: number;
  inBytes: number;
  /** One message of each size per event, all in the batch's transaction. */
  outBytes: number[];
  fetchConcurrency: number;
  /** Keep-alive GETs per event, one after the other, before the transaction (`fetchConcurrency` events at once). */
  reads?: { urls: (i: number) => string[]; headers: Record<string, string> };
  /**
   * One keep-alive POST per event once its transaction committed, as a write-back does: started
   * after the commit, running while the next batch is read and decided, `fetchConcurrency` at once.
   */
  write?: { url: (i: number) => string; body: string; headers: Record<string, string> };
  maxMs: number;
}

/** Runs `work` over `items`, at most `limit` at once. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (;;) {
        const k = next++;
        if (k >= items.length) return;
        await work(items[k] as T);
      }
    }),
  );
}

/**
 * A consume -> produce loop in one transaction per batch: prefills `input` with `count` events of
 * `inBytes`, then for every batch produces one message per entry of `outBytes` per event and
 * commits the offsets in the same transaction; with `reads`, first does those keep-alive GETs per
 * event (`fetchConcurrency` events at once, as grantline's processor bounds its fetches); with
 * `write`, one POST per event after its commit.
 */
export async function consumeProduceLoop(kafka: Kafka, opts: LoopOptions): Promise<LoopBaseline> {
  const input = `${opts.prefix}loop-in.v1`;
  const output = `${opts.prefix}loop-out.v1`;
  await createTopics(kafka, [input, output], 3);
  const filler = createProducer(kafka);
  await filler.connect();
  const inValue = payload(opts.inBytes);
  for (let i = 0; i < opts.count; i += 500) {
    const messages: Message[] = [];
    for (let j = i; j < Math.min(opts.count, i + 500); j += 1) messages.push({ key: `t-${j}`, value: `${j}|${inValue}` });
    await filler.send(input, messages);
  }
  await filler.disconnect();

  const groupId = `${opts.prefix}loop`;
  const producer = createProducer(kafka, { transactionalId: `${opts.prefix}loop-tx` });
  await producer.connect();
  const consumer = createConsumer(kafka, { groupId, readCommitted: true });
  const agent = new Agent({ keepAlive: true, maxSockets: opts.fetchConcurrency * 2 });
  const outValues = opts.outBytes.map(payload);
  let done = 0;
  let batches = 0;
  let gets = 0;
  let posts = 0;
  let first: number | null = null;
  let last = 0;
  // Write-backs run beside the loop, bounded: a slot is taken before a POST starts.
  let writing = 0;
  const waiting: (() => void)[] = [];
  const inFlight = new Set<Promise<void>>();
  let writeError: unknown = null;
  const postOne = async (i: number): Promise<void> => {
    const w = opts.write as NonNullable<LoopOptions['write']>;
    while (writing >= opts.fetchConcurrency) await new Promise<void>((r) => waiting.push(r));
    writing += 1;
    try {
      const status = await httpCall(agent, w.url(i), 'POST', w.body, w.headers);
      if (status < 200 || status >= 300) throw new Error(`baseline POST answered ${status}`);
      posts += 1;
      last = Math.max(last, performance.now());
    } finally {
      writing -= 1;
      waiting.shift()?.();
    }
  };
  await consumer.connect();
  await consumer.subscribe({ topics: [input], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      if (writeError !== null) throw writeError;
      first ??= performance.now();
      const ids = batch.messages.map((m) => Number(m.value?.toString('utf8').split('|', 1)[0]));
      const reads = opts.reads;
      if (reads) {
        await pool(ids, opts.fetchConcurrency, async (id) => {
          for (const url of reads.urls(id)) {
            const status = await httpCall(agent, url, 'GET', undefined, reads.headers);
            if (status !== 200) throw new Error(`baseline GET answered ${status}`);
            gets += 1;
          }
        });
        await heartbeat();
      }
      const lastOffset = batch.messages[batch.messages.length - 1]?.offset as string;
      const tx = await producer.transaction();
      try {
        // Chunks: one record batch per partition must stay under the broker's message.max.bytes (1 MB).
        const perChunk = Math.max(1, Math.floor(OUT_CHUNK / outValues.length));
        for (let i = 0; i < batch.messages.length; i += perChunk) {
          await tx.send(
            output,
            batch.messages.slice(i, i + perChunk).flatMap((m) => outValues.map((value) => ({ key: m.key, value }))),
          );
        }
        await tx.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(lastOffset) + 1n).toString() }] }] });
        await tx.commit();
      } catch (error) {
        await tx.abort().catch(() => undefined);
        throw error;
      }
      resolveOffset(lastOffset);
      batches += 1;
      done += batch.messages.length;
      last = Math.max(last, performance.now());
      if (opts.write) {
        for (const id of ids) {
          const p: Promise<void> = postOne(id)
            .catch((error: unknown) => {
              writeError = error;
            })
            .finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
      }
    },
  });
  const deadline = Date.now() + opts.maxMs;
  while (done < opts.count && Date.now() < deadline) await sleep(20);
  await Promise.all(inFlight);
  await consumer.disconnect();
  await producer.disconnect();
  agent.destroy();
  if (writeError !== null) throw writeError;
  const durationMs = first === null ? NaN : last - first;
  return {
    events: done,
    inBytes: opts.inBytes,
    outBytes: opts.outBytes,
    httpGetsPerEvent: opts.reads ? opts.reads.urls(0).length : 0,
    httpPostsPerEvent: opts.write ? 1 : 0,
    fetchConcurrency: opts.fetchConcurrency,
    batches,
    durationMs: Math.round(durationMs),
    perSec: Math.round((done * 1000) / durationMs),
    httpGets: gets,
    httpPosts: posts,
  };
}

/** A baseline to run, as plain data (URLs are templates: `{id}` is replaced by the event's issue id). */
export type BaselineSpec =
  | { kind: 'raw-batched'; topic: string; count: number; bytes: number; batch: number }
  | { kind: 'raw-singles'; topic: string; count: number; bytes: number; concurrency: number; maxMs: number }
  | {
      kind: 'loop';
      options: Omit<LoopOptions, 'reads' | 'write'>;
      /** Stub issue ids; event i is about ids[i % ids.length]. */
      ids: string[];
      reads?: { urls: string[]; headers: Record<string, string> };
      write?: { url: string; body: string; headers: Record<string, string> };
    };
