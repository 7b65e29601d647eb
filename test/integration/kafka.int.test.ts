import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkKafka,
  createProducer,
  describeTopicConfig,
  ensureTopics,
  grantlineTopicSpecs,
  RESTORED_TOPIC_TUNING,
  topicNames,
  TopicConfigMismatchError,
} from '../../src/kafka/index.js';
import type { Kafka } from '../../src/kafka/index.js';
import { consumeAll, createTopics, randomTopicSuffix, startBroker, stopBroker, testKafka, uniqueTopic } from './helpers/kafka.js';

let kafka: Kafka;

beforeAll(() => {
  kafka = testKafka();
});

describe('produce and consume', () => {
  it('keeps keys, headers and values intact, in order per key', async () => {
    const [topic] = await createTopics(kafka, [{ topic: uniqueTopic('roundtrip'), partitions: 3 }]);
    const producer = createProducer(kafka);
    await producer.connect();
    try {
      await producer.send(topic!, [
        { key: 'ticket-1', value: JSON.stringify({ n: 1, text: 'zugriff für prod ✓' }), headers: { ce_id: 'a-1', ce_type: 'grant.issued' } },
        { key: 'ticket-2', value: JSON.stringify({ n: 2 }), headers: { ce_id: 'a-2', multi: ['x', 'y'] } },
        { key: 'ticket-1', value: JSON.stringify({ n: 3 }), headers: { ce_id: 'a-3' } },
        { key: 'ticket-3', value: null, headers: {} },
      ]);
    } finally {
      await producer.disconnect();
    }

    const got = await consumeAll(kafka, topic!, { count: 4 });

    expect(got).toHaveLength(4);
    const byId = new Map(got.map((m) => [m.headers.ce_id ?? m.key, m]));
    expect(byId.get('a-1')).toMatchObject({ key: 'ticket-1', value: '{"n":1,"text":"zugriff für prod ✓"}', headers: { ce_id: 'a-1', ce_type: 'grant.issued' } });
    expect(byId.get('a-2')).toMatchObject({ key: 'ticket-2', value: '{"n":2}', headers: { ce_id: 'a-2', multi: ['x', 'y'] } });
    expect(byId.get('a-3')).toMatchObject({ key: 'ticket-1', value: '{"n":3}' });
    expect(byId.get('ticket-3')).toMatchObject({ key: 'ticket-3', value: null, headers: {} });
    // Same key, same partition, produce order kept.
    const ticket1 = got.filter((m) => m.key === 'ticket-1');
    expect(new Set(ticket1.map((m) => m.partition)).size).toBe(1);
    expect(ticket1.map((m) => JSON.parse(m.value!).n)).toEqual([1, 3]);
  });

  it('sendBatch writes to several topics in one call', async () => {
    const [a, b] = await createTopics(kafka, [{ topic: uniqueTopic('batch-a') }, { topic: uniqueTopic('batch-b') }]);
    const producer = createProducer(kafka);
    await producer.connect();
    try {
      await producer.sendBatch([
        { topic: a!, messages: [{ key: 'k', value: 'to-a' }] },
        { topic: b!, messages: [{ key: 'k', value: 'to-b-1' }, { key: 'k', value: 'to-b-2' }] },
      ]);
    } finally {
      await producer.disconnect();
    }
    expect((await consumeAll(kafka, a!, { count: 1 })).map((m) => m.value)).toEqual(['to-a']);
    expect((await consumeAll(kafka, b!, { count: 2 })).map((m) => m.value)).toEqual(['to-b-1', 'to-b-2']);
  });
});

