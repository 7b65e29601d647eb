import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { createPipelineMetrics } from '../../src/pipeline/metrics.js';
import { signJiraBody } from '../../connectors/jira/index.js';
import { FakeProducer, ingress, issueEvent, now, signed } from '../fixtures/ingress.js';

describe('Ingress: verdicts', { timeout: 30_000 }, () => {
  it('answers a validly signed body that is not JSON with 400 malformed and publishes nothing', async () => {
    const producer = new FakeProducer();
    const result = await ingress(producer).ingest('jira-main', signed('webhookEvent=jira:issue_updated'));
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject({ error: { code: 'malformed' } });
    expect(producer.sent).toHaveLength(0);
  });

  it('still answers a forged body 401 and a genuine one 202', async () => {
    const producer = new FakeProducer();
    const forged = { ...signed(issueEvent('10001')), headers: signJiraBody(Buffer.from(issueEvent('10001')), 'guess') };
    expect((await ingress(producer).ingest('jira-main', forged)).status).toBe(401);
    expect((await ingress(producer).ingest('jira-main', signed(issueEvent('10001')))).status).toBe(202);
    expect(producer.sent).toHaveLength(1);
  });
});

describe('Ingress: replays of a signed body', () => {
  it('stores a body once: a replay with a fresh delivery id inside the window does no Kafka write', async () => {
    const producer = new FakeProducer();
    const subject = ingress(producer);
    const body = issueEvent('10002');
    const first = await subject.ingest('jira-main', signed(body, { 'x-atlassian-webhook-identifier': 'delivery-1' }));
    expect(first).toMatchObject({ status: 202, body: { status: 'accepted', deliveryId: 'delivery-1' } });
    for (const fresh of ['delivery-2', 'delivery-3']) {
      const replay = await subject.ingest('jira-main', signed(body, { 'x-atlassian-webhook-identifier': fresh }, new Date(now.getTime() + 60_000)));
      expect(replay).toMatchObject({ status: 202, body: { status: 'duplicate', deliveryId: 'delivery-1', ticketId: '10002' } });
    }
    expect(producer.sent).toHaveLength(1);
    // Another event of the same ticket is new content and is stored.
    const next = await subject.ingest('jira-main', signed(issueEvent('10002', new Date(now.getTime() + 1)), { 'x-atlassian-webhook-identifier': 'delivery-4' }));
    expect(next.body).toMatchObject({ status: 'accepted' });
    expect(producer.sent).toHaveLength(2);
  });

  it('copies arriving while the first is being written wait for it and are not written', async () => {
    const producer = new FakeProducer();
    let release: () => void = () => undefined;
    producer.gate = new Promise((resolve) => (release = resolve));
    const subject = ingress(producer);
    const body = issueEvent('10003');
    const copies = ['a', 'b', 'c'].map((id) => subject.ingest('jira-main', signed(body, { 'x-atlassian-webhook-identifier': id })));
    release();
    const results = await Promise.all(copies);
    expect(results.map((r) => (r.body as { status: string }).status).sort()).toEqual(['accepted', 'duplicate', 'duplicate']);
    expect(producer.sent).toHaveLength(1);
  });

  it('does not remember a body that could not be stored: the source retry is written', async () => {
    const producer = new FakeProducer();
    // The broker refused it for good (retrying the same batch cannot help).
    producer.failWith = Object.assign(new Error('The request included a message larger than the max message size the server will accept'), { name: 'KafkaJSProtocolError', retriable: false });
    const subject = ingress(producer);
    const body = issueEvent('10004');
    expect((await subject.ingest('jira-main', signed(body, { 'x-atlassian-webhook-identifier': 'r1' }))).status).toBe(503);
    producer.failWith = undefined;
    expect(await subject.ingest('jira-main', signed(body, { 'x-atlassian-webhook-identifier': 'r1' }))).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect(producer.sent).toHaveLength(1);
  });

  it('reports the bodies it remembers as a gauge, which a replay does not raise', async () => {
    const registry = new Registry();
    const subject = ingress(new FakeProducer(), { metrics: createPipelineMetrics(registry) });
    const gauge = async (): Promise<number | undefined> => (await registry.getSingleMetric('grantline_ingress_replay_bodies')?.get())?.values[0]?.value;
    await subject.ingest('jira-main', signed(issueEvent('10011'), { 'x-atlassian-webhook-identifier': 'a' }));
    await subject.ingest('jira-main', signed(issueEvent('10012'), { 'x-atlassian-webhook-identifier': 'b' }));
    expect(await gauge()).toBe(2);
    await subject.ingest('jira-main', signed(issueEvent('10012'), { 'x-atlassian-webhook-identifier': 'c' }));
    expect(await gauge()).toBe(2);
  });

  it('forgets bodies after the window and past the entry bound (memory stays bounded)', async () => {
    const producer = new FakeProducer();
    const subject = ingress(producer, { replay: { windowMs: 1_000_000, maxEntries: 2 } });
    const bodies = ['10010', '10011', '10012'].map((id) => issueEvent(id));
    for (const b of bodies) await subject.ingest('jira-main', signed(b));
    expect(producer.sent).toHaveLength(3);
    // The oldest was forgotten to stay within 2 entries; the two newest are still known.
    await subject.ingest('jira-main', signed(bodies[2]!));
    expect(producer.sent).toHaveLength(3);
    await subject.ingest('jira-main', signed(bodies[0]!));
    expect(producer.sent).toHaveLength(4);

    const windowed = ingress(producer, { replay: { windowMs: 1_000, maxEntries: 100 } });
    await windowed.ingest('jira-main', signed(bodies[1]!));
    const sent = producer.sent.length;
    await windowed.ingest('jira-main', signed(bodies[1]!, {}, new Date(now.getTime() + 2_000)));
    expect(producer.sent).toHaveLength(sent + 1);
  });
});

