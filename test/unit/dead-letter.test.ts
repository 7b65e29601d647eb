import { describe, expect, it } from 'vitest';
import { DeadLetter, TicketEvent, WritebackTask } from '../../src/model/index.js';
import { CE_TYPES } from '../../src/pipeline/cloudevents.js';
import { encodeDeadLetter, originalOf } from '../../src/pipeline/dead-letter.js';

const NOW = new Date('2026-11-29T12:00:00.000Z');

describe('the DLQ envelope', () => {
  it('keeps the original key and bytes, is keyed by the original key and identified by its position', () => {
    const original = originalOf('grantline.ticket-events.v1', 3, { key: Buffer.from('jira-main|10001'), value: Buffer.from('{"kind":"delivery", not json'), offset: '42' });
    const message = encodeDeadLetter('processor', 'processor.parse', 'value is not JSON', original, NOW);
    expect(message.key).toBe('jira-main|10001');
    expect(message.headers).toMatchObject({
      ce_id: 'grantline.ticket-events.v1:3:42',
      ce_source: 'urn:grantline:processor',
      ce_type: CE_TYPES.dlq,
      ce_time: NOW.toISOString(),
    });
    const letter = DeadLetter.parse(JSON.parse(message.value));
    expect(letter).toEqual({
      stage: 'processor.parse',
      reason: 'value is not JSON',
      at: NOW.toISOString(),
      original: { topic: 'grantline.ticket-events.v1', partition: 3, offset: '42', key: 'jira-main|10001', value: '{"kind":"delivery", not json' },
    });
  });

  it('is the same shape for every role; a message without key or value is keyed by topic and partition', () => {
    const original = originalOf('grantline.writeback.v1', 0, { key: null, value: null, offset: '7' });
    for (const role of ['processor', 'writeback', 'lifecycle'] as const) {
      const message = encodeDeadLetter(role, `${role}.parse`, 'not readable', original, NOW);
      expect(message.key).toBe('grantline.writeback.v1:0');
      expect(message.headers.ce_source).toBe(`urn:grantline:${role}`);
      expect(DeadLetter.safeParse(JSON.parse(message.value)).success).toBe(true);
      expect(JSON.parse(message.value).original).toEqual({ topic: 'grantline.writeback.v1', partition: 0, offset: '7', key: null, value: null });
    }
  });

  it('refuses a dead letter without a stage of the form role.step', () => {
    const letter = { stage: 'parse', reason: 'x', at: NOW.toISOString(), original: { topic: 't', partition: 0, offset: '1', key: null, value: null } };
    expect(DeadLetter.safeParse(letter).success).toBe(false);
  });
});

describe('typed internal messages at the read boundary', () => {
  const base = { kind: 'record', commandId: 'c1', connectorId: 'jira-main', ticketId: '10001', grantId: 'gr_1', requestId: 'rq_1', actor: 'grantline/lifecycle', at: NOW.toISOString() };

  it('reads a record command with the evidence its custody kind carries', () => {
    const parsed = TicketEvent.parse({ ...base, custodyKind: 'review.closed', data: { review: 'REV-1', outcome: 'approved', closedAt: null } });
    expect(parsed.kind === 'record' && parsed.custodyKind === 'review.closed' && parsed.data.outcome).toBe('approved');
  });

  it('refuses a record command whose evidence does not fit its kind, or a kind no role may ask to record', () => {
    expect(TicketEvent.safeParse({ ...base, custodyKind: 'review.opened', data: { review: 'REV-1' } }).success).toBe(false);
    expect(TicketEvent.safeParse({ ...base, custodyKind: 'decision.granted', data: {} }).success).toBe(false);
  });

  it('refuses a write-back task whose item is not one the worker knows', () => {
    const task = { taskId: 'wb_1', connectorId: 'jira-main', ticketId: '10001', grantId: null, requestId: null, idempotencyKey: 'k', createdAt: NOW.toISOString() };
    expect(WritebackTask.safeParse({ ...task, item: { kind: 'note', text: 'hello' } }).success).toBe(false);
    expect(WritebackTask.safeParse({ ...task, item: { kind: 'decision', decision: { outcome: 'granted' } } }).success).toBe(false);
  });
});
