/**
 * Text from tickets reaches signed messages verbatim or quoted. Characters outside the Basic
 * Multilingual Plane (emoji, 𝔸) are two UTF-16 units in JavaScript; a cut between them leaves a lone
 * surrogate, which RFC 8785 cannot canonicalize, so the message could not be signed at all.
 */
import { describe, expect, it } from 'vitest';
import { publicJwks, sealGrant, sealRejection, verifyMessage } from '../../src/custody/index.js';
import type { Decision, EntitlementRequest } from '../../src/model/index.js';
import { decide } from '../../src/policy/index.js';
import { keysOf, makeChain, makeKey, makeOrigin } from '../fixtures/custody/factory.js';
import { approval, makeRequest, NOW, testCatalog, testDirectory } from '../fixtures/requests/factory.js';

const catalog = testCatalog();
const directory = testDirectory();
const keys = keysOf(makeKey('k-astral'));
const jwks = publicJwks(keys);

// Two UTF-16 units per character: a cut after an odd number of units falls inside a pair.
const ASTRAL = '𝔸😀🔑'.repeat(120);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Every string anywhere in a JSON value. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

function wire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Seals a decision as the processor does, then verifies the wire form as an adapter would. */
function sealAndVerify(decision: Decision): { ok: boolean; failed: string[] } {
  const prev = makeChain(3, { connectorId: decision.source.connectorId, ticketId: decision.source.ticketId, ticketKey: decision.source.ticketKey }).at(-1)!;
  const event = { eventId: 'ce_astral', at: decision.decidedAt, actor: 'grantline/processor' };
  const custody = { ...makeOrigin(), connectorId: decision.source.connectorId };
  const { message } =
    decision.outcome === 'granted' ? sealGrant({ ...decision, custody }, prev, event, keys) : sealRejection({ ...decision, custody }, prev, event, keys);
  const report = verifyMessage(wire(message), jwks, { now: NOW });
  return { ok: report.ok, failed: report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`) };
}

/** Astral characters in every field a person types or a source system names. */
function astralEverywhere(overrides: Partial<EntitlementRequest> = {}): EntitlementRequest {
  const base = makeRequest();
  return makeRequest({
    source: { ...base.source, ticketKey: `ACC-42 ${ASTRAL}` },
    requester: { principalId: base.requester.principalId, sourceIdentity: { kind: 'email', value: `alice${ASTRAL}@example.com` } },
    justification: { code: `INC${ASTRAL}`, text: ASTRAL },
    approvals: [approval('bob', { approverSource: { kind: 'email', value: `bob${ASTRAL}` } }), approval('carol')],
    status: { name: `Waiting ${ASTRAL}`, actionable: true },
    freeText: ASTRAL,
    ...overrides,
  });
}

describe('astral characters in ticket text', () => {
  it.each([
    ['astral only', ASTRAL],
    ['after one BMP character', `x${ASTRAL}`],
  ])('a free-text rejection quotes at most 200 code points and never splits a character (%s)', (_name, freeText) => {
    const decision = decide(makeRequest({ entitlementId: null, resource: null, freeText }), catalog, directory, NOW);
    if (decision.outcome !== 'rejected') throw new Error('expected a rejection');
    const message = decision.reasons.find((r) => r.code === 'FREE_TEXT_REQUEST')?.message ?? '';
    const quoted = /You wrote: "(.*)"$/su.exec(message)?.[1] ?? '';
    expect(LONE_SURROGATE.test(message)).toBe(false);
    expect([...quoted]).toHaveLength(200);
    expect(quoted.endsWith('…')).toBe(true);
    expect(freeText.startsWith(quoted.slice(0, -1))).toBe(true);
  });

  it('a short quote is kept whole', () => {
    const text = '𝔸'.repeat(200);
    const decision = decide(makeRequest({ entitlementId: null, resource: null, freeText: text }), catalog, directory, NOW);
    if (decision.outcome !== 'rejected') throw new Error('expected a rejection');
    expect(decision.reasons[0]?.message).toContain(`You wrote: "${text}"`);
  });

  it('a rejection with astral text in every free-text field can be signed, and verifies', () => {
    const request = astralEverywhere({
      entitlementId: null,
      resource: `orders-db ${ASTRAL}`,
      environment: `prod ${ASTRAL}`,
      subject: { type: 'service_account', id: `svc-${ASTRAL}` },
      status: { name: `Closed ${ASTRAL}`, actionable: false },
    });
    const decision = decide(request, catalog, directory, NOW);
    expect(decision.outcome).toBe('rejected');
    expect(strings(decision).filter((s) => LONE_SURROGATE.test(s))).toEqual([]);
    expect(sealAndVerify(decision)).toEqual({ ok: true, failed: [] });
  });

  it('a rejection naming an unknown entitlement with astral characters can be signed, and verifies', () => {
    const decision = decide(astralEverywhere({ entitlementId: `db-${ASTRAL}` }), catalog, directory, NOW);
    expect(decision.outcome).toBe('rejected');
    expect(sealAndVerify(decision)).toEqual({ ok: true, failed: [] });
  });

  it('a grant with astral text in every free-text field can be signed, and verifies', () => {
    const decision = decide(astralEverywhere(), catalog, directory, NOW);
    expect(decision.outcome).toBe('granted');
    expect(sealAndVerify(decision)).toEqual({ ok: true, failed: [] });
  });
});