describe('Ingress: Kafka slow or down', { timeout: 30_000 }, () => {
  const deliveredIds = (producer: FakeProducer) => producer.sent.map((m) => (JSON.parse(String(m.value)) as { deliveryId: string }).deliveryId);

  it('never writes a delivery answered 503: one still queued at its deadline is dropped, one in flight waits for its send', async () => {
    // Fake timers: the deadline (3 s) and the in-flight bound (6 s) fire exactly when told, however loaded the machine.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const producer = new FakeProducer();
      let release: () => void = () => undefined;
      producer.gate = new Promise((resolve) => (release = resolve));
      const subject = ingress(producer, { produceTimeoutMs: 3_000 });
      let inFlightAnswer: unknown;
      const inFlight = subject.ingest('jira-main', signed(issueEvent('10020'), { 'x-atlassian-webhook-identifier': 'in-flight' })).then((r) => (inFlightAnswer = r));
      const queued = subject.ingest('jira-main', signed(issueEvent('10021'), { 'x-atlassian-webhook-identifier': 'queued' }));
      await vi.advanceTimersByTimeAsync(3_001);
      // Dropped from the queue before it was answered: it will never be written.
      expect(await queued).toMatchObject({ status: 503, body: { stored: 'no' } });
      expect(inFlightAnswer).toBeUndefined();
      release();
      // The send that was already in flight succeeded: its delivery is 202 although it took longer.
      await inFlight;
      expect(inFlightAnswer).toMatchObject({ status: 202, body: { status: 'accepted' } });
      await vi.advanceTimersByTimeAsync(10_000);
      expect(deliveredIds(producer)).toEqual(['in-flight']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('bounds the queue in messages and bytes: past either, 503 at once and nothing is written later', async () => {
    // The size of one such message, to bound the queue at two and a half of them.
    const probe = new FakeProducer();
    await ingress(probe).ingest('jira-main', signed(issueEvent('10039'), { 'x-atlassian-webhook-identifier': 'probe' }));
    const one = Buffer.byteLength(String(probe.sent[0]?.key)) + Buffer.byteLength(String(probe.sent[0]?.value));
    for (const queue of [{ maxCount: 2, maxBytes: 1_000_000 }, { maxCount: 1_000, maxBytes: Math.floor(one * 2.5) }]) {
      const producer = new FakeProducer();
      let release: () => void = () => undefined;
      producer.gate = new Promise((resolve) => (release = resolve));
      const subject = ingress(producer, { produceTimeoutMs: 10_000, queue });
      const answers = ['a', 'b', 'c', 'd'].map((id, i) => subject.ingest('jira-main', signed(issueEvent(`1003${i}`), { 'x-atlassian-webhook-identifier': id })));
      // a is in flight, b and c wait; d does not fit.
      const d = await answers[3]!;
      expect(d).toMatchObject({ status: 503, body: { stored: 'no' } });
      release();
      expect((await Promise.all(answers)).map((r) => r.status)).toEqual([202, 202, 202, 503]);
      expect(deliveredIds(producer)).toEqual(['a', 'b', 'c']);
    }
  });

  it('sends a failed batch again, before anything else, until Kafka takes it: answered 202, written once', async () => {
    const producer = new FakeProducer();
    // Far beyond the two 1 s pauses between sends, so that nothing waiting is dropped on a loaded machine.
    const subject = ingress(producer, { produceTimeoutMs: 60_000 });
    // A request that timed out: the broker may or may not have appended it.
    producer.failWith = new Error('Request Produce(key: 0, version: 7) timed out');
    const first = ['f1', 'f2', 'f3'].map((id, i) => subject.ingest('jira-main', signed(issueEvent(`1005${i}`), { 'x-atlassian-webhook-identifier': id })));
    await vi.waitFor(() => expect(producer.batches.length).toBeGreaterThanOrEqual(2), { timeout: 10_000, interval: 20 });
    producer.failWith = undefined;
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([202, 202, 202]);
    // f1 alone, sent again after each failure with nothing before it (kafkajs reuses its sequence
    // numbers: only the same batch may carry them); once Kafka took it, f2 and f3 go together.
    expect(producer.batches).toEqual([1, 1, 1, 2]);
    expect(deliveredIds(producer)).toEqual(['f1', 'f2', 'f3']);
  });

  it('answers a delivery whose write outlasts twice the deadline 504 pending; it is written once, and a retry gets that write', async () => {
    const producer = new FakeProducer();
    let release: () => void = () => undefined;
    producer.gate = new Promise((resolve) => (release = resolve));
    const subject = ingress(producer, { produceTimeoutMs: 100 });
    const body = issueEvent('10070');
    expect(await subject.ingest('jira-main', signed(body, { 'x-atlassian-webhook-identifier': 'slow' }))).toMatchObject({ status: 504, body: { stored: 'pending' } });
    const retry = subject.ingest('jira-main', signed(body, { 'x-atlassian-webhook-identifier': 'slow' }));
    release();
    expect(await retry).toMatchObject({ status: 202, body: { status: 'duplicate', deliveryId: 'slow' } });
    expect(deliveredIds(producer)).toEqual(['slow']);
  });

  it('once closed, answers what waits 503 never sent and gives up the batch it was sending again', async () => {
    const producer = new FakeProducer();
    const subject = ingress(producer, { produceTimeoutMs: 10_000 });
    producer.failWith = new Error('Connection closed');
    const answers = ['c1', 'c2'].map((id, i) => subject.ingest('jira-main', signed(issueEvent(`1008${i}`), { 'x-atlassian-webhook-identifier': id })));
    await vi.waitFor(() => expect(producer.batches.length).toBeGreaterThanOrEqual(1), { timeout: 10_000, interval: 20 });
    subject.close();
    expect((await Promise.all(answers)).map((r) => [r.status, (r.body as { stored?: string }).stored])).toEqual([
      [503, 'unknown'],
      [503, 'no'],
    ]);
    expect(producer.batches).toEqual([1]);
  });
});
