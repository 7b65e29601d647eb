/**
 * `ttlStartsAt: fulfillment`: the grant's TTL counts from the adapter's `provisioned` report.
 * grantline then publishes one signed `grant.amended` with the new expiry; the lifecycle expires at
 * it, the adapter kit ends the grant at it, and `grantline evidence` shows both times.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GrantBook } from '../../adapters/kit/book.js';
import { catalogFromValue } from '../../src/catalog/index.js';
import type { Connector, TicketSnapshot } from '../../src/connector/contract.js';
import { chainEvent, jsonSha256, loadSigningKeys, publicJwks, sign, verifyMessage } from '../../src/custody/index.js';
import { recordCommand, type CustodyEvent, type DeliveryEvent, type EntitlementRequest, type FulfillmentResult, type Grant, type GrantAmendment, type TicketState } from '../../src/model/index.js';
import { BreakGlassLedger } from '../../src/pipeline/break-glass-ledger.js';
import { CE_TYPES } from '../../src/pipeline/cloudevents.js';
import { buildEvidence, formatEvidence } from '../../src/pipeline/evidence.js';
import { planLifecycle } from '../../src/pipeline/lifecycle.js';
import type { ProcessorPorts } from '../../src/pipeline/ports.js';
import { processTicket, type Output } from '../../src/pipeline/ticket/index.js';
import { decide } from '../../src/policy/index.js';
import { amendedExpiry } from '../../src/policy/expiry.js';
import { approval, makeRequest, testDirectory } from '../fixtures/requests/factory.js';

const T0 = new Date('2026-11-29T12:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const ENTRY = {
  id: 'analytics-session',
  kind: 'role',
  system: 'warehouse',
  resource: 'analytics-warehouse',
  environments: ['prod'],
  sensitivity: 'low',
  subjectTypes: ['human'],
  approvers: { groups: [{ group: 'security', min: 1 }] },
  ttl: { defaultSeconds: '1h', maxSeconds: '4h' },
  channel: 'pam',
};
const catalog = catalogFromValue({ entitlements: [{ ...ENTRY, ttlStartsAt: 'fulfillment' }, { ...ENTRY, id: 'analytics-now' }] });
const directory = testDirectory();
const { privateKey } = generateKeyPairSync('ed25519');
const keys = loadSigningKeys({ activeKid: 'k1', keys: [{ kid: 'k1', privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }] });
const jwks = publicJwks(keys);

function request(entitlementId: string): EntitlementRequest {
  return makeRequest({ entitlementId, resource: 'analytics-warehouse', subject: { type: 'human', id: 'alice' }, ttlSeconds: undefined, changes: [], approvals: [approval('ivan')] });
}

function ports(current: EntitlementRequest): ProcessorPorts {
  const connector = {
    id: 'jira-main',
    map: () => ({ ok: true, request: { ...current, comments: [] } }),
    isCancelled: () => false,
  } as unknown as Connector;
  return {
    policy: {
      decide: (r, now, holdings) => decide(r, catalog, directory, now, { policyVersion: 'p1', breakGlassHoldings: holdings }),
      versions: () => ({ policyVersion: 'p1', catalogVersion: catalog.version, directoryVersion: directory.version }),
    },
    signer: { sign: (body) => sign(body, keys) },
    custody: { digest: jsonSha256, chain: (head, draft) => chainEvent(head, draft) },
    topics: { ticketEvents: 'te', ticketState: 'ts', grants: (c) => `grants.${c}`, rejected: 'rejected', custody: 'custody', writeback: 'writeback', dlq: 'dlq', breakGlass: 'bg', decisionRequests: 'decision-requests', ticketIndex: 'ticket-index' },
    breakGlass: new BreakGlassLedger('bg'),
    decidedBy: 'grantline/test processor@unit',
    connector: (id) => (id === 'jira-main' ? connector : undefined),
  };
}

const delivery: DeliveryEvent = {
  kind: 'delivery',
  deliveryId: 'd-1',
  connectorId: 'jira-main',
  ticketId: '10042',
  ticketKey: 'ACC-42',
  eventType: 'jira:issue_created',
  via: 'webhook',
  receivedAt: T0.toISOString(),
  payloadSha256: 'a'.repeat(64),
  signatureVerified: true,
};
const snapshot = { ticketKey: 'ACC-42', fetchedAt: T0.toISOString(), raw: { id: 1 } } as unknown as TicketSnapshot;

function provisioned(grantId: string, reportedAt: Date, commandId: string, receivedAt: Date) {
  const result: FulfillmentResult = { grantId, action: 'provision', status: 'provisioned', adapter: 'cyberark-pam', reference: 'sess-1', at: reportedAt.toISOString() };
  return recordCommand({ commandId, connectorId: 'jira-main', ticketId: '10042', grantId, requestId: 'rq_test-0001', actor: 'grantline/lifecycle', at: receivedAt.toISOString() }, 'fulfillment.reported', result);
}

const values = (outputs: readonly Output[], topic: string, type?: string) =>
  outputs.filter((o) => o.topic === topic && (type === undefined || o.message.headers.ce_type === type)).map((o) => JSON.parse(o.message.value) as Record<string, unknown>);

/** Issues the grant at T0 and reports it provisioned (by the adapter's clock at +10 min, received at +12). */
function issueAndProvision(entitlementId: string) {
  const p = ports(request(entitlementId));
  const issued = processTicket({ connectorId: 'jira-main', ticketId: '10042', state: null, events: [delivery], snapshot, now: T0 }, p);
  const grant = values(issued.outputs, 'grants.pam', CE_TYPES.grantIssued)[0] as unknown as Grant;
  const reported = processTicket({ connectorId: 'jira-main', ticketId: '10042', state: issued.state, events: [provisioned(grant.grantId, at(10), 'f-1', at(12))], snapshot: null, now: at(12) }, p);
  return { p, issued, grant, reported };
}

