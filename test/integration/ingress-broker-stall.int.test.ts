import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, createProducer, type GrantlineProducer } from '../../src/kafka/index.js';
import { Ingress, type IngestResult } from '../../src/pipeline/ingress.js';
import { createPipelineMetrics } from '../../src/pipeline/metrics.js';
import { issueEvent, jira, signed } from '../fixtures/ingress.js';
import { consumeAll, createTopics, testLogger } from './helpers/kafka.js';

/**
 * A broker that stops answering (SIGSTOP: a long GC pause, a starved or shutting-down broker)
 * while a delivery's send is in flight. The produce request sits in the broker's socket; the
 * client times out, and kafkajs takes back the batch's sequence numbers. The broker appends the
 * batch when it runs again. Ingress must still answer 202 only for what is on the topic, and 503
 * only for what never will be. The broker is this test's own: it is frozen, never the shared one.
 */
const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const PORTS = { from: 19120, to: 19149 };

async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = PORTS.from + Math.floor(Math.random() * (PORTS.to - PORTS.from + 1));
    const free = await new Promise<boolean>((ok) => {
      const s = createServer().once('error', () => ok(false));
      s.listen(port, '127.0.0.1', () => s.close(() => ok(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${PORTS.from}-${PORTS.to}`);
}

const answer = (r: IngestResult) => [r.status, 'stored' in r.body ? r.body.stored : (r.body as { status?: string }).status];

describe('ingress when the broker stalls with a send in flight', () => {
  let dataDir: string;
  let port: number;
  let brokerPid: number;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'grantline-stall-kafka-'));
    port = await freePort();
    await run('bash', [`${repo}/dev/kafka/start.sh`, '--port', String(port), '--data', dataDir], { timeout: 120_000 });
    brokerPid = Number(readFileSync(join(dataDir, 'kafka.pid'), 'utf8').trim());
  }, 180_000);

  afterAll(async () => {
    if (brokerPid) process.kill(brokerPid, 'SIGCONT');
    await run('bash', [`${repo}/dev/kafka/stop.sh`, '--port', String(port), '--data', dataDir], { timeout: 120_000 }).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('answers 202 only for deliveries on the topic (exactly once) and 503 only for ones never written', async () => {
    // A short request timeout, so that a send to the frozen broker fails within seconds.
    const kafka = createKafka({ brokers: [`127.0.0.1:${port}`], clientId: 'stall-test', topicPrefix: '', partitions: 1, requestTimeoutMs: 1_500 }, testLogger());
    const topic = `stall-${Date.now().toString(36)}.ticket-events`;
    // One partition: every delivery shares the producer's sequence numbers.
    await createTopics(kafka, [{ topic, partitions: 1 }]);
    const producer: GrantlineProducer = createProducer(kafka);
    await producer.connect();
    // The producer's first send (metadata, producer id) is slow on a loaded machine: not a delivery.
    await producer.send(topic, [{ key: 'warm-up', value: '{}' }]);
    const ingress = new Ingress({
      connectors: new Map([['jira-main', jira()]]),
      producer,
      topic,
      logger: pino({ level: 'silent' }),
      metrics: createPipelineMetrics(new Registry()),
      produceTimeoutMs: 5_000,
    });
    const deliver = (id: string, deliveryId: string) => ingress.ingest('jira-main', signed(issueEvent(id), { 'x-atlassian-webhook-identifier': deliveryId }));
    const answers = new Map<string, IngestResult>();
    try {
      answers.set('d1', await deliver('20001', 'd1'));

      process.kill(brokerPid, 'SIGSTOP');
      const inFlight = deliver('20002', 'd2');
      await new Promise((r) => setTimeout(r, 200));
      // Waits behind d2 and is dropped at its deadline.
      answers.set('d3', await deliver('20003', 'd3'));
      answers.set('d2', await inFlight);
      process.kill(brokerPid, 'SIGCONT');

      // The broker now appends what it had been sent while frozen. The next delivery is a batch
      // of the same size as d2's on the same partition.
      answers.set('d4', await deliver('20004', 'd4'));
      answers.set('d5', await deliver('20005', 'd5'));
    } finally {
      ingress.close();
      await producer.disconnect();
    }

    const read = await consumeAll(kafka, topic, { count: 10, timeoutMs: 10_000 });
    const onTopic = new Map<string, number>();
    for (const m of read) {
      const id = (JSON.parse(m.value ?? '{}') as { deliveryId?: string }).deliveryId ?? '';
      onTopic.set(id, (onTopic.get(id) ?? 0) + 1);
    }
    const seen = Object.fromEntries([...answers].map(([id, r]) => [id, [...answer(r), onTopic.get(id) ?? 0]]));
    // d1, d4, d5: stored, answered 202, on the topic once. d3: never sent, 503 `no`, not on the
    // topic. d2: handed to Kafka before the broker froze: answered 504 `pending` (not 503), and
    // written exactly once once the broker runs again.
    expect(seen).toEqual({
      d1: [202, 'accepted', 1],
      d2: [504, 'pending', 1],
      d3: [503, 'no', 0],
      d4: [202, 'accepted', 1],
      d5: [202, 'accepted', 1],
    });
  }, 180_000);
});
