import { describe, expect, it } from 'vitest';
import type { TicketState, TrackedGrant } from '../../src/model/index.js';
import { pack, unpack } from '../../src/pipeline/state/packed.js';
import { HeldPartition } from '../../src/pipeline/state/partition-states.js';
import { trackedGrant } from '../fixtures/tracked-grant.js';

function grant(id: string, overrides: Partial<TrackedGrant> = {}): TrackedGrant {
  return trackedGrant(id, { ttlSeconds: 3600, ...overrides });
}

function state(ticketId: string, version: number, grants: TrackedGrant[], extra: Partial<TicketState> = {}): TicketState {
  return {
    connectorId: 'jira-main',
    ticketId,
    ticketKey: `ACC-${ticketId}`,
    version,
    recentDeliveryIds: [`jira-main:d-${ticketId}-é✓`],
    recentCommandIds: [],
    lastDecision: { inputSha256: 'a'.repeat(64), requestId: `rq_${ticketId}`, outcome: 'granted', decisionId: `gr_${ticketId}`, decidedAt: '2026-11-29T12:00:00.000Z' },
    grants,
    custodyHead: { seq: 3, hash: 'b'.repeat(64) },
    ...extra,
  };
}

describe('packed ticket states', () => {
  it('unpacks exactly what was packed, non-ASCII text and optional fields included, in fewer bytes than its JSON', () => {
    const s = state('7', 4, [grant('g7', { breakGlass: { reviewDueAt: '2026-11-30T12:00:00.000Z', review: null, escalatedAt: null, holder: 'alice' } })], { closedAt: '2026-11-29T12:30:00.000Z' });
    const packed = pack(s);
    expect(unpack(packed)).toEqual(s);
    expect(packed.length).toBeLessThan(JSON.stringify(s).length / 2);
  });
});

describe('HeldPartition', () => {
  it('keeps a newer version only, indexes grants by ticket, and forgets a retired ticket and its grants', () => {
    const p = new HeldPartition(0);
    expect(p.set('jira-main|1', state('1', 2, [grant('g1')]))).toBe(true);
    expect(p.set('jira-main|1', state('1', 2, [grant('g-other')]))).toBe(false);
    expect(p.set('jira-main|1', state('1', 1, []))).toBe(false);
    expect(p.ticketOfGrant('g1')).toBe('jira-main|1');
    expect(p.set('jira-main|1', state('1', 3, [grant('g2')]))).toBe(true);
    expect(p.ticketOfGrant('g1')).toBeUndefined();
    expect(p.ticketOfGrant('g2')).toBe('jira-main|1');
    expect(p.grantCount()).toBe(1);
    expect(p.set('jira-main|1', null)).toBe(true);
    expect([p.size, p.has('jira-main|1'), p.get('jira-main|1'), p.grantCount()]).toEqual([0, false, undefined, 0]);
    expect(p.set('jira-main|1', null)).toBe(false);
  });

  it('gives every state back, also those no longer kept unpacked, and by keys and entries', () => {
    const p = new HeldPartition(3);
    const states = Array.from({ length: 300 }, (_, i) => state(String(i), 1 + (i % 5), [grant(`g${i}`)]));
    for (const s of states) p.set(`jira-main|${s.ticketId}`, s);
    const restored = state('restored', 9, [grant('gr')]);
    p.load('jira-main|restored', restored);
    expect(p.size).toBe(301);
    for (const s of states) expect(p.get(`jira-main|${s.ticketId}`)).toEqual(s);
    expect(p.get('jira-main|restored')).toEqual(restored);
    expect(p.ticketOfGrant('gr')).toBe('jira-main|restored');
    expect(new Map(p.entries())).toEqual(new Map([...states.map((s) => [`jira-main|${s.ticketId}`, s] as const), ['jira-main|restored', restored]]));
    expect([...p.keys()]).toHaveLength(301);
    // A version rule for a state no longer kept unpacked is still the held one's.
    expect(p.set('jira-main|0', state('0', 1, []))).toBe(false);
    expect(p.set('jira-main|0', state('0', 2, []))).toBe(true);
    expect(p.ticketOfGrant('g0')).toBeUndefined();
  });
});
