/**
 * An overdue break-glass review escalates where people look: the processor queues one write-back
 * (a note on the ticket and on the review ticket) with the first escalation and never again, and
 * the lifecycle counts overdue reviews for the `grantline_reviews_overdue` gauge.
 */
import { describe, expect, it } from 'vitest';
import type { Connector } from '../../src/connector/contract.js';
import { chainEvent, jsonSha256 } from '../../src/custody/index.js';
import { recordCommand, type TicketState, type TrackedGrant, type WritebackTask } from '../../src/model/index.js';
import { BreakGlassLedger } from '../../src/pipeline/break-glass-ledger.js';
import type { ProcessorPorts } from '../../src/pipeline/ports.js';
import { processTicket } from '../../src/pipeline/ticket/index.js';
import { countOverdueReviews, reviewOverdueNotes } from '../../src/policy/review.js';

const DUE = '2026-11-30T12:00:00.000Z';
const after = new Date('2026-11-30T12:05:00.000Z');
const review = { ticketId: '20001', ticketKey: 'REV-7', url: 'https://jira.example/browse/REV-7', closed: false, outcome: null };

function grant(overrides: Partial<NonNullable<TrackedGrant['breakGlass']>> = {}): TrackedGrant {
  return {
    grantId: 'gr_bg',
    requestId: 'rq_bg',
    topic: 'grants.pam',
    source: { system: 'jira', connectorId: 'jira-main', instanceUrl: 'https://jira.example', ticketId: '10001', ticketKey: 'ACC-1', url: 'https://jira.example/browse/ACC-1' },
    subject: { type: 'human', id: 'alice' },
    subjectOwnerPrincipalId: null,
    entitlementId: 'prod-breakglass-admin',
    expiresAt: '2026-11-29T13:00:00.000Z',
    breakGlass: { reviewDueAt: DUE, review, escalatedAt: null, holder: 'alice', ...overrides },
    provisionedAt: null,
    revocation: null,
  };
}

function state(g: TrackedGrant): TicketState {
  return { connectorId: 'jira-main', ticketId: '10001', ticketKey: 'ACC-1', version: 3, recentDeliveryIds: [], recentCommandIds: [], lastDecision: null, grants: [g], custodyHead: null };
}

const ports: ProcessorPorts = {
  policy: { decide: () => { throw new Error('unused'); }, versions: () => ({ policyVersion: 'p1', catalogVersion: 'c', directoryVersion: 'd' }) },
  signer: { sign: () => { throw new Error('unused'); } },
  custody: { digest: jsonSha256, chain: (head, draft) => chainEvent(head, draft) },
  topics: { ticketEvents: 'te', ticketState: 'ts', grants: (c) => `grants.${c}`, rejected: 'rejected', custody: 'custody', writeback: 'writeback', dlq: 'dlq', breakGlass: 'bg', decisionRequests: 'decision-requests', ticketIndex: 'ticket-index' },
  breakGlass: new BreakGlassLedger('bg'),
  decidedBy: 'grantline/test processor@unit',
  connector: () => ({}) as Connector,
};

const overdue = (commandId: string) =>
  recordCommand({ commandId, connectorId: 'jira-main', ticketId: '10001', grantId: 'gr_bg', requestId: 'rq_bg', actor: 'grantline/lifecycle', at: after.toISOString() }, 'review.overdue', { reviewDueAt: DUE, review: 'REV-7', message: 'overdue' });

const tasks = (outputs: readonly { topic: string; message: { value: string } }[]) => outputs.filter((o) => o.topic === 'writeback').map((o) => JSON.parse(o.message.value) as WritebackTask);

describe('overdue break-glass review', () => {
  it('queues one escalation write-back for the ticket and its review ticket, with the first escalation only', () => {
    const first = processTicket({ connectorId: 'jira-main', ticketId: '10001', state: state(grant()), events: [overdue('c1')], snapshot: null, now: after }, ports);
    expect(tasks(first.outputs)).toEqual([
      expect.objectContaining({
        ticketId: '10001',
        grantId: 'gr_bg',
        idempotencyKey: 'review-overdue:gr_bg',
        item: { kind: 'review-overdue', grantId: 'gr_bg', entitlementId: 'prod-breakglass-admin', ticketKey: 'ACC-1', reviewDueAt: DUE, review: { ticketId: '20001', ticketKey: 'REV-7', url: review.url } },
      }),
    ]);
    expect(first.state.grants[0]?.breakGlass?.escalatedAt).toBe(after.toISOString());
    // The same escalation asked again (another lifecycle instance, a re-sent command): no second note.
    const again = processTicket({ connectorId: 'jira-main', ticketId: '10001', state: first.state, events: [overdue('c2')], snapshot: null, now: after }, ports);
    expect(tasks(again.outputs)).toEqual([]);
  });

  it('writes a note on the ticket even when no review ticket could be opened', () => {
    const out = processTicket({ connectorId: 'jira-main', ticketId: '10001', state: state(grant({ review: null })), events: [overdue('c1')], snapshot: null, now: after }, ports);
    const [task] = tasks(out.outputs);
    expect(task?.item).toMatchObject({ kind: 'review-overdue', review: null });
    const notes = reviewOverdueNotes(task?.item as Extract<WritebackTask['item'], { kind: 'review-overdue' }>);
    expect(notes.review).toBeNull();
    expect(notes.original).toContain('No review ticket could be opened yet.');
  });

  it('says on each ticket what is overdue and where the review is', () => {
    const notes = reviewOverdueNotes({ kind: 'review-overdue', grantId: 'gr_bg', entitlementId: 'prod-breakglass-admin', ticketKey: 'ACC-1', reviewDueAt: DUE, review: { ticketId: '20001', ticketKey: 'REV-7', url: review.url } });
    expect(notes.original).toBe(
      `ESCALATION: the post-event review of break-glass grant gr_bg (prod-breakglass-admin) was due at ${DUE} and is not closed. Review ticket: REV-7 ${review.url} Whoever invoked break-glass, and the approvers of prod-breakglass-admin, should complete it now.`,
    );
    expect(notes.review).toContain('this review of break-glass grant gr_bg (prod-breakglass-admin, ticket ACC-1)');
  });

  it('counts reviews past their deadline and not closed, escalated or not', () => {
    const states = [state(grant()), state(grant({ escalatedAt: DUE })), state(grant({ review: { ...review, closed: true, outcome: 'ok' } })), state(grant({ reviewDueAt: '2026-12-01T00:00:00.000Z' }))];
    expect(countOverdueReviews(states, after)).toBe(2);
    expect(countOverdueReviews(states, new Date('2026-11-30T11:00:00.000Z'))).toBe(0);
  });
});
