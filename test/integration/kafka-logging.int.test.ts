import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createKafka, createProducer, topicNames } from '../../src/kafka/index.js';
import { brokers, consumeAll, createTopics, uniqueTopic } from './helpers/kafka.js';

function capturingLogger(level: string): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

describe('kafkajs logs', () => {
  it('land in pino under component "kafkajs", filtered by the pino level', async () => {
    const info = capturingLogger('info');
    const warn = capturingLogger('warn');
    const settings = { brokers: brokers(), clientId: 'grantline-it-logs', topicPrefix: '', partitions: 1 };
    const [topic] = await createTopics(createKafka(settings, info.logger), [{ topic: uniqueTopic('logs') }]);
    const producer = createProducer(createKafka(settings, info.logger));
    await producer.connect();
    await producer.send(topic!, [{ key: 'k', value: 'v' }]);
    await producer.disconnect();

    // A consumer joining its group logs at INFO in kafkajs.
    await consumeAll(createKafka(settings, info.logger), topic!, { count: 1 });
    await consumeAll(createKafka(settings, warn.logger), topic!, { count: 1 });

    const joined = info.lines.filter((l) => l.msg === 'Consumer has joined the group');
    expect(joined.length).toBeGreaterThan(0);
    expect(joined[0]).toMatchObject({ component: 'kafkajs', namespace: 'ConsumerGroup', level: 30 });
    expect(joined[0]).not.toHaveProperty('logger');
    expect(warn.lines.filter((l) => l.level === 30)).toEqual([]);
  });
});

describe('topicNames', () => {
  it('prefixes every topic and refuses names Kafka would not accept', () => {
    const names = topicNames('staging.');
    expect(names.ticketEvents).toBe('staging.grantline.ticket-events.v1');
    expect(names.grants('pam')).toBe('staging.access.grants.pam.v1');
    expect(names.custody).toBe('staging.access.custody.v1');
    expect(names.rejected).toBe('staging.access.requests.rejected.v1');
    expect(names.fulfillmentResults).toBe('staging.access.fulfillment.results.v1');
    expect(names.lifecycle).toBe('staging.identity.lifecycle.v1');
    expect(names.dlq).toBe('staging.grantline.dlq.v1');
    expect(names.ticketState).toBe('staging.grantline.ticket-state.v1');
    expect(names.pollerState).toBe('staging.grantline.poller-state.v1');
    expect(names.alerts).toBe('staging.grantline.alerts.v1');
    expect(topicNames('').custody).toBe('access.custody.v1');
    expect(() => names.grants('pam/../x')).toThrow(/channel/);
    expect(() => names.grants('')).toThrow(/channel/);
    expect(() => topicNames('bad prefix ')).toThrow(/prefix/);
  });
});
