import { describe, expect, it } from 'vitest';
import { principalResolver } from '../../src/connector/resolve.js';
import type { PrincipalResolver } from '../../src/connector/contract.js';
import { MappedRequest, type ReasonCode } from '../../src/model/index.js';
import { testConfig } from '../../test/fixtures/servicenow/config.js';
import { DEFAULT_VARIABLES, IDS, makeRitm, type RitmOptions } from '../../test/fixtures/servicenow/records.js';
import { mapRequestedItem, type MapContext } from './map.js';
import { requestIdFor } from '../../src/policy/ids.js';

const directory: PrincipalResolver = principalResolver((id) =>
  id.kind !== 'servicenow-sys-id'
    ? null
    : (({ [IDS.alice]: 'p-alice', [IDS.bob]: 'p-bob', [IDS.carol]: 'p-carol', [IDS.dave]: 'p-dave' } as Record<string, string>)[id.value] ?? null),
);
const config = testConfig();
const ctx: MapContext = {
  connectorId: 'sn-main',
  instanceUrl: config.instanceUrl,
  mapping: config.mapping,
  statuses: config.statuses,
  directory,
};
const map = (o: RitmOptions = {}) => mapRequestedItem(makeRitm(o), ctx);
const { subject: _s, ...withoutSubject } = DEFAULT_VARIABLES;

