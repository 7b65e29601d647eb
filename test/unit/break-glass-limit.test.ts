/**
 * `breakGlass.maxActivePerPerson`: a person who already holds that many active break-glass grants
 * (of any entry, on any ticket) is refused with BREAK_GLASS_LIMIT_REACHED. The policy rule with a
 * fake ledger; the processor writing and releasing holdings; one chunk counting its own grants.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { catalogFromValue } from '../../src/catalog/index.js';
import type { Connector, MapResult, TicketSnapshot } from '../../src/connector/contract.js';
import { chainEvent, jsonSha256, loadSigningKeys, sign } from '../../src/custody/index.js';
import type { BreakGlassHolding, Decision, DeliveryEvent, EntitlementRequest, RevokeCommand } from '../../src/model/index.js';
import { ticketKey } from '../../src/model/index.js';
import { BreakGlassLedger } from '../../src/pipeline/break-glass-ledger.js';
import { HeldPartition } from '../../src/pipeline/state/partition-states.js';
import { createPipelineMetrics } from '../../src/pipeline/metrics.js';
import type { ProcessorPorts } from '../../src/pipeline/ports.js';
import { planChunk } from '../../src/pipeline/processor/plan-chunk.js';
import { Refusals } from '../../src/pipeline/refusals.js';
import type { PreparedChunk } from '../../src/pipeline/processor/prefetch.js';
import { processTicket } from '../../src/pipeline/ticket/index.js';
import { checkCatalog, decide } from '../../src/policy/index.js';
import { makeRequest, testDirectory } from '../fixtures/requests/factory.js';

const NOW = new Date('2026-11-29T12:00:00.000Z');
const ENTRY = {
  id: 'fleet-root',
  kind: 'role',
  system: 'linux-hosts',
  resource: 'prod-fleet',
  environments: ['prod'],
  sensitivity: 'critical',
  subjectTypes: ['human', 'service_account'],
  approvers: { groups: [{ group: 'security', min: 1 }] },
  ttl: { defaultSeconds: '1h', maxSeconds: '4h' },
  channel: 'pam',
};
const catalog = catalogFromValue({
  entitlements: [
    { ...ENTRY, breakGlass: { allowed: true, maxTtlSeconds: '1h', reviewWithinSeconds: '1d', maxActivePerPerson: 1 } },
    { ...ENTRY, id: 'db-root', resource: 'prod-db', breakGlass: { allowed: true, maxTtlSeconds: '1h', reviewWithinSeconds: '1d', maxActivePerPerson: 2 } },
    { ...ENTRY, id: 'fleet-root-unlimited', breakGlass: { allowed: true, maxTtlSeconds: '1h', reviewWithinSeconds: '1d' } },
  ],
});
const directory = testDirectory();

function source(ticket: number) {
  return { system: 'jira', connectorId: 'jira-main', instanceUrl: 'https://example.atlassian.net', ticketId: String(ticket), ticketKey: `ACC-${ticket}`, url: `https://example.atlassian.net/browse/ACC-${ticket}` };
}

function breakGlass(ticket: number, opts: { entitlementId?: string; requester?: string; subject?: EntitlementRequest['subject'] } = {}): EntitlementRequest {
  const requester = opts.requester ?? 'alice';
  const entitlementId = opts.entitlementId ?? 'fleet-root';
  return makeRequest({
    requestId: `rq_${ticket}`,
    source: source(ticket),
    entitlementId,
    resource: catalog.get(entitlementId)?.resource ?? 'prod-fleet',
    requester: { principalId: requester, sourceIdentity: { kind: 'jira-username', value: requester } },
    subject: opts.subject ?? { type: 'human', id: requester },
    breakGlass: true,
    ttlSeconds: undefined,
    approvals: [],
    changes: [],
  });
}

function holding(grantId: string, holder: string, ticket: number, overrides: Partial<BreakGlassHolding> = {}): BreakGlassHolding {
  return {
    grantId,
    holder,
    entitlementId: 'fleet-root',
    ticket: { connectorId: 'jira-main', ticketId: String(ticket), ticketKey: `ACC-${ticket}` },
    expiresAt: new Date(NOW.getTime() + 1800_000).toISOString(),
    releasedAt: null,
    ...overrides,
  };
}

function ledgerWith(...holdings: BreakGlassHolding[]): BreakGlassLedger {
  const ledger = new BreakGlassLedger('bg');
  for (const h of holdings) ledger.apply(h);
  return ledger;
}

const codes = (d: Decision) => (d.outcome === 'granted' ? [] : d.reasons.map((r) => r.code));
const decideWith = (request: EntitlementRequest, ledger: BreakGlassLedger) => decide(request, catalog, directory, NOW, { breakGlassHoldings: ledger });

describe('policy: breakGlass.maxActivePerPerson', () => {
  it('refuses a person at the limit, saying which grants they hold, and does not judge it as a normal request', () => {
    const d = decideWith(breakGlass(2), ledgerWith(holding('gr_a', 'alice', 1)));
    expect(codes(d)).toEqual(['BREAK_GLASS_LIMIT_REACHED']);
    const reason = d.outcome === 'rejected' ? d.reasons[0] : undefined;
    expect(reason?.field).toBe('breakGlass');
    expect(reason?.message).toContain('alice already holds 1 active break-glass grant (fleet-root on ACC-1 until');
    expect(reason?.message).toContain('fleet-root allows at most 1 per person');
  });

  it('grants below the limit, and counts holdings of every entry against the entry invoked', () => {
    expect(decideWith(breakGlass(2), ledgerWith()).outcome).toBe('granted');
    // db-root allows 2: one fleet-root grant held leaves room for one more.
    const one = ledgerWith(holding('gr_a', 'alice', 1));
    expect(decideWith(breakGlass(2, { entitlementId: 'db-root' }), one).outcome).toBe('granted');
    const two = ledgerWith(holding('gr_a', 'alice', 1), holding('gr_b', 'alice', 3, { entitlementId: 'db-root' }));
    expect(codes(decideWith(breakGlass(2, { entitlementId: 'db-root' }), two))).toEqual(['BREAK_GLASS_LIMIT_REACHED']);
  });

  it('counts neither released nor expired holdings, nor the ticket being decided again, nor other people', () => {
    const ledger = ledgerWith(
      holding('gr_exp', 'alice', 1, { expiresAt: NOW.toISOString() }),
      holding('gr_same', 'alice', 2),
      holding('gr_bob', 'bob', 3),
    );
    ledger.apply(holding('gr_rel', 'alice', 4));
    ledger.apply(holding('gr_rel', 'alice', 4, { releasedAt: NOW.toISOString() }));
    expect(decideWith(breakGlass(2), ledger).outcome).toBe('granted');
  });

  it('has no limit on an entry without maxActivePerPerson', () => {
    expect(decideWith(breakGlass(2, { entitlementId: 'fleet-root-unlimited' }), ledgerWith(holding('gr_a', 'alice', 1), holding('gr_b', 'alice', 3))).outcome).toBe('granted');
  });

  it('counts break-glass for a non-human identity against the person who invoked it', () => {
    const request = breakGlass(2, { subject: { type: 'service_account', id: 'svc-orders' } });
    expect(codes(decideWith(request, ledgerWith(holding('gr_a', 'alice', 1))))).toEqual(['BREAK_GLASS_LIMIT_REACHED']);
    expect(decideWith(request, ledgerWith(holding('gr_a', 'svc-orders', 1))).outcome).toBe('granted');
  });

  it('is a catalog field only where break-glass is allowed, at least 1, and catalog check names a bad one', () => {
    expect(() => catalogFromValue({ entitlements: [{ ...ENTRY, breakGlass: { allowed: false, maxActivePerPerson: 1 } }] })).toThrow(/entitlements\[0\]\.breakGlass/);
    const problems = checkCatalog({ entitlements: [{ ...ENTRY, breakGlass: { allowed: true, maxTtlSeconds: '1h', reviewWithinSeconds: '1d', maxActivePerPerson: 0 } }] }, directory, ['alice']);
    expect(problems.map((p) => [p.code, p.path])).toContainEqual(['invalid', 'entitlements[0].breakGlass.maxActivePerPerson']);
  });
});

// --- The processor: holdings written in the ticket's transaction, released on revocation ----------

const { privateKey } = generateKeyPairSync('ed25519');
const keys = loadSigningKeys({ activeKid: 'k1', keys: [{ kid: 'k1', privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }] });

function ports(ledger: BreakGlassLedger, requests: Map<string, EntitlementRequest>): ProcessorPorts {
  const connector: Connector = {
    id: 'jira-main',
    type: 'fake',
    instanceUrl: 'https://example.atlassian.net',
    verify: () => 'valid',
    identify: () => ({ ok: false, reason: 'unused' }),
    fetchTicket: () => Promise.reject(new Error('unused')),
    map: (snapshot: TicketSnapshot): MapResult => {
      const request = requests.get(snapshot.ticketKey);
      if (!request) throw new Error(`no request for ${snapshot.ticketKey}`);
      return { ok: true, request: { ...request, comments: [] } };
    },
    scope: () => ({ ok: true }),
    writeBack: () => Promise.reject(new Error('unused')),
    openReview: () => Promise.reject(new Error('unused')),
    reviewState: () => Promise.reject(new Error('unused')),
    noteReview: () => Promise.reject(new Error('unused')),
    poll: () => Promise.reject(new Error('unused')),
    isCancelled: () => false,
  };
  return {
    policy: {
      decide: (request, now, holdings) => decide(request, catalog, directory, now, { policyVersion: 'p1', breakGlassHoldings: holdings }),
      versions: () => ({ policyVersion: 'p1', catalogVersion: catalog.version, directoryVersion: directory.version }),
    },
    signer: { sign: (body) => sign(body, keys) },
    custody: { digest: jsonSha256, chain: (head, draft) => chainEvent(head, draft) },
    topics: { ticketEvents: 'te', ticketState: 'ts', grants: (c) => `grants.${c}`, rejected: 'rejected', custody: 'custody', writeback: 'writeback', dlq: 'dlq', breakGlass: 'bg', decisionRequests: 'decision-requests', ticketIndex: 'ticket-index' },
    breakGlass: ledger,
    decidedBy: 'grantline/test processor@unit',
    connector: (id) => (id === 'jira-main' ? connector : undefined),
  };
}

let seq = 0;
function delivery(ticket: number): DeliveryEvent {
  return {
    kind: 'delivery',
    deliveryId: `d-${++seq}`,
    connectorId: 'jira-main',
    ticketId: String(ticket),
    ticketKey: `ACC-${ticket}`,
    eventType: 'jira:issue_updated',
    via: 'webhook',
    receivedAt: NOW.toISOString(),
    payloadSha256: 'a'.repeat(64),
    signatureVerified: true,
  };
}
const snapshot = (ticket: number): TicketSnapshot => ({ ticketKey: `ACC-${ticket}`, fetchedAt: NOW.toISOString(), raw: { ticket } }) as unknown as TicketSnapshot;

describe('processor: break-glass holdings on grantline.break-glass.v1', () => {
  it('writes the holding with the grant and releases it with the revocation, in the same outputs', () => {
    const ledger = new BreakGlassLedger('bg');
    const p = ports(ledger, new Map([['ACC-1', breakGlass(1)]]));
    const issued = processTicket({ connectorId: 'jira-main', ticketId: '1', state: null, events: [delivery(1)], snapshot: snapshot(1), now: NOW }, p);
    const held = issued.outputs.filter((o) => o.topic === 'bg').map((o) => JSON.parse(o.message.value) as BreakGlassHolding);
    const grantId = issued.state.grants[0]?.grantId ?? '';
    expect(held).toEqual([expect.objectContaining({ grantId, holder: 'alice', entitlementId: 'fleet-root', releasedAt: null, ticket: { connectorId: 'jira-main', ticketId: '1', ticketKey: 'ACC-1' } })]);
    expect(issued.outputs.find((o) => o.topic === 'bg')?.message.key).toBe(grantId);
    ledger.committed(issued.outputs);
    expect(ledger.heldBy('alice').map((h) => h.grantId)).toEqual([grantId]);

    const revoke: RevokeCommand = { kind: 'revoke', commandId: 'c1', connectorId: 'jira-main', ticketId: '1', grantId, trigger: 'manual', reason: 'done', actor: 'dave', requestedAt: NOW.toISOString() };
    const revoked = processTicket({ connectorId: 'jira-main', ticketId: '1', state: issued.state, events: [revoke], snapshot: null, now: NOW }, p);
    const released = revoked.outputs.filter((o) => o.topic === 'bg').map((o) => JSON.parse(o.message.value) as BreakGlassHolding);
    expect(released).toEqual([expect.objectContaining({ grantId, holder: 'alice', releasedAt: NOW.toISOString() })]);
    ledger.committed(revoked.outputs);
    expect(ledger.heldBy('alice')).toEqual([]);
  });

  it('counts a grant decided earlier in the same chunk, and applies the holdings only after the commit', () => {
    const ledger = new BreakGlassLedger('bg');
    const p = ports(ledger, new Map([['ACC-1', breakGlass(1)], ['ACC-2', breakGlass(2)]]));
    const item = (ticket: number, offset: number) => ({
      offset: String(offset),
      key: ticketKey('jira-main', String(ticket)),
      event: delivery(ticket),
      message: { key: Buffer.from(ticketKey('jira-main', String(ticket))), value: null, offset: String(offset), headers: {}, timestamp: '0', attributes: 0 } as never,
    });
    const groups = [1, 2].map((t, i) => ({ connectorId: 'jira-main', ticketId: String(t), key: ticketKey('jira-main', String(t)), items: [item(t, i)] }));
    const prepared: PreparedChunk = { messages: groups.map((g) => g.items[0]?.message) as never, groups, poison: [], commands: [], fetches: Promise.resolve([]) };
    const plan = planChunk(prepared, [{ kind: 'ok', snapshot: snapshot(1) }, { kind: 'ok', snapshot: snapshot(2) }], {
      topic: 'te',
      partition: 0,
      held: new HeldPartition(0),
      ports: p,
      metrics: createPipelineMetrics(new Registry()),
      log: pino({ level: 'silent' }),
      state: () => undefined,
      now: NOW,
      refusals: new Refusals({ topics: { dlq: 'dlq', alerts: 'alerts' }, metrics: createPipelineMetrics(new Registry()), logger: pino({ level: 'silent' }), raisedBy: 'test' }),
      serves: () => true,
    });
    const grants = plan.outputs.filter((o) => o.topic === 'grants.pam');
    const rejected = plan.outputs.filter((o) => o.topic === 'rejected').map((o) => JSON.parse(o.message.value) as { reasons: { code: string }[] });
    expect(grants).toHaveLength(1);
    expect(rejected.map((r) => r.reasons.map((x) => x.code))).toEqual([['BREAK_GLASS_LIMIT_REACHED']]);
    // Nothing counts before the transaction commits (a chunk read again must not count itself).
    expect(ledger.heldBy('alice')).toEqual([]);
    for (const after of plan.afterCommit) after();
    expect(ledger.heldBy('alice')).toHaveLength(1);
  });
});
