import { describe, expect, it } from 'vitest';
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
    producer.failWith = new Error('broker down');
    const subject = ingress(producer);
    const body = issueEvent('10004');
    expect((await subject.ingest('jira-main', signed(body, { 'x-atlassian-webhook-identifier': 'r1' }))).status).toBe(503);
    producer.failWith = undefined;
    expect(await subject.ingest('jira-main', signed(body, { 'x-atlassian-webhook-identifier': 'r1' }))).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect(producer.sent).toHaveLength(1);
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
    const producer = new FakeProducer();
    let release: () => void = () => undefined;
    producer.gate = new Promise((resolve) => (release = resolve));
    const subject = ingress(producer, { produceTimeoutMs: 100 });
    const inFlight = subject.ingest('jira-main', signed(issueEvent('10020'), { 'x-atlassian-webhook-identifier': 'in-flight' }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const queued = await subject.ingest('jira-main', signed(issueEvent('10021'), { 'x-atlassian-webhook-identifier': 'queued' }));
    // Dropped from the queue before it was answered: it will never be written.
    expect(queued).toMatchObject({ status: 503, body: { stored: 'no' } });
    release();
    // The send that was already in flight succeeded: its delivery is 202 although it took longer.
    expect(await inFlight).toMatchObject({ status: 202, body: { status: 'accepted' } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(deliveredIds(producer)).toEqual(['in-flight']);
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

  it('after a failed send, hands Kafka one delivery at a time until it takes one again', async () => {
    const producer = new FakeProducer();
    const subject = ingress(producer, { produceTimeoutMs: 10_000 });
    let release: () => void = () => undefined;
    producer.gate = new Promise((resolve) => (release = resolve));
    producer.failWith = new Error('broker down');
    const first = ['f1', 'f2', 'f3'].map((id, i) => subject.ingest('jira-main', signed(issueEvent(`1005${i}`), { 'x-atlassian-webhook-identifier': id })));
    release();
    // A send that failed may still have been appended by the broker: the answer says so.
    expect((await Promise.all(first)).map((r) => [r.status, (r.body as { stored?: string }).stored])).toEqual([
      [503, 'unknown'],
      [503, 'unknown'],
      [503, 'unknown'],
    ]);
    producer.failWith = undefined;
    producer.gate = new Promise((resolve) => (release = resolve));
    const next = ['n1', 'n2', 'n3', 'n4'].map((id, i) => subject.ingest('jira-main', signed(issueEvent(`1006${i}`), { 'x-atlassian-webhook-identifier': id })));
    release();
    expect((await Promise.all(next)).map((r) => r.status)).toEqual([202, 202, 202, 202]);
    // f1 alone (the first ingest), then one at a time once it failed; n1 alone probes, and once it
    // is stored the rest go together again.
    expect(producer.batches).toEqual([1, 1, 1, 1, 3]);
  });
});
