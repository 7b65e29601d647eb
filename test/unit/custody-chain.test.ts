import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, chainEvent, custodyEventHash, sha256Hex, verifyChain } from '../../src/custody/index.js';
import type { CustodyEvent } from '../../src/model/index.js';
import { makeChain } from '../fixtures/custody/factory.js';

function problemsOf(events: readonly unknown[]): string[] {
  const verdict = verifyChain(events);
  return verdict.ok ? [] : verdict.problems.map((p) => `seq ${p.seq}: ${p.problem}`);
}

describe('chainEvent', () => {
  it('starts a chain at seq 0 with no prevHash and links each next event to the hash of the one before', () => {
    const [first, second, third] = makeChain(3) as [CustodyEvent, CustodyEvent, CustodyEvent];
    expect(first).toMatchObject({ seq: 0, prevHash: null });
    expect(second).toMatchObject({ seq: 1, prevHash: first.hash });
    expect(third).toMatchObject({ seq: 2, prevHash: second.hash });
  });

  it('hashes the canonical JSON of the event without its hash', () => {
    const [event] = makeChain(1) as [CustodyEvent];
    const { hash, ...rest } = event;
    expect(hash).toBe(sha256Hex(canonicalJson(rest)));
    expect(custodyEventHash(event)).toBe(hash);
  });

  it('accepts just the head ({ seq, hash }) of the previous event', () => {
    const [first] = makeChain(1) as [CustodyEvent];
    const next = chainEvent({ seq: first.seq, hash: first.hash }, { ...first, eventId: 'ce_next' });
    expect(next).toMatchObject({ seq: 1, prevHash: first.hash });
  });

  it("refuses to chain an event after another ticket's event", () => {
    const [other] = makeChain(1, { connectorId: 'jira-main', ticketId: '99', ticketKey: 'ACC-99' }) as [CustodyEvent];
    const [mine] = makeChain(1) as [CustodyEvent];
    expect(() => chainEvent(other, { ...mine, eventId: 'ce_x' })).toThrow(/ticket jira-main\/10042 .* ticket jira-main\/99/);
  });

  it('refuses a draft that is not a valid custody event', () => {
    const [mine] = makeChain(1) as [CustodyEvent];
    expect(() => chainEvent(null, { ...mine, eventId: '' })).toThrow(/not valid: eventId/);
  });
});

describe('verifyChain', () => {
  it('accepts an untouched chain', () => {
    expect(verifyChain(makeChain(5))).toEqual({ ok: true });
  });

  it('accepts a chain after a JSON round trip (as read from the topic)', () => {
    expect(verifyChain(JSON.parse(JSON.stringify(makeChain(4))) as unknown[])).toEqual({ ok: true });
  });

  it('finds an event altered after it was recorded', () => {
    const events = makeChain(4);
    const altered = { ...events[2]!, data: { ...events[2]!.data, step: 99 } };
    const verdict = verifyChain([events[0], events[1], altered, events[3]]);
    expect(verdict).toEqual({
      ok: false,
      problems: [{ seq: 2, eventId: altered.eventId, problem: expect.stringMatching(/altered after it was recorded/) }],
    });
  });

  it('finds an altered event whose hash was recomputed to match, through the next event', () => {
    const events = makeChain(4);
    const forged = { ...events[1]!, actor: 'mallory' };
    const rehashed = { ...forged, hash: custodyEventHash(forged) };
    const problems = problemsOf([events[0], rehashed, events[2], events[3]]);
    expect(problems).toEqual([expect.stringMatching(/^seq 2: prevHash .* does not match the hash .* of the event before it \(seq 1\)/)]);
  });

  it('finds a removed event in the middle', () => {
    const events = makeChain(4);
    const problems = problemsOf([events[0], events[1], events[3]]);
    expect(problems).toEqual([
      'seq 3: seq jumps from 1 to 3: seq 2 is missing',
      expect.stringMatching(/^seq 3: prevHash .* does not match .*seq 1\): an event was removed/),
    ]);
  });

  it('finds a removed first event', () => {
    const events = makeChain(3);
    expect(problemsOf(events.slice(1))).toEqual(['seq 1: the chain does not start at seq 0 but at seq 1: earlier events are missing']);
  });

  it('finds reordered events', () => {
    const events = makeChain(4);
    const problems = problemsOf([events[0], events[2], events[1], events[3]]);
    expect(problems).toContain('seq 1: seq 1 comes after seq 2: events are out of order');
    expect(problems.some((p) => p.startsWith('seq 2: seq jumps from 0 to 2'))).toBe(true);
  });

  it('finds a wrong prevHash even when seq numbers look right', () => {
    const events = makeChain(3);
    const relinked = { ...events[2]!, prevHash: events[0]!.hash };
    const withHash = { ...relinked, hash: custodyEventHash(relinked) };
    expect(problemsOf([events[0], events[1], withHash])).toEqual([expect.stringMatching(/^seq 2: prevHash .* does not match/)]);
  });

  it('finds a duplicated event', () => {
    const events = makeChain(3);
    expect(problemsOf([events[0], events[1], events[1], events[2]])).toContain(
      `seq 1: seq 1 appears twice (also event ${events[1]!.eventId}): an event was duplicated or forked`,
    );
  });

  it('finds an event of another ticket mixed in', () => {
    const events = makeChain(2);
    const [foreign] = makeChain(1, { connectorId: 'jira-main', ticketId: '77', ticketKey: 'ACC-77' });
    expect(problemsOf([...events, foreign])).toContain(
      'seq 0: event belongs to ticket jira-main/77, not to jira-main/10042: group chains by ticket before checking',
    );
  });

  it('reports an entry that is not a custody event instead of throwing', () => {
    const events = makeChain(2);
    const verdict = verifyChain([events[0], { eventId: 'junk', seq: 1 }, 'not even an object']);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) {
      expect(verdict.problems.map((p) => [p.seq, p.eventId])).toEqual([
        [1, 'junk'],
        [null, null],
      ]);
      expect(verdict.problems[0]!.problem).toMatch(/entry 1 is not a valid custody event \(kind: /);
    }
  });

  it('notices the removal of any one event from a chain (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))), ([n, removed]) => {
        const events = makeChain(n);
        const kept = events.filter((_, i) => i !== removed);
        // Removing the last event leaves a valid (shorter) chain: only the signed link in a message
        // can tell the end is missing, and verifyMessage checks that.
        expect(verifyChain(kept).ok).toBe(removed === n - 1);
      }),
      { numRuns: 60 },
    );
  });

  it('notices a change to any one top-level field of any event (property)', () => {
    const fields = ['eventId', 'kind', 'requestId', 'grantId', 'at', 'actor', 'data', 'seq', 'prevHash', 'ticket'] as const;
    const replacements: Record<(typeof fields)[number], unknown> = {
      eventId: 'ce_forged',
      kind: 'decision.granted',
      requestId: 'rq_forged',
      grantId: 'gr_forged',
      at: '2030-01-01T00:00:00.000Z',
      actor: 'mallory',
      data: { forged: true },
      seq: 40,
      prevHash: 'f'.repeat(64),
      ticket: { connectorId: 'jira-main', ticketId: '10042', ticketKey: 'ACC-43' },
    };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.constantFrom(...fields), (index, field) => {
        const events: unknown[] = makeChain(4);
        events[index] = { ...(events[index] as object), [field]: replacements[field] };
        expect(verifyChain(events).ok).toBe(false);
      }),
      { numRuns: 80 },
    );
  });
});
