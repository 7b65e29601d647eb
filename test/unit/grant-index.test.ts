import { describe, expect, it } from 'vitest';
import { GrantIndex, grantHash } from '../../src/pipeline/state/grant-index.js';
import { HeldPartition } from '../../src/pipeline/state/partition-states.js';
import { emptyState } from '../../src/pipeline/ticket/index.js';
import type { TicketState, TrackedGrant } from '../../src/model/index.js';

/** Two grant ids with the same 30-bit hash, found by search (about 2^15 tries by the birthday bound). */
function collidingPair(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i += 1) {
    const id = `gr_${i.toString(36)}`;
    const other = seen.get(grantHash(id));
    if (other !== undefined) return [other, id];
    seen.set(grantHash(id), id);
  }
}

function withGrants(ticketId: string, grantIds: string[]): TicketState {
  return { ...emptyState('jira-main', ticketId, `ACC-${ticketId}`), version: 1, grants: grantIds.map((grantId) => ({ grantId }) as TrackedGrant) };
}

describe('the grant index of a held partition', () => {
  it('keeps one entry per grant, also when two ids share a hash, and removes only the one asked', () => {
    const [a, b] = collidingPair();
    expect(grantHash(a)).toBe(grantHash(b));
    const index = new GrantIndex();
    index.add(a, 'k1');
    index.add(b, 'k2');
    expect(index.size).toBe(2);
    expect([...index.candidates(a)].sort()).toEqual(['k1', 'k2']);
    index.remove(a, 'k1');
    expect(index.candidates(b)).toEqual(['k2']);
    index.remove(a, 'k9');
    expect(index.size).toBe(1);
  });

  it('finds the ticket of each of two colliding grants held by different tickets, and neither after they are retired', () => {
    const [a, b] = collidingPair();
    const held = new HeldPartition(0);
    held.load('jira-main|1', withGrants('1', [a]));
    held.set('jira-main|2', withGrants('2', [b]));
    expect(held.ticketOfGrant(a)).toBe('jira-main|1');
    expect(held.ticketOfGrant(b)).toBe('jira-main|2');
    expect(held.ticketOfGrant('gr_not-held')).toBeUndefined();
    held.set('jira-main|1', null);
    expect(held.ticketOfGrant(a)).toBeUndefined();
    expect(held.ticketOfGrant(b)).toBe('jira-main|2');
    expect(held.grantCount()).toBe(1);
  });
});
