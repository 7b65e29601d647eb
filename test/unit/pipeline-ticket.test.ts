import { describe, expect, it } from 'vitest';
import type { MapResult } from '../../src/connector/contract.js';
import { verifyChain, verifyMessage } from '../../src/custody/index.js';
import type { CustodyEvent, MappedRequest } from '../../src/model/index.js';
import { requestIdFor } from '../../src/policy/ids.js';
import type { RevokeCommand, TicketState } from '../../src/pipeline/events.js';
import { buildEvidence, formatEvidence } from '../../src/pipeline/evidence.js';
import { approval, delivery, jwks, makeRequest, NOW, on, run, source } from '../fixtures/ticket-pipeline.js';
import { recordCommand } from '../../src/model/index.js';
import { planLifecycle } from '../../src/pipeline/lifecycle/plan.js';
/** The grant id the fake policy gives a request: `gr_` + the core's request id. */
const GR1 = `gr_${requestIdFor(makeRequest())}`;

describe('processTicket', () => {
  it('grants an approved request: a signed grant keyed by grant id, its custody chain and a write-back task', () => {
    const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
    const result = run(null, ticket);
    const grants = on(result.outputs, 'grants.pam');
    expect(grants).toHaveLength(1);
    const grant = grants[0]!;
    expect(grant.key).toBe(GR1);
    expect(grant.headers.ce_type).toBe('dev.grantline.grant.issued.v1');
    expect(grant.headers.ce_specversion).toBe('1.0');
    const custody = on(result.outputs, 'custody').map((c) => c.data as unknown as CustodyEvent);
    expect(custody.map((c) => c.kind)).toEqual(['delivery.received', 'ticket.fetched', 'request.mapped', 'decision.granted']);
    expect(verifyChain(custody)).toEqual({ ok: true });
    const report = verifyMessage(grant.data, jwks, { now: NOW, custodyEvents: custody });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(on(result.outputs, 'writeback').map((w) => (w.data.item as { kind: string }).kind)).toEqual(['decision']);
    expect(result.state.grants.map((g) => g.grantId)).toEqual([GR1]);
    expect(result.state.custodyHead?.seq).toBe(3);
  });

  it('records who filed the ticket for someone else, beside the requester, in the request.mapped custody event', () => {
    const filer = { principalId: null, sourceIdentity: { kind: 'jira-account-id' as const, value: 'acc-integration' } };
    const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval], filer }) } as MapResult, cancelled: false } };
    const mapped = on(run(null, ticket).outputs, 'custody')
      .map((c) => c.data as unknown as CustodyEvent)
      .find((c) => c.kind === 'request.mapped');
    expect(mapped?.data).toMatchObject({ requester: { principalId: 'alice' }, filer });
  });

  it('grantline evidence tells who asked, who filed, and which fields changed after filing', () => {
    const filer = { principalId: 'erin', sourceIdentity: { kind: 'jira-account-id' as const, value: 'acc-erin' } };
    const changes = [{ field: 'ttlSeconds' as const, at: '2026-11-29T09:00:00.000Z' }];
    const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval], filer, changes }) } as MapResult, cancelled: false } };
    const custody = on(run(null, ticket).outputs, 'custody').map((c) => c.data);
    const text = formatEvidence(buildEvidence(custody, [], jwks, NOW));
    expect(text).toContain('requested by alice (jira-account-id acc-alice), filed for them by erin (jira-account-id acc-erin): db-orders-prod-readwrite');
    expect(text).toContain('changed since filed: ttlSeconds 2026-11-29T09:00:00.000Z');
  });

  it('drops a redelivered webhook without fetching work or output', () => {
    const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
    const first = run(null, ticket, [delivery('same-id')]);
    const again = run(first.state, ticket, [delivery('same-id')]);
    expect(again.outputs).toEqual([]);
    expect(again.counts.duplicates).toBe(1);
    expect(again.state).toBe(first.state);
  });

  it('gives no second grant for an edit that changes nothing request-defining', () => {
    const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
    const first = run(null, ticket);
    const second = run(first.state, ticket);
    expect(on(second.outputs, 'grants.pam')).toEqual([]);
    expect(on(second.outputs, 'rejected')).toEqual([]);
    expect(second.counts.unchanged).toBe(1);
    // The delivery itself is still evidence, chained after the first decision.
    expect(on(second.outputs, 'custody').map((c) => c.data.kind)).toEqual(['delivery.received', 'ticket.fetched']);
    expect(on(second.outputs, 'custody')[0]?.data.prevHash).toBe(first.state.custodyHead?.hash);
  });

  it('gives no second grant when a further approval arrives for the same request', () => {
    const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
    const first = run(null, ticket);
    ticket.current = { map: { ok: true, request: makeRequest({ approvals: [approval, { ...approval, approverPrincipalId: 'carol', evidence: { kind: 'jsm-approval', recordId: '43' } }] }) }, cancelled: false };
    const second = run(first.state, ticket);
    expect(on(second.outputs, 'grants.pam')).toEqual([]);
    expect(second.state.grants.filter((g) => g.revocation === null)).toHaveLength(1);
  });

  it('revokes the superseded grant and issues a new one when the request changes materially', () => {
    const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
    const first = run(null, ticket);
    const changed = makeRequest({ environment: 'staging', approvals: [approval] });
    ticket.current = { map: { ok: true, request: changed }, cancelled: false };
    const second = run(first.state, ticket);
    const messages = on(second.outputs, 'grants.pam');
    expect(messages.map((m) => [m.key, m.headers.ce_type])).toEqual([
      [GR1, 'dev.grantline.grant.revoked.v1'],
      [`gr_${requestIdFor(changed)}`, 'dev.grantline.grant.issued.v1'],
    ]);
    expect(messages[0]?.data.trigger).toBe('superseded');
  });

  it('gives the grant the request id the core computes, whatever id the connector put on the request', () => {
    const stray = { ...makeRequest({ approvals: [approval] }), requestId: 'jira-0123' } as MappedRequest;
    const first = run(null, { current: { map: { ok: true, request: stray }, cancelled: false } });
    const grant = on(first.outputs, 'grants.pam')[0]!;
    expect(grant.data.requestId).toBe(requestIdFor(makeRequest()));
    expect(grant.data.requestId).toMatch(/^rq_[A-Za-z0-9_-]{43}$/);
  });

  describe('a live grant issued under an older request id form (upgrade)', () => {
    /** The state a previous version left: the grant and last decision under a `jira-…` id, and another input hash. */
    function legacy(state: TicketState): TicketState {
      return {
        ...state,
        lastDecision: { ...state.lastDecision!, requestId: 'jira-legacy', inputSha256: 'f'.repeat(64) },
        grants: state.grants.map((g) => ({ ...g, requestId: 'jira-legacy' })),
      };
    }

    it('is kept, not issued again, when the request did not change since it was decided', () => {
      const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
      const first = run(null, ticket);
      const second = run(legacy(first.state), ticket);
      expect(on(second.outputs, 'grants.pam')).toEqual([]);
      expect(second.state.grants.map((g) => [g.grantId, g.requestId, g.revocation])).toEqual([[GR1, requestIdFor(makeRequest()), null]]);
      // Closing the ticket afterwards leaves the grant in force, as for any grant of the same request.
      ticket.current = { map: { ok: true, request: makeRequest({ approvals: [approval], status: { name: 'Done', actionable: false } }) }, cancelled: false };
      expect(on(run(second.state, ticket).outputs, 'grants.pam')).toEqual([]);
    });

    it('is superseded when a request field changed after it was decided', () => {
      const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
      const first = run(null, ticket);
      const later = new Date(NOW.getTime() + 3600_000);
      ticket.current = { map: { ok: true, request: makeRequest({ approvals: [approval], changes: [{ field: 'resource', at: new Date(NOW.getTime() + 60_000).toISOString() }] }) }, cancelled: false };
      const second = run(legacy(first.state), ticket, [delivery()], later);
      expect(on(second.outputs, 'grants.pam').map((m) => m.headers.ce_type)).toEqual(['dev.grantline.grant.revoked.v1', 'dev.grantline.grant.issued.v1']);
    });
  });

  it('decides again on an approval-looking comment, not on a plain one or on its own note', () => {
    const author = { kind: 'jira-account-id' as const, value: 'acc-bob' };
    const withComments = (...texts: string[]) => ({
      map: { ok: true, request: makeRequest({ comments: texts.map((text, i) => ({ authorSource: author, commentId: String(i + 1), at: NOW.toISOString(), text })) }) } as MapResult,
      cancelled: false,
    });
    const ticket = { current: withComments() };
    const first = run(null, ticket);
    expect(on(first.outputs, 'rejected')).toHaveLength(1);
    ticket.current = withComments('which database?', '[grantline:rj_1:abc]\nAccess not granted.');
    const second = run(first.state, ticket);
    expect(on(second.outputs, 'rejected')).toEqual([]);
    ticket.current = withComments('which database?', '[grantline:rj_1:abc]\nAccess not granted.', 'LGTM');
    expect(on(run(second.state, ticket).outputs, 'rejected')).toHaveLength(1);
  });

  it('revokes when the approval is withdrawn after the grant, and rejects with the reason', () => {
    const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
    const first = run(null, ticket);
    ticket.current = { map: { ok: true, request: makeRequest({ approvals: [] }) }, cancelled: false };
    const second = run(first.state, ticket);
    const revoked = on(second.outputs, 'grants.pam');
    expect(revoked.map((m) => m.data.trigger)).toEqual(['approval-withdrawn']);
    expect(on(second.outputs, 'rejected').map((m) => (m.data.reasons as { code: string }[]).map((r) => r.code))).toEqual([['INSUFFICIENT_APPROVALS']]);
  });

  it('keeps the grant when the ticket is merely closed after fulfilment', () => {
    const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
    const first = run(null, ticket);
    ticket.current = { map: { ok: true, request: makeRequest({ approvals: [approval], status: { name: 'Done', actionable: false } }) }, cancelled: false };
    const second = run(first.state, ticket);
    expect(on(second.outputs, 'grants.pam')).toEqual([]);
    expect(second.state.grants[0]?.revocation).toBeNull();
  });

  it('revokes every active grant when the ticket is cancelled', () => {
    const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
    const first = run(null, ticket);
    ticket.current = { ...ticket.current, cancelled: true };
    const second = run(first.state, ticket);
    expect(on(second.outputs, 'grants.pam').map((m) => m.data.trigger)).toEqual(['ticket-cancelled']);
    expect(second.state.grants[0]?.revocation?.trigger).toBe('ticket-cancelled');
  });

  it('turns a mapping failure into a signed rejection written back on the ticket', () => {
    const ticket = {
      current: {
        map: {
          ok: false,
          failure: {
            source,
            requester: null,
            reasons: [{ code: 'FREE_TEXT_REQUEST', message: 'Choose an entitlement from the catalog field.' }],
            freeText: 'pls give me prod db',
            actionable: true,
          },
        } as MapResult,
        cancelled: false,
      },
    };
    const result = run(null, ticket);
    const rejected = on(result.outputs, 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.data.freeText).toBe('pls give me prod db');
    expect(verifyMessage(rejected[0]?.data, jwks, { now: NOW }).ok).toBe(true);
    expect(on(result.outputs, 'writeback')).toHaveLength(1);
  });

  it('revokes on a command once; the same command again changes nothing', () => {
    const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
    const first = run(null, ticket);
    const command: RevokeCommand = {
      kind: 'revoke',
      commandId: 'cmd-1',
      connectorId: 'fake-main',
      ticketId: '10001',
      grantId: GR1,
      trigger: 'manual',
      reason: 'incident 7',
      actor: 'erin',
      requestedAt: NOW.toISOString(),
    };
    const second = run(first.state, ticket, [command] as never);
    const revocation = on(second.outputs, 'grants.pam')[0]!;
    expect(revocation.data.actor).toBe('erin');
    expect((revocation.data.custody as { via: string }).via).toBe('cli');
    const third = run(second.state, ticket, [command, { ...command, commandId: 'cmd-2' }] as never);
    expect(on(third.outputs, 'grants.pam')).toEqual([]);
  });

  it('opens a break-glass review through a write-back task', () => {
    const ticket = { current: { map: { ok: true, request: makeRequest({ breakGlass: true, approvals: [approval] }) } as MapResult, cancelled: false } };
    const result = run(null, ticket);
    expect(on(result.outputs, 'writeback').map((w) => (w.data.item as { kind: string }).kind)).toEqual(['decision', 'open-review']);
    expect(result.state.grants[0]?.breakGlass?.reviewDueAt).toBe('2026-11-30T12:00:00.000Z');
  });

  it('is deterministic: the same input gives the same output', () => {
    const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
    const events = [delivery('fixed')];
    expect(run(null, ticket, events)).toEqual(run(null, ticket, events));
  });

  describe('retirement', () => {
    const retireAfterMs = 3_600_000;
    const lifecycle = { revocationConfirmMs: 60_000, directoryCheckMs: 60_000, retireAfterMs };
    const rec = (custodyKind: 'fulfillment.reported' | 'ticket.retired' | 'ticket.written-back', data: never, id: string, grantId: string | null) =>
      recordCommand({ commandId: id, connectorId: 'fake-main', ticketId: '10001', grantId, requestId: null, actor: 'grantline/lifecycle', at: NOW.toISOString() }, custodyKind, data);
    const revoke = (grantId: string): RevokeCommand => ({ kind: 'revoke', commandId: 'rv-1', connectorId: 'fake-main', ticketId: '10001', grantId, trigger: 'ttl-expired', reason: 'expired', actor: 'grantline/lifecycle', requestedAt: NOW.toISOString() });

    it('retires a closed ticket once nothing is pending: custody ticket.retired, state tombstoned; an old delivery read again gives no new grant', () => {
      const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval] }) } as MapResult, cancelled: false } };
      const granted = run(null, ticket);
      const grantId = granted.state.grants[0]?.grantId as string;
      ticket.current = { map: { ok: true, request: makeRequest({ approvals: [approval], status: { name: 'Done', actionable: false } }) }, cancelled: false };
      const closed = run(granted.state, ticket);
      expect(closed.state.closedAt).toBe(NOW.toISOString());
      // An active grant: the ticket is not retired, however long it has been closed.
      const later = new Date(NOW.getTime() + retireAfterMs);
      expect(planLifecycle([closed.state], later, lifecycle, null).commands.filter((c) => c.kind === 'record' && c.custodyKind === 'ticket.retired')).toEqual([]);
      const early = run(closed.state, ticket, [rec('ticket.retired', { closedAt: NOW.toISOString(), retireAfterMs } as never, 'early', null)] as never);
      expect(early.retired).toBe(false);

      const revoked = run(closed.state, ticket, [revoke(grantId)] as never);
      const reported = run(revoked.state, ticket, [rec('fulfillment.reported', { grantId, action: 'revoke', status: 'revoked', adapter: 'pam', reference: 'r1', at: NOW.toISOString() } as never, 'ff-1', grantId)] as never);
      // The notes of the grant, the revocation and the adapter's report are still to be written: not retired yet.
      const notes = [granted, revoked, reported].flatMap((r) => on(r.outputs, 'writeback').map((w) => w.data as { item: { kind: string }; idempotencyKey: string }));
      expect(notes.map((n) => n.item.kind)).toEqual(['decision', 'revocation', 'fulfillment']);
      expect(reported.state.pendingWritebacks).toEqual(notes.map((n) => n.idempotencyKey));
      expect(planLifecycle([reported.state], later, lifecycle, null).commands).toEqual([]);
      const written = (n: (typeof notes)[number], i: number) =>
        rec('ticket.written-back', { kind: n.item.kind, recordId: `c${i}`, written: true, idempotencyKey: n.idempotencyKey } as never, `wb-${i}`, null);
      const confirmed = run(reported.state, ticket, notes.map(written) as never);
      expect(confirmed.state.pendingWritebacks).toBeUndefined();
      expect(planLifecycle([confirmed.state], new Date(later.getTime() - 1), lifecycle, null).commands).toEqual([]);
      const asks = planLifecycle([confirmed.state], later, lifecycle, null).commands;
      expect(asks.map((c) => (c.kind === 'record' ? c.custodyKind : c.kind))).toEqual(['ticket.retired']);
      const retired = run(confirmed.state, ticket, asks as never);
      expect(retired.retired).toBe(true);
      const custody = on(retired.outputs, 'custody').map((c) => c.data as unknown as CustodyEvent);
      expect(custody.map((c) => c.kind)).toEqual(['ticket.retired']);
      expect(custody[0]?.seq).toBe((confirmed.state.custodyHead?.seq ?? 0) + 1);

      // The very first delivery, read again after the state is gone: the ticket is closed, nothing is published.
      const replay = run(null, ticket, [delivery('d-first')]);
      expect(replay.outputs).toEqual([]);
      expect(replay.state.version).toBe(0);
    });

    it('gives nothing for a command about a ticket with no state (retired): no custody chain restarted, no state written', () => {
      const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval], status: { name: 'Done', actionable: false } }) } as MapResult, cancelled: false } };
      const late = [
        rec('ticket.written-back', { kind: 'fulfillment', recordId: 'c9', written: true, idempotencyKey: 'fulfillment:ff-1' } as never, 'wb-late', null),
        rec('fulfillment.reported', { grantId: GR1, action: 'revoke', status: 'revoked', adapter: 'pam', reference: 'r1', at: NOW.toISOString() } as never, 'ff-again', GR1),
        revoke(GR1),
      ];
      for (const command of late) {
        const replay = run(null, ticket, [command] as never);
        expect(replay.outputs).toEqual([]);
        expect(replay.state.version).toBe(0);
        expect(replay.state.custodyHead).toBeNull();
        expect(replay.retired).toBe(false);
      }
      // With a delivery of the closed ticket in the same batch: still nothing.
      const mixed = run(null, ticket, [delivery('d-again'), late[0]] as never);
      expect(mixed.outputs).toEqual([]);
      expect(mixed.state.version).toBe(0);
    });

    it('a reopened ticket is not retired', () => {
      const ticket = { current: { map: { ok: true, request: makeRequest({ approvals: [approval], status: { name: 'Done', actionable: false } }) } as MapResult, cancelled: false } };
      const seen = run(null, ticket);
      expect(seen.outputs).toEqual([]);
      ticket.current = { map: { ok: true, request: makeRequest({ approvals: [] }) }, cancelled: false };
      const open = run(null, ticket);
      expect(open.state.closedAt ?? null).toBeNull();
      expect(planLifecycle([open.state], new Date(NOW.getTime() + 10 * retireAfterMs), lifecycle, null).commands).toEqual([]);
      expect(run(open.state, ticket, [rec('ticket.retired', { closedAt: NOW.toISOString(), retireAfterMs } as never, 'late', null)] as never).retired).toBe(false);
    });
  });
});