describe('mapRequestedItem', () => {
  it('maps a complete catalog request to a canonical request', () => {
    const r = map();
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(MappedRequest.parse(r.request)).toEqual(r.request);
    expect(r.request).toMatchObject({
      source: {
        system: 'servicenow',
        connectorId: 'sn-main',
        instanceUrl: 'https://acme.service-now.com',
        ticketId: IDS.ritm,
        ticketKey: 'RITM0010001',
        url: `https://acme.service-now.com/sc_req_item.do?sys_id=${IDS.ritm}`,
      },
      requester: { principalId: 'p-alice', sourceIdentity: { kind: 'servicenow-sys-id', value: IDS.alice } },
      subject: { type: 'human', id: 'p-dave' },
      entitlementId: 'db-admin',
      resource: 'db-payments-01',
      environment: 'prod',
      justification: { text: 'Incident INC0010023 needs schema inspection' },
      ttlSeconds: 8 * 3600,
      breakGlass: false,
      status: { name: 'Open', actionable: true },
      changes: [],
      comments: [],
    });
    expect(r.request.approvals).toEqual([
      {
        approverPrincipalId: 'p-bob',
        approverSource: { kind: 'servicenow-sys-id', value: IDS.bob },
        decision: 'approved',
        decidedAt: '2026-11-20T10:00:00Z',
        evidence: { kind: 'sysapproval_approver', recordId: IDS.approvalBob },
      },
      {
        approverPrincipalId: 'p-carol',
        approverSource: { kind: 'servicenow-sys-id', value: IDS.carol },
        decision: 'approved',
        decidedAt: '2026-11-20T10:05:00Z',
        evidence: { kind: 'sysapproval_approver', recordId: IDS.approvalCarol },
      },
    ]);
  });

  it.each<[string, RitmOptions, ReasonCode, string | undefined]>([
    ['the generic other-access item', { catItem: IDS.catItemOther, catItemName: 'Other access' }, 'FREE_TEXT_REQUEST', 'entitlementId'],
    ['no variables at all', { variables: {} }, 'FREE_TEXT_REQUEST', 'entitlementId'],
    ['variables all left empty', { variables: { subject: '', target_resource: ' ' } }, 'FREE_TEXT_REQUEST', 'entitlementId'],
    ['an unknown catalog item', { catItem: IDS.catItemUnmapped, catItemName: 'Laptop' }, 'UNMAPPED_ENTITLEMENT', 'entitlementId'],
    ['a missing subject variable', { variables: withoutSubject }, 'MISSING_FIELD', 'subject'],
    ['an empty resource', { variables: { ...DEFAULT_VARIABLES, target_resource: '' } }, 'MISSING_FIELD', 'resource'],
    ['an empty environment', { variables: { ...DEFAULT_VARIABLES, target_environment: '' } }, 'MISSING_FIELD', 'environment'],
    ['an unknown subject type', { variables: { ...DEFAULT_VARIABLES, subject_type: 'robot' } }, 'MISSING_FIELD', 'subject.type'],
    ['a TTL that is not a number', { variables: { ...DEFAULT_VARIABLES, duration_hours: 'a day' } }, 'MISSING_FIELD', 'ttlSeconds'],
    ['a zero TTL', { variables: { ...DEFAULT_VARIABLES, duration_hours: '0' } }, 'MISSING_FIELD', 'ttlSeconds'],
    ['a person the directory does not know', { variables: { ...DEFAULT_VARIABLES, subject: IDS.catItemUnmapped } }, 'SUBJECT_UNKNOWN', 'subject'],
    ['no opened_by nor requested_for', { openedBy: '', requestedFor: '' }, 'MISSING_FIELD', 'requester'],
  ])('refuses %s with %s', (_name, overrides, code, field) => {
    const r = map(overrides);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure.reasons.map((x) => [x.code, x.field])).toContainEqual([code, field]);
    expect(r.failure.source.ticketKey).toBe('RITM0010001');
  });

  it('names the missing variable in the reason', () => {
    const r = map({ variables: withoutSubject });
    expect(!r.ok && r.failure.reasons[0]?.message).toContain('"subject"');
  });

  it.each([
    ['subject_type', 'subject.type'],
    ['duration_hours', 'ttlSeconds'],
  ])('quotes a long %s value by whole characters, so the rejection can be signed', (variable, field) => {
    // 39 one-unit characters, then emoji: a cut after 40 UTF-16 units would split the first one.
    const r = map({ variables: { ...DEFAULT_VARIABLES, [variable]: `${'x'.repeat(39)}${'😀'.repeat(10)}` } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const message = r.failure.reasons.find((x) => x.field === field)?.message ?? '';
    expect(message).toContain(`"${'x'.repeat(39)}😀"`);
    expect(message).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  });

  it('reports every failing field, not the first', () => {
    const r = map({ catItem: IDS.catItemUnmapped, variables: { ...withoutSubject, target_environment: '' } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure.reasons.map((x) => x.code).sort()).toEqual(['MISSING_FIELD', 'MISSING_FIELD', 'UNMAPPED_ENTITLEMENT']);
  });

  it('keeps the short and long description as free text of a free-text request', () => {
    const r = map({ catItem: IDS.catItemOther, shortDescription: 'Need prod access', description: 'to the payments db, please' });
    expect(!r.ok && r.failure.freeText).toBe('Need prod access\n\nto the payments db, please');
  });

  it.each<[string, Record<string, string>, Partial<{ ttlSeconds: number | undefined; breakGlass: boolean; subject: unknown }>]>([
    ['fractional hours', { duration_hours: '1.5' }, { ttlSeconds: 5400 }],
    ['no TTL: the catalog default applies', { duration_hours: '' }, { ttlSeconds: undefined }],
    ['a ticked break-glass checkbox', { break_glass: 'true' }, { breakGlass: true }],
    ['an unticked break-glass checkbox', { break_glass: 'false' }, { breakGlass: false }],
    ['a service account subject stays as named', { subject: 'svc-payments-batch', subject_type: 'service_account' }, { subject: { type: 'service_account', id: 'svc-payments-batch' } }],
    ['a human subject given as a directory id', { subject: 'p-erin' }, { subject: { type: 'human', id: 'p-erin' } }],
  ])('maps %s', (_name, vars, expected) => {
    const r = map({ variables: { ...DEFAULT_VARIABLES, ...vars } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    for (const [k, v] of Object.entries(expected)) expect(r.request[k as keyof typeof r.request]).toEqual(v);
  });

  it.each<[string, string, string, boolean]>([
    ['pending', '-5', 'true', true],
    ['work in progress', '2', 'true', true],
    ['closed complete', '3', 'false', false],
    ['closed incomplete', '4', 'false', false],
    ['closed skipped', '7', 'false', false],
    ['open but inactive', '1', 'false', false],
  ])('a %s RITM is actionable: %s/%s → %s', (_name, state, active, actionable) => {
    const r = map({ state, active });
    expect(r.ok && r.request.status.actionable).toBe(actionable);
  });

  it('counts only approved and rejected approval records; requested and cancelled ones are not decisions', () => {
    const r = map({
      approvals: [
        { sysId: IDS.approvalBob, approver: IDS.bob, state: 'rejected', updatedOn: '2026-11-20 10:00:00' },
        { sysId: IDS.approvalCarol, approver: IDS.carol, state: 'requested', updatedOn: '2026-11-20 10:05:00' },
        { sysId: 'c'.repeat(32), approver: IDS.dave, state: 'cancelled', updatedOn: '2026-11-20 10:06:00' },
      ],
    });
    expect(r.ok && r.request.approvals.map((a) => [a.evidence.recordId, a.decision])).toEqual([[IDS.approvalBob, 'rejected']]);
  });

  it('never counts a comment as an approval, and returns the comments and work notes as they are', () => {
    const r = map({
      approvals: [],
      journal: [
        { sysId: 'd'.repeat(32), element: 'comments', value: 'Approved, go ahead', by: 'bob.approver', on: '2026-11-20 10:10:00' },
        { sysId: 'e'.repeat(32), element: 'work_notes', value: 'checked the runbook', by: 'carol.approver', on: '2026-11-20 10:11:00' },
        { sysId: 'a'.repeat(32), element: 'work_notes', value: 'grantline GRANTED db-admin\n[grantline:k1]', by: 'bob.approver', on: '2026-11-20 10:12:00' },
      ],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request.approvals).toEqual([]);
    expect(r.request.comments.map((c) => [c.authorSource.value, c.commentId, c.at, c.text])).toEqual([
      [IDS.bob, 'd'.repeat(32), '2026-11-20T10:10:00Z', 'Approved, go ahead'],
      [IDS.carol, 'e'.repeat(32), '2026-11-20T10:11:00Z', 'checked the runbook'],
      [IDS.bob, 'a'.repeat(32), '2026-11-20T10:12:00Z', 'grantline GRANTED db-admin\n[grantline:k1]'],
    ]);
  });

  describe('changes', () => {
    it('ignores the RITM sys_updated_on, which approvals and work notes bump', () => {
      const r = map({ updatedOn: '2026-11-21 08:00:00' });
      expect(r.ok && r.request.changes).toEqual([]);
    });

    it('reports a variable edited after the order as a change of the field it carries', () => {
      const r = map({
        variables: {
          ...DEFAULT_VARIABLES,
          target_environment: { value: 'prod', updatedOn: '2026-11-20 10:20:00' },
          subject_type: { value: 'human', updatedOn: '2026-11-20 10:25:00' },
          business_justification: { value: 'reworded', updatedOn: '2026-11-20 10:40:00' },
        },
      });
      expect(r.ok && r.request.changes).toEqual([
        { field: 'subject', at: '2026-11-20T10:25:00Z' },
        { field: 'environment', at: '2026-11-20T10:20:00Z' },
        { field: 'justification', at: '2026-11-20T10:40:00Z' },
      ]);
    });

    it('reports audited changes of the catalog item, opened_by and requested_for (sys_audit)', () => {
      const r = map({
        audit: [
          { sysId: 'f'.repeat(32), fieldname: 'cat_item', on: '2026-11-20 10:30:00' },
          { sysId: 'e'.repeat(32), fieldname: 'requested_for', on: '2026-11-20 10:35:00' },
        ],
      });
      expect(r.ok && r.request.changes).toEqual([
        { field: 'requester', at: '2026-11-20T10:35:00Z' },
        { field: 'entitlementId', at: '2026-11-20T10:30:00Z' },
      ]);
    });

    it('ignores audit entries of fields that do not define the request, and variables it does not map', () => {
      const r = map({
        audit: [{ sysId: 'f'.repeat(32), fieldname: 'stage', on: '2026-11-20 10:30:00' }],
        variables: { ...DEFAULT_VARIABLES, favourite_colour: { value: 'green', updatedOn: '2026-11-20 10:30:00' } },
      });
      expect(r.ok && r.request.changes).toEqual([]);
    });
  });

  describe('requestId', () => {
    const id = (o: RitmOptions = {}) => {
      const r = map(o);
      if (!r.ok) throw new Error('expected a request');
      return requestIdFor(r.request);
    };
    it('is the same for the same request, whatever the approvals, journal or RITM update time', () => {
      expect(id()).toBe(id({ approvals: [], updatedOn: '2026-11-25 00:00:00' }));
      expect(id()).toBe(id({ variables: { ...DEFAULT_VARIABLES, business_justification: 'reworded' } }));
    });
    it('changes when a request-defining field changes', () => {
      expect(id()).not.toBe(id({ variables: { ...DEFAULT_VARIABLES, target_environment: 'staging' } }));
      expect(id()).not.toBe(id({ variables: { ...DEFAULT_VARIABLES, duration_hours: '9' } }));
      expect(id()).not.toBe(id({ variables: { ...DEFAULT_VARIABLES, break_glass: 'true' } }));
    });
    it('differs between connector instances', () => {
      const other = mapRequestedItem(makeRitm(), { ...ctx, connectorId: 'sn-emea' });
      expect(other.ok && requestIdFor(other.request)).not.toBe(id());
    });
  });

  it('takes requested_for as the requester and opened_by, when someone else, as the filer', () => {
    const onBehalf = map({ openedBy: IDS.bob, requestedFor: IDS.alice });
    expect(onBehalf.ok && [onBehalf.request.requester.sourceIdentity.value, onBehalf.request.filer?.sourceIdentity.value]).toEqual([IDS.alice, IDS.bob]);
    const noOpener = map({ openedBy: '', requestedFor: IDS.alice });
    expect(noOpener.ok && [noOpener.request.requester.sourceIdentity.value, noOpener.request.filer]).toEqual([IDS.alice, null]);
    const noRequestedFor = map({ openedBy: IDS.alice, requestedFor: '' });
    expect(noRequestedFor.ok && [noRequestedFor.request.requester.sourceIdentity.value, noRequestedFor.request.filer]).toEqual([IDS.alice, null]);
  });

  it('reads records returned without display values (plain strings) too', () => {
    const snap = makeRitm();
    const raw = snap.raw as { ritm: Record<string, unknown> };
    raw.ritm = Object.fromEntries(Object.entries(raw.ritm).map(([k, v]) => [k, (v as { value: string }).value]));
    const r = mapRequestedItem(snap, ctx);
    expect(r.ok && r.request.entitlementId).toBe('db-admin');
  });
});

describe('mapRequestedItem: the email fallback for people', () => {
  // A sys_user the directory does not map; its record (fetched with the ticket) gives its email.
  const NEW_USER = 'e'.repeat(32);
  const email = 'user.eeeeee@example.com';
  const withEmails = (holders: string[]) =>
    principalResolver(
      (id) => (id.kind === 'servicenow-sys-id' ? (({ [IDS.alice]: 'p-alice', [IDS.bob]: 'p-bob', [IDS.dave]: 'p-dave' } as Record<string, string>)[id.value] ?? null) : null),
      (e) => (e.toLowerCase() === email ? holders : []),
    );

  it('resolves a requester whose sys_id is unmapped by their sys_user email', () => {
    const r = mapRequestedItem(makeRitm({ requestedFor: NEW_USER }), { ...ctx, directory: withEmails(['p-new']) });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request.requester).toEqual({ principalId: 'p-new', sourceIdentity: { kind: 'servicenow-sys-id', value: NEW_USER } });
  });

  it('rejects a requester whose email several principals share, saying so and what to map', () => {
    const r = mapRequestedItem(makeRitm({ requestedFor: NEW_USER }), { ...ctx, directory: withEmails(['p-one', 'p-two']) });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure.requester).toEqual({ principalId: null, sourceIdentity: { kind: 'servicenow-sys-id', value: NEW_USER } });
    const reason = r.failure.reasons.find((x) => x.code === 'REQUESTER_UNKNOWN');
    expect(reason?.message).toContain(`${email} matches several (p-one, p-two)`);
    expect(reason?.message).toContain('urn:grantline:scim:schemas:extension:2.0:User:servicenowSysId');
  });
});
