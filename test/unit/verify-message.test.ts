import { describe, expect, it } from 'vitest';
import {
  chainEvent,
  custodyEventHash,
  decisionDigest,
  publicJwks,
  sealGrant,
  sealRejection,
  sealRevocation,
  sign,
  verifyMessage,
  type SigningKeys,
  type VerifyReport,
} from '../../src/custody/index.js';
import type { CustodyEvent, Grant } from '../../src/model/index.js';
import {
  T0,
  keysOf,
  makeChain,
  makeDecision,
  makeKey,
  makeOrigin,
  makeUnsealedGrant,
  makeUnsealedRejection,
  makeUnsealedRevocation,
} from '../fixtures/custody/factory.js';

const DURING = new Date('2025-03-01T10:00:00.000Z');

function issue(keys: SigningKeys, overrides: Parameters<typeof makeUnsealedGrant>[0] = {}): { grant: Grant; events: CustodyEvent[] } {
  const before = makeChain(3);
  const { message, event } = sealGrant(makeUnsealedGrant(overrides), before.at(-1)!, { eventId: 'ce_decision', at: T0, actor: 'grantline/processor' }, keys);
  return { grant: message, events: [...before, event] };
}

function failed(report: VerifyReport): Record<string, string> {
  return Object.fromEntries(report.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));
}

/** The wire form: what an adapter parses from the Kafka message value. */
function wire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

describe('verifyMessage on a grant', () => {
  const keys = keysOf(makeKey('k-2025-06'));
  const jwks = publicJwks(keys);
  const { grant, events } = issue(keys);

  it('passes every check for an untouched grant with its custody chain', () => {
    const report = verifyMessage(wire(grant), jwks, { now: DURING, custodyEvents: wire(events) });
    expect(report.ok).toBe(true);
    expect(report.kind).toBe('grant');
    expect(report.checks.map((c) => c.name)).toEqual([
      'schema',
      'signature-present',
      'signature-header',
      'kid-known',
      'signature-valid',
      'custody-link',
      'custody-event',
      'custody-chain',
      'validity-window',
      'ttl-consistent',
      'not-expired',
    ]);
  });

  it('passes without custody events, and says the link was not compared with the log', () => {
    const report = verifyMessage(wire(grant), jwks, { now: DURING });
    expect(report.ok).toBe(true);
    expect(report.checks.find((c) => c.name === 'custody-link')?.detail).toMatch(/seq 3 .*not compared with the custody log/);
  });

  it.each([
    ['ttlSeconds', (g: Grant) => ({ ...g, ttlSeconds: g.ttlSeconds + 1 })],
    ['subject.id', (g: Grant) => ({ ...g, subject: { ...g.subject, id: 'svc-billing-etm' } })],
    ['expiresAt', (g: Grant) => ({ ...g, expiresAt: '2025-03-01T14:00:00.000Z' })],
    ['an added field', (g: Grant) => ({ ...g, environment: 'prod', extraScope: 'admin' })],
    ['custody.chain.hash', (g: Grant) => ({ ...g, custody: { ...g.custody, chain: { ...g.custody.chain, hash: 'e'.repeat(64) } } })],
  ])('fails the signature check when %s is changed after signing', (_field, alter) => {
    const report = verifyMessage(alter(wire(grant)), jwks, { now: DURING });
    expect(report.ok).toBe(false);
    expect(failed(report)['signature-valid']).toBe(
      'signature does not match: the message was altered after signing, or signed by another key than "k-2025-06"',
    );
  });

  it('fails when one character of the subject id is flipped in the raw JSON', () => {
    const text = JSON.stringify(grant).replace('"svc-billing-etl"', '"svc-billing-etL"');
    const report = verifyMessage(JSON.parse(text), jwks, { now: DURING });
    expect(Object.keys(failed(report))).toEqual(['signature-valid']);
  });

  it('reports a grant signed by a kid the JWKS does not know', () => {
    const report = verifyMessage(wire(grant), publicJwks(keysOf(makeKey('k-other'))), { now: DURING });
    expect(failed(report)).toEqual({ 'kid-known': expect.stringMatching(/no Ed25519 key with kid "k-2025-06" in the JWKS \(it has: k-other\)/) });
  });

  it('reports a missing signature', () => {
    const { signature: _s, ...unsigned } = wire(grant);
    const report = verifyMessage(unsigned, jwks, { now: DURING });
    expect(failed(report)['signature-present']).toMatch(/has no signature/);
    expect(failed(report)['schema']).toMatch(/signature/);
  });

  it('reports an expired grant as failing `not-expired`', () => {
    const report = verifyMessage(wire(grant), jwks, { now: new Date('2025-03-01T13:00:00.000Z') });
    expect(failed(report)).toEqual({ 'not-expired': expect.stringMatching(/^expired at 2025-03-01T13:00:00.000Z, before the check time/) });
  });

  it('reports a signed grant whose TTL contradicts its validity window', () => {
    const { grant: odd } = issue(keys, { ttlSeconds: 3600 });
    const report = verifyMessage(wire(odd), jwks, { now: DURING });
    expect(failed(report)).toEqual({ 'ttl-consistent': expect.stringMatching(/expiresAt − validFrom is 14400 s but ttlSeconds says 3600/) });
  });

  it('reports a signed grant that ends before it starts', () => {
    const { grant: odd } = issue(keys, { expiresAt: '2025-03-01T08:00:00.000Z', ttlSeconds: 3600 });
    const report = verifyMessage(wire(odd), jwks, { now: new Date('2025-03-01T07:30:00.000Z') });
    expect(Object.keys(failed(report))).toEqual(['validity-window', 'ttl-consistent']);
  });

  it('reports a schema failure and still says whether the signature holds', () => {
    const report = verifyMessage({ ...wire(grant), ttlSeconds: 'forever' }, jwks, { now: DURING });
    expect(failed(report)['schema']).toMatch(/^not a valid grant: ttlSeconds:/);
    expect(failed(report)['signature-valid']).toMatch(/signature does not match/);
  });

  it('reports an unknown message and a non-object', () => {
    expect(verifyMessage({ outcome: 'maybe' }, jwks)).toMatchObject({ ok: false, kind: 'unknown' });
    expect(verifyMessage('grant', jwks)).toEqual({
      ok: false,
      kind: 'unknown',
      checks: [{ name: 'schema', ok: false, detail: 'the message is not a JSON object' }],
    });
  });
});

