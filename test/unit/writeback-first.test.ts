import { describe, expect, it } from 'vitest';
import type { MapResult } from '../../src/connector/contract.js';
import { markerFor } from '../../src/connector/note.js';
import { FirstAttempts } from '../../src/pipeline/writeback-first.js';
import { approval, delivery, makeRequest, on, run } from '../fixtures/ticket-pipeline.js';

const comment = (text: string) => ({ authorSource: { kind: 'jira-account-id' as const, value: 'grantline-bot' }, commentId: 'c1', at: '2026-11-29T10:00:00.000Z', text });
const ticketOf = (request: ReturnType<typeof makeRequest>) => ({ current: { map: { ok: true, request } as MapResult, cancelled: false } });

describe('write-back tasks the processor knows to be first (noteAbsent)', () => {
  it("marks the ticket's first decision's note absent when the fetched comments do not carry its marker", () => {
    const result = run(null, ticketOf(makeRequest({ approvals: [approval], comments: [comment('looks fine')] })));
    const [task] = on(result.outputs, 'writeback');
    expect(task?.data).toMatchObject({ item: { kind: 'decision' }, noteAbsent: true });
  });

  it('does not when the fetched ticket already carries the note (a retired ticket reopened)', () => {
    const first = on(run(null, ticketOf(makeRequest({ approvals: [approval] }))).outputs, 'writeback')[0]!;
    const key = first.data.idempotencyKey as string;
    const result = run(null, ticketOf(makeRequest({ approvals: [approval], comments: [comment(`${markerFor(key)}\nAccess granted`)] })));
    const [task] = on(result.outputs, 'writeback');
    expect(task?.data.idempotencyKey).toBe(key);
    expect(task?.data).not.toHaveProperty('noteAbsent');
  });

  it('does not on a later decision, whose key an earlier task may still hold in the queue', () => {
    const ticket = ticketOf(makeRequest());
    const pending = run(null, ticket);
    expect(on(pending.outputs, 'writeback')[0]?.data).toMatchObject({ noteAbsent: true });
    ticket.current = { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false };
    const granted = run(pending.state, ticket, [delivery('later')]);
    const [task] = on(granted.outputs, 'writeback');
    expect(task?.data).toMatchObject({ item: { kind: 'decision', decision: { outcome: 'granted' } } });
    expect(task?.data).not.toHaveProperty('noteAbsent');
  });

  it('does not for a ticket that does not map (no comments to look at)', () => {
    const ticket = { current: { map: { ok: false, failure: { source: makeRequest().source, requester: null, reasons: [{ code: 'FREE_TEXT_REQUEST' as const, message: 'free text' }], freeText: 'pls', actionable: true } } as MapResult, cancelled: false } };
    const [task] = on(run(null, ticket).outputs, 'writeback');
    expect(task).toBeDefined();
    expect(task?.data).not.toHaveProperty('noteAbsent');
  });
});

describe('FirstAttempts: which write-back tasks may have been performed before', () => {
  it('a task written after the first batch of the assignment, on its first attempt, is first', () => {
    const f = new FirstAttempts();
    f.assigned();
    f.batch(0, '10');
    expect(f.begin(0, '10', 'wb_a')).toBe(true);
    f.finished('wb_a');
    f.batch(0, '20'); // later batches do not move the line
    expect(f.begin(0, '15', 'wb_b')).toBe(true);
  });

  it('a task below the high watermark of the first batch after an assignment may have been performed by the previous owner (crash, rebalance)', () => {
    const f = new FirstAttempts();
    f.assigned();
    f.batch(1, '10');
    expect(f.begin(1, '0', 'wb_a')).toBe(false);
    expect(f.begin(1, '9', 'wb_b')).toBe(false);
  });

  it('a new assignment draws the line again, at the next first batch', () => {
    const f = new FirstAttempts();
    f.assigned();
    f.batch(0, '5');
    expect(f.begin(0, '7', 'wb_a')).toBe(true);
    f.finished('wb_a');
    f.assigned(); // the partition may have been elsewhere in between
    expect(f.begin(0, '8', 'wb_b')).toBe(false); // no batch since the assignment: nothing is known new
    f.batch(0, '12');
    expect(f.begin(0, '11', 'wb_c')).toBe(false);
    expect(f.begin(0, '12', 'wb_d')).toBe(true);
  });

  it('a retried task is not first: its earlier attempt may have written the note (an unknown outcome)', () => {
    const f = new FirstAttempts();
    f.assigned();
    f.batch(0, '0');
    expect(f.begin(0, '3', 'wb_a')).toBe(true);
    expect(f.begin(0, '3', 'wb_a')).toBe(false);
    f.finished('wb_a');
  });

  it('partitions are apart', () => {
    const f = new FirstAttempts();
    f.assigned();
    f.batch(0, '100');
    f.batch(1, '0');
    expect(f.begin(0, '50', 'wb_a')).toBe(false);
    expect(f.begin(1, '50', 'wb_b')).toBe(true);
  });
});
