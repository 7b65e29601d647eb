import { describe, expect, it } from 'vitest';
import type { TicketState, TrackedGrant } from '../../src/model/index.js';
import { trackedGrant } from '../fixtures/tracked-grant.js';
import { RECENT_IDS, emptyState, isActive, nextVersion, reduce, type TicketChange } from '../../src/pipeline/ticket/index.js';

const AT = '2026-11-29T12:00:00.000Z';
const LATER = '2026-11-29T13:00:00.000Z';

/** The shared tracked grant, expiring after every time these tests use. */
const grant = (id: string, overrides: Partial<TrackedGrant> = {}): TrackedGrant => trackedGrant(id, { expiresAt: '2026-11-29T16:00:00.000Z', ...overrides });

const revocation = (overrides: Partial<NonNullable<TrackedGrant['revocation']>> = {}): NonNullable<TrackedGrant['revocation']> => ({
  revocationId: 'rv_1',
  trigger: 'ttl-expired',
  reason: 'the grant expired',
  actor: 'grantline/lifecycle',
  revokedAt: AT,
  confirmedAt: null,
  failedAt: null,
  overdueAlerts: 0,
  signed: '{"outcome":"revoked"}',
  ...overrides,
});

function withGrants(...grants: TrackedGrant[]): TicketState {
  return { ...emptyState('jira-main', '10001', 'ACC-1'), grants };
}

const run = (state: TicketState, ...changes: TicketChange[]): TicketState => changes.reduce(reduce, state);

describe('ticket reducer', () => {
  it('remembers only the last RECENT_IDS delivery ids, oldest dropped first', () => {
    const ids = Array.from({ length: RECENT_IDS + 3 }, (_, i) => `d-${i}`);
    const state = run(emptyState('jira-main', '10001', 'ACC-1'), ...ids.map((deliveryId): TicketChange => ({ type: 'delivery-seen', deliveryId })));
    expect(state.recentDeliveryIds).toHaveLength(RECENT_IDS);
    expect(state.recentDeliveryIds[0]).toBe('d-3');
    expect(state.recentDeliveryIds.at(-1)).toBe(`d-${RECENT_IDS + 2}`);
    expect(state.recentCommandIds).toEqual([]);
  });

  it('revokes only the named grant and leaves the input state untouched', () => {
    const before = withGrants(grant('g1'), grant('g2'));
    const frozen = structuredClone(before);
    const after = reduce(before, { type: 'grant-revoked', grantId: 'g1', revocation: revocation() });
    expect(after.grants.map(isActive)).toEqual([false, true]);
    expect(after.grants[0]?.revocation?.revocationId).toBe('rv_1');
    expect(before).toEqual(frozen);
    expect(after.version).toBe(before.version);
  });

  it('records an adapter confirming or failing a revocation, and ignores a report for a grant never revoked', () => {
    const state = withGrants(grant('g1', { revocation: revocation() }), grant('g2'));
    const confirmed = reduce(state, { type: 'revocation-reported', grantId: 'g1', status: 'revoked', at: LATER });
    expect(confirmed.grants[0]?.revocation).toMatchObject({ confirmedAt: LATER, failedAt: null });
    const failed = reduce(state, { type: 'revocation-reported', grantId: 'g1', status: 'failed', at: LATER });
    expect(failed.grants[0]?.revocation).toMatchObject({ confirmedAt: null, failedAt: LATER });
    const unrevoked = reduce(state, { type: 'revocation-reported', grantId: 'g2', status: 'revoked', at: LATER });
    expect(unrevoked.grants[1]).toEqual(state.grants[1]);
  });

  it('counts each re-sent overdue revocation and when it was sent', () => {
    const state = run(
      withGrants(grant('g1', { revocation: revocation() })),
      { type: 'revocation-resent', grantId: 'g1', at: AT },
      { type: 'revocation-resent', grantId: 'g1', at: LATER },
    );
    expect(state.grants[0]?.revocation).toMatchObject({ overdueAlerts: 2, lastOverdueAt: LATER });
  });

  it('opens, closes and escalates a review only on a break-glass grant', () => {
    const bg = { reviewDueAt: LATER, review: null, escalatedAt: null };
    const state = withGrants(grant('bg', { breakGlass: bg }), grant('plain'));
    const review = { ticketId: '20001', ticketKey: 'REV-1', url: 'https://jira.example/browse/REV-1' };
    const opened = run(state, { type: 'review-opened', grantId: 'bg', review }, { type: 'review-opened', grantId: 'plain', review });
    expect(opened.grants[0]?.breakGlass?.review).toEqual({ ...review, closed: false, outcome: null });
    expect(opened.grants[1]?.breakGlass).toBeNull();
    const closed = reduce(opened, { type: 'review-closed', grantId: 'bg', outcome: 'approved' });
    expect(closed.grants[0]?.breakGlass?.review).toMatchObject({ closed: true, outcome: 'approved' });
    // Closing a review that was never opened changes nothing.
    expect(reduce(state, { type: 'review-closed', grantId: 'bg', outcome: 'approved' })).toEqual(state);
    expect(reduce(state, { type: 'review-escalated', grantId: 'bg', at: LATER }).grants[0]?.breakGlass?.escalatedAt).toBe(LATER);
  });

  it('prunes a grant once its revocation is confirmed and its review closed, and keeps every other', () => {
    const confirmed = revocation({ confirmedAt: LATER });
    const openReview = { reviewDueAt: LATER, review: { ticketId: '2', ticketKey: 'REV-2', url: 'u', closed: false, outcome: null }, escalatedAt: null };
    const closedReview = { ...openReview, review: { ...openReview.review, closed: true, outcome: 'approved' } };
    const state = withGrants(
      grant('done', { revocation: confirmed }),
      grant('unconfirmed', { revocation: revocation() }),
      grant('review-open', { revocation: confirmed, breakGlass: openReview }),
      grant('review-closed', { revocation: confirmed, breakGlass: closedReview }),
      grant('active'),
    );
    expect(reduce(state, { type: 'pruned' }).grants.map((g) => g.grantId)).toEqual(['unconfirmed', 'review-open', 'active']);
  });

  it('moves the custody head and records the last decision', () => {
    const state = run(
      emptyState('jira-main', '10001', 'ACC-1'),
      { type: 'custody-appended', head: { seq: 0, hash: 'a'.repeat(64) } },
      { type: 'decided', lastDecision: { inputSha256: 'b'.repeat(64), requestId: 'rq_1', outcome: 'granted', decisionId: 'gr_1', decidedAt: AT } },
    );
    expect(state.custodyHead).toEqual({ seq: 0, hash: 'a'.repeat(64) });
    expect(state.lastDecision?.decisionId).toBe('gr_1');
  });

  it('writes one new version per batch that changed something, and none otherwise', () => {
    const state = { ...withGrants(), version: 7 };
    expect(nextVersion(state, true).version).toBe(8);
    expect(nextVersion(state, false)).toBe(state);
  });
});