describe('transactions', () => {
  const txProducer = () => createProducer(kafka, { transactionalId: `it-tx-${randomTopicSuffix()}` });

  it('a committed transaction is visible to a read_committed consumer', async () => {
    const [topic] = await createTopics(kafka, [{ topic: uniqueTopic('tx-commit') }]);
    const producer = txProducer();
    await producer.connect();
    try {
      const tx = await producer.transaction();
      await tx.send(topic!, [{ key: 't', value: 'grant-1' }]);
      await tx.sendBatch([{ topic: topic!, messages: [{ key: 't', value: 'custody-1' }] }]);
      await tx.commit();
    } finally {
      await producer.disconnect();
    }
    const got = await consumeAll(kafka, topic!, { readCommitted: true, count: 2 });
    expect(got.map((m) => m.value)).toEqual(['grant-1', 'custody-1']);
  });

  it('an aborted transaction is invisible to read_committed, though it was written', async () => {
    const [topic] = await createTopics(kafka, [{ topic: uniqueTopic('tx-abort') }]);
    const producer = txProducer();
    await producer.connect();
    try {
      const aborted = await producer.transaction();
      await aborted.send(topic!, [
        { key: 't', value: 'aborted-1' },
        { key: 't', value: 'aborted-2' },
      ]);
      await aborted.abort();
      // A committed marker after the aborted batch: once a reader sees it, it has read past the
      // aborted messages, so "not seen" is a fact and not a timing accident.
      const marker = await producer.transaction();
      await marker.send(topic!, [{ key: 't', value: 'marker' }]);
      await marker.commit();
    } finally {
      await producer.disconnect();
    }

    const untilMarker = { until: (m: { value: string | null }) => m.value === 'marker' };
    const committed = await consumeAll(kafka, topic!, { readCommitted: true, ...untilMarker });
    const uncommitted = await consumeAll(kafka, topic!, { readCommitted: false, ...untilMarker });

    expect(committed.map((m) => m.value)).toEqual(['marker']);
    expect(uncommitted.map((m) => m.value)).toEqual(['aborted-1', 'aborted-2', 'marker']);
  });

  it('consumer offsets sent in a transaction are committed with it, and not when it aborts', async () => {
    const [input, output] = await createTopics(kafka, [{ topic: uniqueTopic('tx-in') }, { topic: uniqueTopic('tx-out') }]);
    const committedGroup = `it-group-${randomTopicSuffix()}`;
    const abortedGroup = `it-group-${randomTopicSuffix()}`;
    const producer = txProducer();
    await producer.connect();
    try {
      const ok = await producer.transaction();
      await ok.send(output!, [{ key: 'k', value: 'derived' }]);
      await ok.sendOffsets({ consumerGroupId: committedGroup, topics: [{ topic: input!, partitions: [{ partition: 0, offset: '5' }] }] });
      await ok.commit();

      const no = await producer.transaction();
      await no.send(output!, [{ key: 'k', value: 'derived-then-aborted' }]);
      await no.sendOffsets({ consumerGroupId: abortedGroup, topics: [{ topic: input!, partitions: [{ partition: 0, offset: '7' }] }] });
      await no.abort();
    } finally {
      await producer.disconnect();
    }

    const admin = kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: committedGroup, topics: [input!] });
      const [aborted] = await admin.fetchOffsets({ groupId: abortedGroup, topics: [input!] });
      expect(committed?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '5' })]);
      expect(aborted?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '-1' })]);
    } finally {
      await admin.disconnect();
    }
  });

  it('refuses transaction() on a producer made without a transactionalId', async () => {
    const producer = createProducer(kafka);
    await expect(producer.transaction()).rejects.toThrow(/transactionalId/);
  });
});