describe('ttlStartsAt: fulfillment', () => {
  it('is a catalog choice the grant carries; absent, the TTL counts from the decision', () => {
    const later = decide(request('analytics-session'), catalog, directory, T0);
    const now = decide(request('analytics-now'), catalog, directory, T0);
    expect(later.outcome === 'granted' && later.ttlStartsAt).toBe('fulfillment');
    expect(now.outcome === 'granted' && 'ttlStartsAt' in now).toBe(false);
    expect(() => catalogFromValue({ entitlements: [{ ...ENTRY, ttlStartsAt: 'approval' }] })).toThrow(/entitlements\[0\]\.ttlStartsAt/);
  });

  it('publishes one signed grant.amended after the grant, with the expiry counted from provisioning', () => {
    const { p, issued, grant, reported } = issueAndProvision('analytics-session');
    expect(grant.expiresAt).toBe(at(60).toISOString());
    const [amendment] = values(reported.outputs, 'grants.pam', CE_TYPES.grantAmended) as unknown as GrantAmendment[];
    expect(amendment).toMatchObject({
      outcome: 'amended',
      grantId: grant.grantId,
      reason: 'ttl-starts-at-fulfillment',
      provisionedAt: at(10).toISOString(),
      adapter: 'cyberark-pam',
      previousExpiresAt: at(60).toISOString(),
      expiresAt: at(70).toISOString(),
      ttlSeconds: 3600,
    });
    expect(reported.outputs.find((o) => o.message.headers.ce_type === CE_TYPES.grantAmended)?.message.key).toBe(grant.grantId);
    const custody = [...values(issued.outputs, 'custody'), ...values(reported.outputs, 'custody')];
    const report = verifyMessage(amendment, jwks, { now: at(12), custodyEvents: custody });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.kind).toBe('amendment');
    expect(reported.state.grants[0]?.expiresAt).toBe(at(70).toISOString());

    // A second report of the same provisioning moves nothing again.
    const again = processTicket({ connectorId: 'jira-main', ticketId: '10042', state: reported.state, events: [provisioned(grant.grantId, at(20), 'f-2', at(21))], snapshot: null, now: at(21) }, p);
    expect(values(again.outputs, 'grants.pam', CE_TYPES.grantAmended)).toEqual([]);
    expect(again.state.grants[0]?.expiresAt).toBe(at(70).toISOString());
  });

  it('leaves a grant whose TTL counts from the decision alone', () => {
    const { reported } = issueAndProvision('analytics-now');
    expect(values(reported.outputs, 'grants.pam', CE_TYPES.grantAmended)).toEqual([]);
    expect(reported.state.grants[0]?.expiresAt).toBe(at(60).toISOString());
  });

  it('does not trust the adapter clock beyond the grant: no earlier than the grant, no later than now', () => {
    const { reported } = issueAndProvision('analytics-session');
    const base = { ...(reported.state.grants[0] as TicketState['grants'][number]), expiresAt: at(60).toISOString(), amendedAt: undefined };
    delete (base as { amendedAt?: string }).amendedAt;
    // Reported before the grant existed: counted from the grant's start, which moves nothing.
    expect(amendedExpiry(base, at(-30).toISOString(), at(5))).toBeNull();
    expect(amendedExpiry(base, at(90).toISOString(), at(5))?.expiresAt).toBe(at(65).toISOString());
    // Past its decision-time expiry an unfulfilled grant is over: no amendment revives it.
    expect(amendedExpiry(base, at(61).toISOString(), at(61))).toBeNull();
  });

  it('the lifecycle expires the grant at the amended time, not the decision-time one', () => {
    const { reported } = issueAndProvision('analytics-session');
    const settings = { revocationConfirmMs: 60_000, directoryCheckMs: 60_000 };
    expect(planLifecycle([reported.state], at(65), settings, null).commands).toEqual([]);
    expect(planLifecycle([reported.state], at(70), settings, null).commands).toEqual([expect.objectContaining({ kind: 'revoke', trigger: 'ttl-expired' })]);
  });

  it('the adapter kit ends the grant at the amended expiry, and only for a grant whose TTL starts at fulfillment', () => {
    const { grant, reported } = issueAndProvision('analytics-session');
    const [amendment] = values(reported.outputs, 'grants.pam', CE_TYPES.grantAmended) as unknown as GrantAmendment[];
    const book = new GrantBook();
    book.addAmendment(amendment as GrantAmendment); // a replay may bring it first
    book.addGrant(grant);
    expect(book.isActive(grant, at(65))).toBe(true);
    expect(book.nextExpiry(at(65))).toBe(at(70).getTime());
    expect(book.isActive(grant, at(70))).toBe(false);
    const other = new GrantBook();
    const plain = { ...grant, ttlStartsAt: undefined } as Grant;
    other.addGrant(plain);
    other.addAmendment(amendment as GrantAmendment);
    expect(other.isActive(plain, at(65))).toBe(false);
  });

  it('grantline evidence shows the decision-time and the amended expiry, and verifies the amendment', () => {
    const { issued, reported } = issueAndProvision('analytics-session');
    const events = [...values(issued.outputs, 'custody'), ...values(reported.outputs, 'custody')] as unknown as CustodyEvent[];
    const messages = [...issued.outputs, ...reported.outputs]
      .filter((o) => o.topic === 'grants.pam')
      .map((o) => ({ topic: o.topic, type: o.message.headers.ce_type ?? '', value: JSON.parse(o.message.value) as unknown }));
    const story = buildEvidence(events, messages, jwks, at(12));
    expect(story.verified).toBe(true);
    const text = formatEvidence(story);
    expect(text).toContain(`expires ${at(60).toISOString()}`);
    expect(text).toContain(`provisioned at ${at(10).toISOString()} (adapter cyberark-pam), expiry moved from ${at(60).toISOString()} to ${at(70).toISOString()}`);
    expect(text).toMatch(/✔ amendment am_/);
  });
});
