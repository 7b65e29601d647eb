/**
 * What `grantline tail` prints for the kinds the integration test does not publish: custody events,
 * alerts, dead letters, tombstones and non-JSON values; and which ticket each names for `--ticket`.
 */
import { describe, expect, it } from 'vitest';
import { describeMessage, formatLine, ticketsOf } from '../../src/cli/tail-view.js';

const jwks = { keys: [] };
const at = new Date('2026-06-01T12:00:00Z');
const message = (value: unknown, offset = '7') => ({ key: Buffer.from('k'), value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), offset, headers: { ce_type: Buffer.from('dev.grantline.test.v1') } });

describe('tail lines', () => {
  it('a custody event: its kind, ticket, seq and actor; no verdict (custody events are chained, not signed)', () => {
    const event = { eventId: 'ce_1', kind: 'decision.granted', ticket: { connectorId: 'jira-main', ticketId: '10001', ticketKey: 'ACC-12' }, requestId: 'rq_1', grantId: 'gr_1', at: at.toISOString(), actor: 'grantline/test', data: {}, seq: 3, prevHash: 'a'.repeat(64), hash: 'b'.repeat(64) };
    const tailed = describeMessage('p.access.custody.v1', 0, message(event), jwks, at);
    expect(tailed.verdict).toBeUndefined();
    expect(tailed.type).toBe('dev.grantline.test.v1');
    expect(formatLine(tailed)).toBe('p.access.custody.v1[0]@7  custody decision.granted ticket ACC-12 seq 3 by grantline/test');
    expect(ticketsOf(tailed.value)).toEqual(['ACC-12', '10001']);
  });

  it('an alert and a dead letter; the dead letter names the ticket of the message it kept', () => {
    const alert = { alertId: 'al_1', kind: 'review.overdue', grantId: 'gr_1', ticket: { connectorId: 'jira-main', ticketId: '10001', ticketKey: 'ACC-12' }, message: 'review overdue', raisedAt: at.toISOString() };
    expect(formatLine(describeMessage('alerts', 1, message(alert), jwks, at))).toBe('alerts[1]@7  alert review.overdue ticket ACC-12: review overdue');
    const original = { topic: 'ticket-events', partition: 2, offset: '40', key: 'jira-main|10001', value: JSON.stringify({ kind: 'delivery', connectorId: 'jira-main', ticketId: '10001', ticketKey: 'ACC-12' }) };
    const dead = describeMessage('dlq', 0, message({ stage: 'processor.parse', reason: 'not a ticket event', at: at.toISOString(), original }), jwks, at);
    expect(formatLine(dead)).toBe('dlq[0]@7  dead letter processor.parse: not a ticket event (from ticket-events partition 2 offset 40)');
    expect(ticketsOf(dead.value)).toContain('ACC-12');
  });

  it('a message claiming a signed outcome gets the verdict, invalid without a known key; tombstones and text pass through', () => {
    const forged = describeMessage('grants', 0, message({ outcome: 'granted', grantId: 'gr_x', signature: 'e30..AAAA' }), jwks, at);
    expect(forged.verdict?.valid).toBe(false);
    expect(formatLine(forged)).toMatch(/grant gr_x .* ✘ INVALID \(schema: /);
    expect(formatLine(describeMessage('grants', 0, message(null), jwks, at))).toBe('grants[0]@7  tombstone');
    expect(formatLine(describeMessage('dlq', 0, message('not json'), jwks, at))).toBe('dlq[0]@7  "not json"');
  });
});