describe('verifyMessage with custody events', () => {
  const keys = keysOf(makeKey('k1'));
  const jwks = publicJwks(keys);
  const { grant, events } = issue(keys);

  it('accepts the decision event alone', () => {
    const report = verifyMessage(wire(grant), jwks, { now: DURING, custodyEvents: [events.at(-1)] });
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).not.toContain('custody-chain');
  });

  it('fails when the decision event is missing from the log', () => {
    const report = verifyMessage(wire(grant), jwks, { now: DURING, custodyEvents: events.slice(0, -1) });
    expect(failed(report)).toEqual({ 'custody-event': expect.stringMatching(/no custody event seq 3 of ticket jira-main\/10042/) });
  });

  it('fails when an earlier event of the chain was removed', () => {
    const report = verifyMessage(wire(grant), jwks, { now: DURING, custodyEvents: [events[0], events[2], events[3]] });
    expect(failed(report)['custody-chain']).toMatch(/seq 2 \(ce_10042_2\): seq jumps from 0 to 2: seq 1 is missing/);
  });

  it('fails when the decision event was altered in the log', () => {
    const decision = events.at(-1)!;
    const altered = { ...decision, data: { ...decision.data, ttlSeconds: 86400 } };
    const report = verifyMessage(wire(grant), jwks, { now: DURING, custodyEvents: [...events.slice(0, -1), altered] });
    expect(failed(report)['custody-event']).toMatch(/the event was altered after it was recorded/);
    expect(failed(report)['custody-chain']).toMatch(/seq 3 .*altered after it was recorded/);
  });

  it('fails when the event at that seq records another decision (a replaced log)', () => {
    const before = events.slice(0, -1);
    const other = chainEvent(before.at(-1)!, {
      eventId: 'ce_decision',
      kind: 'decision.granted',
      ticket: { connectorId: 'jira-main', ticketId: '10042', ticketKey: 'ACC-42' },
      requestId: grant.requestId,
      grantId: grant.grantId,
      at: T0,
      actor: 'grantline/processor',
      data: { decisionSha256: decisionDigest({ ...grant, ttlSeconds: 60 }) },
    });
    const report = verifyMessage(wire(grant), jwks, { now: DURING, custodyEvents: [...before, other] });
    expect(failed(report)['custody-event']).toMatch(/is not the .* the message names; .*decisionSha256 .* but this message's decision hashes to/);
  });

  it('accepts the pipeline form: decisionSha256 of the decision, custody added after the event', () => {
    // What src/pipeline does: chain the event with digest(decision), then sign { ...decision, custody }.
    const before = makeChain(2);
    const decision = makeDecision({ grantId: 'gr_pipe' });
    const event = chainEvent(before.at(-1)!, {
      eventId: 'ce_pipe',
      kind: 'decision.granted',
      ticket: { connectorId: 'jira-main', ticketId: '10042', ticketKey: 'ACC-42' },
      requestId: decision.requestId,
      grantId: decision.grantId,
      at: T0,
      actor: 'grantline/processor',
      data: { decisionSha256: decisionDigest(decision), ttlSeconds: decision.ttlSeconds },
    });
    const signed = sign({ ...decision, custody: { ...makeOrigin(), chain: { seq: event.seq, prevHash: event.prevHash, hash: event.hash } } }, keys);
    const report = verifyMessage(wire(signed), jwks, { now: DURING, custodyEvents: wire([...before, event]) });
    expect(failed(report)).toEqual({});
    expect(custodyEventHash(event)).toBe(signed.custody.chain.hash);
  });
});

