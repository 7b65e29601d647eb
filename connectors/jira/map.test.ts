import { readFileSync } from 'node:fs';
import { principalResolver } from '../../src/connector/resolve.js';
import { describe, expect, it } from 'vitest';
import type { MapResult, PrincipalResolver, TicketSnapshot } from '../../src/connector/contract.js';
import type { SourceIdentity } from '../../src/model/index.js';
import { MappedRequest } from '../../src/model/index.js';
import { JiraConfig } from './config.js';
import type { JiraConfigInput } from './config.js';
import { mapJiraSnapshot } from './map.js';
import type { JiraSnapshotRaw } from './map.js';
import { requestIdFor } from '../../src/policy/ids.js';

const people = new Map<string, string>([
  ['jira-account-id:acc-requester', 'u-requester'],
  ['jira-account-id:acc-approver', 'u-approver'],
  ['jira-account-id:acc-second', 'u-second'],
  ['jira-username:jdoe', 'u-jdoe'],
  ['jira-username:boss', 'u-boss'],
]);
const directory: PrincipalResolver = principalResolver((i: SourceIdentity) => people.get(`${i.kind}:${i.value}`) ?? null);

function makeConfig(overrides: Partial<JiraConfigInput> = {}): JiraConfig {
  return JiraConfig.parse({
    baseUrl: 'https://jira.example.com',
    deployment: 'cloud',
    auth: { kind: 'basic', email: 'bot@example.com', apiToken: 't' },
    webhook: { secret: 's' },
    projects: ['ACC'],
    fields: {
      entitlement: { fieldId: 'customfield_10100', name: 'Entitlement', options: { 'Prod DB read': 'db-prod-read', '10201': 'vault-ci-token' } },
      environment: { fieldId: 'customfield_10101', name: 'Environment' },
      ttl: { fieldId: 'customfield_10102', unit: 'hours' },
      resource: { fieldId: 'customfield_10103' },
      breakGlass: { fieldId: 'customfield_10105' },
    },
    approvals: { mode: 'jsm' },
    ...overrides,
  } satisfies JiraConfigInput);
}

const STRUCTURED = {
  customfield_10100: { value: 'Prod DB read', id: '10200' },
  customfield_10101: { value: 'prod', id: '10300' },
  customfield_10102: 8,
  customfield_10103: 'db-orders',
};

type Overrides = {
  fields?: Record<string, unknown>;
  histories?: JiraSnapshotRaw['issue'] extends { changelog?: infer C } ? (C extends { histories: infer H } ? H : never) : never;
  comments?: JiraSnapshotRaw['comments'];
  approvals?: unknown[] | null;
  deployment?: 'cloud' | 'datacenter';
  status?: string;
};

