import { describe, expect, it } from 'vitest';
import type { TicketState, TrackedGrant } from '../../src/pipeline/events.js';
import { grantsEndedBy, planLifecycle } from '../../src/pipeline/lifecycle.js';
import { trackedGrant } from '../fixtures/tracked-grant.js';

const NOW = new Date('2026-11-29T12:00:00.000Z');
const settings = { revocationConfirmMs: 60_000, directoryCheckMs: 60_000 };

function makeGrant(overrides: Partial<TrackedGrant> = {}): TrackedGrant {
  return trackedGrant('gr_1', { requestId: 'rq_1', ...overrides });
}

function makeState(grants: TrackedGrant[], ticketId = '1'): TicketState {
  return {
    connectorId: 'jira-main',
    ticketId,
    ticketKey: `ACC-${ticketId}`,
    version: 1,
    recentDeliveryIds: [],
    recentCommandIds: [],
    lastDecision: null,
    grants,
    custodyHead: null,
  };
}

const activeDirectory = { principal: (id: string) => ({ active: id !== 'mallory' }) };

describe('planLifecycle', () => {
  it('revokes a grant once its expiry has passed, and not a second before', () => {
    const state = makeState([makeGrant({ expiresAt: NOW.toISOString() })]);
    expect(planLifecycle([state], new Date(NOW.getTime() - 1), settings, null).commands).toEqual([]);
    const plan = planLifecycle([state], NOW, settings, null);
    expect(plan.commands).toMatchObject([{ kind: 'revoke', grantId: 'gr_1', trigger: 'ttl-expired', commandId: 'ttl-expired:gr_1' }]);
  });

  it('revokes grants of NHIs whose owner is inactive in the directory', () => {
    const state = makeState([makeGrant({ subjectOwnerPrincipalId: 'mallory' }), makeGrant({ grantId: 'gr_2' })]);
    const plan = planLifecycle([state], NOW, settings, activeDirectory);
    expect(plan.commands.map((c) => [c.kind, 'grantId' in c ? c.grantId : null, c.kind === 'revoke' ? c.trigger : null])).toEqual([['revoke', 'gr_1', 'owner-offboarded']]);
  });

  it('raises an overdue alert and asks for a re-send when no adapter confirms a revocation in time', () => {
    const revocation = { revocationId: 'rv_1', trigger: 'manual' as const, reason: 'r', actor: 'erin', revokedAt: '2026-11-29T11:58:30.000Z', confirmedAt: null, failedAt: null, overdueAlerts: 0, signed: '{}' };
    const state = makeState([makeGrant({ revocation })]);
    const plan = planLifecycle([state], NOW, settings, null);
    expect(plan.alerts.map((a) => a.kind)).toEqual(['revocation.overdue']);
    expect(plan.commands).toMatchObject([{ kind: 'record', custodyKind: 'revocation.overdue' }]);
    // The next alert waits for another full confirmation period.
    const after = makeState([makeGrant({ revocation: { ...revocation, overdueAlerts: 1 } })]);
    expect(planLifecycle([after], NOW, settings, null).alerts).toEqual([]);
    // A confirmed revocation is never overdue.
    const confirmed = makeState([makeGrant({ revocation: { ...revocation, confirmedAt: '2026-11-29T11:58:40.000Z' } })]);
    expect(planLifecycle([confirmed], NOW, settings, null).alerts).toEqual([]);
  });

  it('after a long silence (downtime, a clock jump) alerts once per confirmation period, not once per period missed', () => {
    const revocation = { revocationId: 'rv_1', trigger: 'manual' as const, reason: 'r', actor: 'erin', revokedAt: '2026-11-28T12:00:00.000Z', confirmedAt: null, failedAt: null, overdueAlerts: 0, signed: '{}' };
    expect(planLifecycle([makeState([makeGrant({ revocation })])], NOW, settings, null).alerts).toHaveLength(1);
    // The alert was recorded a day after the revocation; the next is due a full period after it.
    const alerted = { ...revocation, overdueAlerts: 1, lastOverdueAt: NOW.toISOString() };
    expect(planLifecycle([makeState([makeGrant({ revocation: alerted })])], new Date(NOW.getTime() + 59_999), settings, null).alerts).toEqual([]);
    expect(planLifecycle([makeState([makeGrant({ revocation: alerted })])], new Date(NOW.getTime() + 60_000), settings, null).alerts).toHaveLength(1);
  });

  it('alerts at once when an adapter reports the revocation failed, and again only after a new failure or a full period', () => {
    const revocation = { revocationId: 'rv_1', trigger: 'manual' as const, reason: 'r', actor: 'erin', revokedAt: '2026-11-29T11:59:50.000Z', confirmedAt: null, failedAt: null, overdueAlerts: 0, signed: '{}' };
    expect(planLifecycle([makeState([makeGrant({ revocation })])], NOW, settings, null).alerts).toEqual([]);
    const failed = { ...revocation, failedAt: '2026-11-29T11:59:55.000Z' };
    const plan = planLifecycle([makeState([makeGrant({ revocation: failed })])], NOW, settings, null);
    expect(plan.alerts.map((a) => a.kind)).toEqual(['revocation.failed']);
    expect(plan.commands).toMatchObject([{ kind: 'record', custodyKind: 'revocation.overdue' }]);
    const alerted = { ...failed, overdueAlerts: 1, lastOverdueAt: NOW.toISOString() };
    expect(planLifecycle([makeState([makeGrant({ revocation: alerted })])], new Date(NOW.getTime() + 1_000), settings, null).alerts).toEqual([]);
    const failedAgain = { ...alerted, failedAt: new Date(NOW.getTime() + 2_000).toISOString() };
    expect(planLifecycle([makeState([makeGrant({ revocation: failedAgain })])], new Date(NOW.getTime() + 3_000), settings, null).alerts.map((a) => a.kind)).toEqual(['revocation.failed']);
  });

  it('escalates a break-glass review that is still open after its deadline, once', () => {
    const review = { ticketId: '2', ticketKey: 'REV-2', url: 'http://127.0.0.1:1/browse/REV-2', closed: false, outcome: null };
    const state = makeState([makeGrant({ breakGlass: { reviewDueAt: '2026-11-29T11:00:00.000Z', review, escalatedAt: null } })]);
    const plan = planLifecycle([state], NOW, settings, null);
    expect(plan.alerts.map((a) => [a.kind, a.message.includes('REV-2')])).toEqual([['review.overdue', true]]);
    const escalated = makeState([makeGrant({ breakGlass: { reviewDueAt: '2026-11-29T11:00:00.000Z', review, escalatedAt: NOW.toISOString() } })]);
    expect(planLifecycle([escalated], NOW, settings, null).alerts).toEqual([]);
    const closed = makeState([makeGrant({ breakGlass: { reviewDueAt: '2026-11-29T11:00:00.000Z', review: { ...review, closed: true }, escalatedAt: null } })]);
    expect(planLifecycle([closed], NOW, settings, null).alerts).toEqual([]);
  });
});

describe('grantsEndedBy', () => {
  it('ends every grant to NHIs the offboarded owner owns, and their own, but nobody else\'s', () => {
    const states = [
      makeState([makeGrant({ grantId: 'gr_a' }), makeGrant({ grantId: 'gr_b', subject: { type: 'api_key', id: 'key-x' } })], '1'),
      makeState([makeGrant({ grantId: 'gr_c', subjectOwnerPrincipalId: 'frank' })], '2'),
      makeState([makeGrant({ grantId: 'gr_d', subject: { type: 'human', id: 'alice' }, subjectOwnerPrincipalId: null })], '3'),
    ];
    const commands = grantsEndedBy(states, { type: 'principal.offboarded', principalId: 'alice', at: NOW.toISOString(), source: 'workday' }, NOW);
    expect(commands.map((c) => c.grantId).sort()).toEqual(['gr_a', 'gr_b', 'gr_d']);
    expect(commands.every((c) => c.trigger === 'owner-offboarded')).toBe(true);
    expect(commands.find((c) => c.grantId === 'gr_b')?.reason).toContain('owner of key-x');
  });
});