describe('verifyMessage on rejections and revocations', () => {
  const keys = keysOf(makeKey('k1'));
  const jwks = publicJwks(keys);

  it('verifies a sealed rejection with its event, and skips the grant-only time checks', () => {
    const before = makeChain(3);
    const { message, event } = sealRejection(makeUnsealedRejection(), before.at(-1)!, { eventId: 'ce_rej', at: T0, actor: 'grantline/processor' }, keys);
    const report = verifyMessage(wire(message), jwks, { custodyEvents: wire([...before, event]) });
    expect(report).toMatchObject({ ok: true, kind: 'rejection' });
    expect(report.checks.map((c) => c.name)).not.toContain('not-expired');
    expect(event.kind).toBe('decision.rejected');
  });

  it('fails an unsigned rejection: the published contract requires custody and a signature, as for a grant', () => {
    const { custody: _c, ...unsealed } = makeUnsealedRejection();
    const failures = failed(verifyMessage(unsealed, jwks));
    expect(failures['schema']).toMatch(/custody: .*signature: /s);
    expect(failures['signature-present']).toEqual(expect.any(String));
  });

  it('verifies a sealed revocation, and refuses it against the custody event of the grant', () => {
    const keysForGrant = keysOf(makeKey('k1'));
    const { events } = issue(keysForGrant);
    const { message, event } = sealRevocation(makeUnsealedRevocation(), events.at(-1)!, { eventId: 'ce_rev', at: T0, actor: 'grantline/lifecycle' }, keys);
    const log = [...events, event];
    expect(verifyMessage(wire(message), jwks, { custodyEvents: wire(log) })).toMatchObject({ ok: true, kind: 'revocation' });

    const pointingAtGrant = sign({ ...message, custody: { ...message.custody, chain: { seq: 3, prevHash: events[2]!.hash, hash: events[3]!.hash } } }, keys);
    expect(failed(verifyMessage(wire(pointingAtGrant), jwks, { custodyEvents: wire(log) }))['custody-event']).toMatch(
      /the event is a decision.granted, not a grant.revoked/,
    );
  });
});

describe('verifyMessage after a key rotation', () => {
  it('verifies a grant signed by the retired key through the published JWKS', () => {
    const old = makeKey('k-2025-01');
    const current = makeKey('k-2025-06');
    const { grant: oldGrant } = issue(keysOf(old));
    const { grant: newGrant } = issue(keysOf(current));
    const rotated = publicJwks(keysOf(current, [old]));
    expect(verifyMessage(wire(oldGrant), rotated, { now: DURING }).ok).toBe(true);
    expect(verifyMessage(wire(newGrant), rotated, { now: DURING }).ok).toBe(true);
    // Dropping the retired key from the JWKS makes its grants unverifiable, with the reason named.
    expect(failed(verifyMessage(wire(oldGrant), publicJwks(keysOf(current)), { now: DURING }))).toEqual({
      'kid-known': expect.stringMatching(/kid "k-2025-01"/),
    });
  });
});