describe('ensureTopics', () => {
  it('creates the deployment topics once, with the custody topic never compacted and kept forever', async () => {
    const names = topicNames(`it${randomTopicSuffix()}.`);
    const specs = grantlineTopicSpecs(names, ['pam', 'secrets'], 2);

    const first = await ensureTopics(kafka, specs);
    const second = await ensureTopics(kafka, specs);

    expect(first.created.sort()).toEqual(specs.map((s) => s.topic).sort());
    expect(first.existing).toEqual([]);
    expect(second.created).toEqual([]);
    expect(second.existing.sort()).toEqual(specs.map((s) => s.topic).sort());
    expect(first.created).toContain(names.grants('pam'));

    const custody = await describeTopicConfig(kafka, names.custody);
    expect(custody['cleanup.policy']).toBe('delete');
    expect(custody['retention.ms']).toBe('-1');
    const state = await describeTopicConfig(kafka, names.ticketState);
    expect(state['cleanup.policy']).toBe('compact');
    // Restored from the beginning at each assignment: small segments, cleaned early (RESTORED_TOPIC_TUNING).
    expect({ bytes: state['segment.bytes'], ms: state['segment.ms'], dirty: state['min.cleanable.dirty.ratio'] }).toEqual({ bytes: '16777216', ms: '3600000', dirty: '0.1' });
    expect(first.untuned).toEqual([]);
    expect(second.untuned).toEqual([]);
    expect((await describeTopicConfig(kafka, names.pollerState))['cleanup.policy']).toBe('compact');
    expect((await describeTopicConfig(kafka, names.writeback))['cleanup.policy']).toBe('delete');

    const admin = kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [names.custody, names.grants('secrets')] });
      expect(topics.map((t) => t.partitions.length)).toEqual([2, 2]);
    } finally {
      await admin.disconnect();
    }
  });

  it('accepts an existing state topic at the broker\'s default segments, and reports each setting that differs from its tuning', async () => {
    const names = topicNames(`it${randomTopicSuffix()}.`);
    await ensureTopics(kafka, [{ topic: names.ticketState, partitions: 1, compacted: true }]);

    const result = await ensureTopics(kafka, grantlineTopicSpecs(names, ['pam'], 1));

    expect(result.existing).toEqual([names.ticketState]);
    expect(result.untuned.filter((u) => u.topic === names.ticketState).map((u) => [u.name, u.wanted])).toEqual(
      Object.entries(RESTORED_TOPIC_TUNING),
    );
    expect(result.untuned.every((u) => u.topic === names.ticketState && u.actual !== u.wanted)).toBe(true);
    // Left as the operator made it.
    expect((await describeTopicConfig(kafka, names.ticketState))['segment.bytes']).not.toBe(RESTORED_TOPIC_TUNING['segment.bytes']);
  });

  it('refuses an existing custody topic that is compacted instead of silently accepting it', async () => {
    const names = topicNames(`it${randomTopicSuffix()}.`);
    await ensureTopics(kafka, [{ topic: names.custody, compacted: true }]);

    const attempt = ensureTopics(kafka, grantlineTopicSpecs(names, ['pam'], 1));

    await expect(attempt).rejects.toBeInstanceOf(TopicConfigMismatchError);
    await expect(attempt).rejects.toMatchObject({ retriable: false, topic: names.custody });
  });
});

// Last in this file: it stops and restarts the shared test broker.
describe('checkKafka', () => {
  let survivor: string;

  beforeAll(async () => {
    [survivor] = (await createTopics(kafka, [{ topic: uniqueTopic('survives-restart') }])) as [string];
  });

  afterAll(async () => {
    // Leave the broker running for whoever comes next, whatever happened above.
    const check = await checkKafka(kafka, 2_000);
    if (!check.ok) await startBroker();
  });

  it('turns false within seconds while the broker is down and true once it is back', async () => {
    expect(await checkKafka(kafka, 2_000)).toEqual({ ok: true });

    await stopBroker();
    try {
      const started = Date.now();
      const down = await checkKafka(kafka, 2_000);
      expect(down.ok).toBe(false);
      expect(Date.now() - started).toBeLessThan(3_000);
      if (!down.ok) expect(down.error).not.toBe('');
    } finally {
      await startBroker();
    }

    // Poll as a readiness probe would: a fresh broker may take a moment to accept clients.
    const deadline = Date.now() + 30_000;
    let up = await checkKafka(kafka, 2_000);
    while (!up.ok && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      up = await checkKafka(kafka, 2_000);
    }
    expect(up).toEqual({ ok: true });

    // The data dir survived the restart: topics made before it are still there.
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).toContain(survivor);
    } finally {
      await admin.disconnect();
    }
  });
});