/** A snapshot as fetchTicket stores it, with overrides on top of a fully structured request. */
function makeIssue(o: Overrides = {}): TicketSnapshot {
  const raw = {
    deployment: o.deployment ?? 'cloud',
    issue: {
      id: '20001',
      key: 'ACC-7',
      fields: {
        summary: 'Read access to the orders DB',
        description: { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Incident INC-42 analysis' }] }] },
        created: '2025-03-01T08:00:00.000+0000',
        updated: '2025-03-01T12:00:00.000+0000',
        reporter: o.deployment === 'datacenter' ? { name: 'jdoe', key: 'JIRAUSER1' } : { accountId: 'acc-requester' },
        status: { name: o.status ?? 'Waiting for approval', statusCategory: { key: 'indeterminate' } },
        project: { key: 'ACC' },
        ...STRUCTURED,
        ...o.fields,
      },
      changelog: { startAt: 0, maxResults: 100, total: (o.histories ?? []).length, histories: o.histories ?? [] },
    },
    comments: o.comments ?? [],
    approvals: o.approvals === undefined ? [] : o.approvals,
  };
  return { ticketId: '20001', ticketKey: 'ACC-7', fetchedAt: '2025-03-01T12:30:00.000Z', raw };
}

const jsm = (file: string): unknown[] =>
  (JSON.parse(readFileSync(new URL(`../../test/fixtures/jsm/${file}`, import.meta.url), 'utf8')) as { values: unknown[] }).values;

function codes(r: MapResult): string[] {
  return r.ok ? [] : r.failure.reasons.map((x) => x.code);
}

describe('mapJiraSnapshot: fields', () => {
  it.each([
    ['a fully structured ticket', {}, []],
    ['summary and description only', { fields: { customfield_10100: null, customfield_10101: null, customfield_10102: null, customfield_10103: null } }, ['FREE_TEXT_REQUEST']],
    ['an unknown select value', { fields: { customfield_10100: { value: 'God mode', id: '10999' } } }, ['UNMAPPED_ENTITLEMENT']],
    ['an empty entitlement beside other fields', { fields: { customfield_10100: null } }, ['MISSING_FIELD']],
    ['a negative TTL', { fields: { customfield_10102: -3 } }, ['MISSING_FIELD']],
    ['a project that is not watched', { fields: { project: { key: 'OPS' } } }, ['TICKET_NOT_ACTIONABLE']],
  ] as const)('%s', (_name, overrides, expected) => {
    expect(codes(mapJiraSnapshot(makeIssue(overrides as Overrides), { connectorId: 'jira-main', config: makeConfig(), directory }))).toEqual(expected);
  });

  it('refuses a multi-select entitlement field with several values: one entitlement per ticket', () => {
    const several = { customfield_10100: [{ value: 'Prod DB read', id: '10200' }, { value: 'CI token', id: '10201' }] };
    const r = mapJiraSnapshot(makeIssue({ fields: several }), { connectorId: 'jira-main', config: makeConfig(), directory });
    expect(codes(r)).toEqual(['MULTIPLE_ENTITLEMENTS']);
    const reason = r.ok ? null : r.failure.reasons[0]!;
    expect(reason?.field).toBe('entitlementId');
    expect(reason?.message).toMatch(/2 values \("Prod DB read", "CI token"\).*one entitlement per ticket/);
    // One value in a multi-select is a normal request.
    const one = mapJiraSnapshot(makeIssue({ fields: { customfield_10100: [{ value: 'Prod DB read', id: '10200' }] } }), { connectorId: 'jira-main', config: makeConfig(), directory });
    expect(one.ok && one.request.entitlementId).toBe('db-prod-read');
  });

  it('names the unmapped value in the reason', () => {
    const r = mapJiraSnapshot(makeIssue({ fields: { customfield_10100: { value: 'God mode', id: '10999' } } }), { connectorId: 'jira-main', config: makeConfig(), directory });
    expect(r.ok ? '' : r.failure.reasons[0]!.message).toContain('"God mode"');
  });

  it('maps every field of a structured ticket to a valid canonical request', () => {
    const r = mapJiraSnapshot(makeIssue({ fields: { customfield_10105: [{ value: 'Yes', id: '1' }] } }), { connectorId: 'jira-main', config: makeConfig(), directory });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(MappedRequest.parse(r.request)).toBeTruthy();
    expect(r.request).toMatchObject({
      entitlementId: 'db-prod-read',
      environment: 'prod',
      resource: 'db-orders',
      ttlSeconds: 8 * 3600,
      breakGlass: true,
      requester: { principalId: 'u-requester', sourceIdentity: { kind: 'jira-account-id', value: 'acc-requester' } },
      subject: { type: 'human', id: 'u-requester' },
      source: { system: 'jira', ticketId: '20001', ticketKey: 'ACC-7', url: 'https://jira.example.com/browse/ACC-7' },
      changes: [],
    });
  });

  it('keeps requestId for non-material edits and changes it when a request-defining field changes', () => {
    const ctx = { connectorId: 'jira-main', config: makeConfig(), directory };
    const id = (s: TicketSnapshot): string => {
      const r = mapJiraSnapshot(s, ctx);
      return r.ok ? requestIdFor(r.request) : '';
    };
    const base = id(makeIssue());
    expect(base).not.toBe('');
    expect(id(makeIssue({ status: 'In Progress', approvals: jsm('approvals.approved.json'), fields: { summary: 'edited title' } }))).toBe(base);
    expect(id(makeIssue({ fields: { customfield_10102: 4 } }))).not.toBe(base);
    expect(mapJiraSnapshot(makeIssue(), { ...ctx, connectorId: 'jira-other' })).not.toEqual(mapJiraSnapshot(makeIssue(), ctx));
  });

  it('marks a ticket in a cancelled or closed status as not actionable', () => {
    const r = mapJiraSnapshot(makeIssue({ status: 'Cancelled' }), { connectorId: 'jira-main', config: makeConfig(), directory });
    expect(r.ok && r.request.status).toEqual({ name: 'Cancelled', actionable: false });
  });
});

describe('mapJiraSnapshot: JSM approvals', () => {
  const ctx = { connectorId: 'jira-main', config: makeConfig(), directory };
  it.each([
    ['approved', 'approvals.approved.json', [{ approverPrincipalId: 'u-approver', decision: 'approved', decidedAt: '2025-03-01T10:00:00.000Z', evidence: { kind: 'jsm-approval', recordId: '301' } }]],
    ['declined', 'approvals.declined.json', [{ approverPrincipalId: 'u-approver', decision: 'rejected', decidedAt: '2025-03-01T10:30:00.000Z', evidence: { kind: 'jsm-approval', recordId: '302' } }]],
    ['pending (nobody decided; a partial yes is not an approval)', 'approvals.pending.json', []],
  ] as const)('%s', (_name, file, expected) => {
    const r = mapJiraSnapshot(makeIssue({ approvals: jsm(file) }), ctx);
    expect(r.ok && r.request.approvals.map(({ approverSource: _s, ...rest }) => rest)).toEqual(expected);
  });

  it('the official JSM example: a declined record counts as a rejection, never as an approval', () => {
    const example = JSON.parse(readFileSync(new URL('../../test/fixtures/vendor/jsm/jsm-get-approvals.response.json', import.meta.url), 'utf8')) as { values: unknown[] };
    const r = mapJiraSnapshot(makeIssue({ approvals: example.values }), ctx);
    expect(r.ok && r.request.approvals.map((a) => [a.evidence.recordId, a.decision])).toEqual([['1', 'approved'], ['2', 'rejected']]);
  });

  it('approved before the entitlement field changed: the change is reported after the approval', () => {
    const r = mapJiraSnapshot(
      makeIssue({
        approvals: jsm('approvals.approved-before-change.json'),
        fields: { customfield_10100: { value: 'Renamed', id: '10201' } },
        histories: [
          { id: '9001', author: { accountId: 'acc-requester' }, created: '2025-03-01T11:00:00.000+0000', items: [{ field: 'Entitlement', fieldtype: 'custom', fieldId: 'customfield_10100', from: '10200', fromString: 'Prod DB read', to: '10201', toString: 'Renamed' }] },
          { id: '9002', author: { accountId: 'acc-requester' }, created: '2025-03-01T11:30:00.000+0000', items: [{ field: 'summary', fieldtype: 'jira', fieldId: 'summary', from: null, fromString: 'a', to: null, toString: 'b' }] },
        ],
      }),
      ctx,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    // The summary edit at 11:30 changes nothing the request is made of.
    expect(r.request.changes).toEqual([{ field: 'entitlementId', at: '2025-03-01T11:00:00.000Z' }]);
    expect(r.request.entitlementId).toBe('vault-ci-token');
    expect(Date.parse(r.request.approvals[0]!.decidedAt)).toBeLessThan(Date.parse('2025-03-01T11:00:00.000Z'));
  });
});

describe('mapJiraSnapshot: workflow approvals and comments', () => {
  const workflow = makeConfig({ approvals: { mode: 'workflow', approvedStatus: 'Approved', rejectedStatus: 'Declined' } });
  const transition = (id: string, who: Record<string, string>, to: string) => ({
    id,
    author: who,
    created: '2025-03-01T10:00:00.000+0000',
    items: [{ field: 'status', fieldtype: 'jira', fieldId: 'status', from: '1', fromString: 'Waiting for approval', to: '2', toString: to }],
  });

  it('a transition to the approved status is an approval by the changelog author', () => {
    const r = mapJiraSnapshot(makeIssue({ approvals: null, histories: [transition('777', { accountId: 'acc-approver' }, 'Approved')] }), { connectorId: 'jira-main', config: workflow, directory });
    expect(r.ok && r.request.approvals).toEqual([
      { approverPrincipalId: 'u-approver', approverSource: { kind: 'jira-account-id', value: 'acc-approver' }, decision: 'approved', decidedAt: '2025-03-01T10:00:00.000Z', evidence: { kind: 'workflow-transition', recordId: '777' } },
    ]);
  });

  it('Data Center: people by username, changelog items without fieldId', () => {
    const dc = makeConfig({ deployment: 'datacenter', approvals: { mode: 'workflow', approvedStatus: 'Approved' } });
    const r = mapJiraSnapshot(
      makeIssue({
        deployment: 'datacenter',
        approvals: null,
        histories: [
          { id: '501', author: { name: 'jdoe', key: 'JIRAUSER1' }, created: '2025-03-01T09:30:00.000+0000', items: [{ field: 'Environment', fieldtype: 'custom', from: null, fromString: 'dev', to: null, toString: 'prod' }] },
          transition('502', { name: 'boss', key: 'JIRAUSER2' }, 'Approved'),
        ],
      }),
      { connectorId: 'jira-dc', config: dc, directory },
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request.requester).toEqual({ principalId: 'u-jdoe', sourceIdentity: { kind: 'jira-username', value: 'jdoe' } });
    expect(r.request.approvals.map((a) => [a.approverPrincipalId, a.evidence.recordId])).toEqual([['u-boss', '502']]);
    // Environment is matched by its configured name; resource, TTL and break-glass have no name in this
    // config, so on Data Center any custom-field change may be theirs and is reported for them too.
    expect(r.request.changes).toEqual([
      { field: 'resource', at: '2025-03-01T09:30:00.000Z' },
      { field: 'environment', at: '2025-03-01T09:30:00.000Z' },
      { field: 'ttlSeconds', at: '2025-03-01T09:30:00.000Z' },
      { field: 'breakGlass', at: '2025-03-01T09:30:00.000Z' },
    ]);
  });

  it('returns every comment with a nameable author as it is, never as an approval', () => {
    const r = mapJiraSnapshot(
      makeIssue({
        approvals: [],
        comments: [
          { id: '88', author: { accountId: 'acc-approver' }, body: 'LGTM', created: '2025-03-01T10:00:00.000+0000' },
          { id: '89', author: null, body: 'Approved', created: '2025-03-01T10:01:00.000+0000' },
          { id: '90', author: { accountId: 'grantline-bot' }, body: '[grantline:k1]\nAccess granted', created: '2025-03-01T10:02:00.000+0000' },
        ],
      }),
      { connectorId: 'jira-main', config: makeConfig(), directory },
    );
    expect(r.ok && r.request.approvals).toEqual([]);
    expect(r.ok && r.request.comments).toEqual([
      { authorSource: { kind: 'jira-account-id', value: 'acc-approver' }, commentId: '88', at: '2025-03-01T10:00:00.000Z', text: 'LGTM' },
      { authorSource: { kind: 'jira-account-id', value: 'grantline-bot' }, commentId: '90', at: '2025-03-01T10:02:00.000Z', text: '[grantline:k1]\nAccess granted' },
    ]);
  });
});

describe('mapJiraSnapshot: the email fallback for people', () => {
  // acc-new is in no directory entry; Jira also gives the person's email.
  const emails: Record<string, string[]> = { 'new@example.com': ['u-new'], 'shared@example.com': ['u-one', 'u-two'] };
  const withEmails = principalResolver(
    (i: SourceIdentity) => people.get(`${i.kind}:${i.value}`) ?? null,
    (e) => emails[e.toLowerCase()] ?? [],
  );
  const ctx = { connectorId: 'jira-main', config: makeConfig(), directory: withEmails };

  it('resolves a requester whose account id is unmapped by the email Jira gave', () => {
    const r = mapJiraSnapshot(makeIssue({ fields: { reporter: { accountId: 'acc-new', emailAddress: 'New@example.com' } } }), ctx);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request.requester).toEqual({ principalId: 'u-new', sourceIdentity: { kind: 'jira-account-id', value: 'acc-new' } });
    expect(r.request.subject).toEqual({ type: 'human', id: 'u-new' });
  });

  it('rejects a requester whose email several principals share, saying so and what to map', () => {
    const r = mapJiraSnapshot(makeIssue({ fields: { reporter: { accountId: 'acc-new', emailAddress: 'shared@example.com' } } }), ctx);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure.requester).toEqual({ principalId: null, sourceIdentity: { kind: 'jira-account-id', value: 'acc-new' } });
    const reason = r.failure.reasons.find((x) => x.code === 'REQUESTER_UNKNOWN');
    expect(reason?.message).toContain('shared@example.com matches several (u-one, u-two)');
    expect(reason?.message).toContain('urn:grantline:scim:schemas:extension:2.0:User:jiraAccountId');
  });

  it('rejects a subject whose email several principals share, saying so', () => {
    const config = makeConfig({ fields: { ...makeConfig().fields, subject: { fieldId: 'customfield_10104', name: 'Who', type: 'human' } } as JiraConfigInput['fields'] });
    const r = mapJiraSnapshot(makeIssue({ fields: { customfield_10104: { accountId: 'acc-new', emailAddress: 'shared@example.com', displayName: 'N' } } }), { ...ctx, config });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure.reasons.find((x) => x.code === 'SUBJECT_UNKNOWN')?.message).toContain('matches several (u-one, u-two)');
  });
});
