import { describe, expect, it } from 'vitest';
import type { MapResult } from '../../src/connector/contract.js';
import { pollDeliveryId, recordCommand, type DeliveryEvent, type RecordCommand, type TicketState } from '../../src/model/index.js';
import { needsFetch, type TicketGroup } from '../../src/pipeline/processor/prefetch.js';
import { processTicket } from '../../src/pipeline/ticket/index.js';
import { approval, delivery, makePorts, makeRequest, NOW, on, run, snapshot } from '../fixtures/ticket-pipeline.js';

/**
 * Issue 16: grantline's own note moves the ticket's `updated`, and the poller then sees the ticket
 * again. When the write-back tells the note's time, that sighting is the note's echo: it is taken
 * as seen and costs no fetch. A sighting at any other time is fetched as before.
 */
const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
const NOTE_AT = '2026-11-29T12:00:01.234Z';

function writtenBack(ticketUpdatedAt?: string): RecordCommand {
  return recordCommand(
    { commandId: 'ticket.written-back:wb_1', connectorId: 'fake-main', ticketId: '10001', grantId: null, requestId: null, actor: 'grantline/writeback', at: NOW.toISOString() },
    'ticket.written-back',
    { kind: 'decision', recordId: 'c-9', written: true, idempotencyKey: 'k1', ...(ticketUpdatedAt === undefined ? {} : { ticketUpdatedAt }) },
  );
}

function poll(updatedAt: string): DeliveryEvent {
  return { ...delivery(pollDeliveryId('10001', updatedAt)), eventType: 'poll', via: 'poll', signatureVerified: false };
}

function group(event: DeliveryEvent): TicketGroup {
  return { connectorId: 'fake-main', ticketId: '10001', key: 'fake-main|10001', items: [{ offset: '9', event } as TicketGroup['items'][number]] };
}

function afterNote(ticketUpdatedAt?: string): TicketState {
  const granted = run(null, ticket);
  return run(granted.state, ticket, [writtenBack(ticketUpdatedAt)] as never).state;
}

describe("the poller's sighting of grantline's own note", () => {
  it('is not fetched, and gives no output, when the write-back told the time the note set', () => {
    const state = afterNote(NOTE_AT);
    const echo = poll(NOTE_AT);
    expect(needsFetch(group(echo), state)).toBe(false);
    const again = run(state, ticket, [echo]);
    expect(again.outputs).toEqual([]);
    expect(again.counts.duplicates).toBe(1);
  });

  it('is fetched when the ticket changed again after the note (another `updated` time)', () => {
    const state = afterNote(NOTE_AT);
    const later = poll('2026-11-29T12:00:05.000Z');
    expect(needsFetch(group(later), state)).toBe(true);
    const custody = on(run(state, ticket, [later]).outputs, 'custody').map((c) => c.data.kind);
    expect(custody[0]).toBe('delivery.received');
  });

  it('is fetched when the source did not tell the note time', () => {
    const state = afterNote(undefined);
    expect(needsFetch(group(poll(NOTE_AT)), state)).toBe(true);
  });

  it('the written-back custody event keeps the note time as evidence', () => {
    const granted = run(null, ticket);
    const result = run(granted.state, ticket, [writtenBack(NOTE_AT)] as never);
    const custody = on(result.outputs, 'custody').map((c) => c.data);
    expect(custody.map((c) => c.kind)).toEqual(['ticket.written-back']);
    expect(custody[0]?.data).toMatchObject({ ticketUpdatedAt: NOTE_AT });
  });
});

describe("the poller's sighting of the ticket the processor has just read", () => {
  const UPDATED = '2026-11-29T11:59:58.000Z';
  const read = (updatedAt?: string) =>
    processTicket(
      { connectorId: 'fake-main', ticketId: '10001', state: null, events: [delivery()], snapshot: { ...snapshot, ...(updatedAt === undefined ? {} : { updatedAt }) }, now: NOW },
      makePorts(ticket),
    );

  it('is not fetched after a webhook when the read told the ticket\'s update time: it would read the same ticket', () => {
    const { state } = read(UPDATED);
    const sighting = poll(UPDATED);
    expect(needsFetch(group(sighting), state)).toBe(false);
    const again = run(state, ticket, [sighting]);
    expect(again.outputs).toEqual([]);
    expect(again.counts.duplicates).toBe(1);
  });

  it('is fetched when the ticket changed after that read, and when the source did not tell the time', () => {
    expect(needsFetch(group(poll('2026-11-29T12:00:03.000Z')), read(UPDATED).state)).toBe(true);
    expect(needsFetch(group(poll(UPDATED)), read(undefined).state)).toBe(true);
  });
});
