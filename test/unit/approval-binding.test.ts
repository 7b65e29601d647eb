/**
 * Approvals are bound to what was approved, for both vendors: a change of the requester, subject,
 * entitlement, resource, environment, TTL or break-glass after an approval makes that approval
 * stale, whichever ticketing system the change was made in. Each case maps a real-shaped ticket with
 * its connector and decides it with the policy engine, as the processor does.
 */
import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../src/catalog/index.js';
import type { MapResult, TicketSnapshot } from '../../src/connector/contract.js';
import type { Decision } from '../../src/model/index.js';
import { decide } from '../../src/policy/index.js';
import { JiraConfig, type JiraConfigInput } from '../../connectors/jira/config.js';
import { mapJiraSnapshot } from '../../connectors/jira/map.js';
import { mapRequestedItem } from '../../connectors/servicenow/map.js';
import { configInput, testConfig } from '../fixtures/servicenow/config.js';
import { IDS, makeRitm, type RitmOptions } from '../fixtures/servicenow/records.js';
import { exampleDirectory } from '../fixtures/requests/factory.js';
import { requestFromMapped } from '../../src/policy/request.js';

const directory = exampleDirectory();
const catalog = parseCatalog(
  `
entitlements:
  - id: ops-console
    kind: role
    system: linux-hosts
    resource: ops-console
    environments: [prod]
    sensitivity: high
    subjectTypes: [human]
    approvers: { pool: [data-platform-owners], minDistinct: 1 }
    ttl: { defaultSeconds: 4h, maxSeconds: 8h }
    breakGlass: { allowed: true, maxTtlSeconds: 1h, reviewWithinSeconds: 1d }
    channel: pam
`,
  'binding catalog',
);
/** Decided at noon; the approval came at 10:00 and the change at 11:00. */
const NOON = new Date('2026-11-20T12:00:00Z');

/** Jira and ServiceNow identities of the example directory's people. */
const JIRA = { alice: '90bd90594497006fc7e0f1bd', bob: 'a7dcc13a56eec540b8e04fe8', erin: '7a6882118adbc79ecc13d5d5' };
const SN = { alice: '124acfa0c66e16a2c70910e71187bc48', bob: 'eceb07897937f4c1422e3c7f51a57ed7', erin: '966edf27b67f10bc967b0af08ebf5b06' };

function decided(mapped: MapResult): Decision | { outcome: 'unmapped'; codes: string[] } {
  if (!mapped.ok) return { outcome: 'unmapped', codes: mapped.failure.reasons.map((r) => r.code) };
  return decide(requestFromMapped(mapped.request), catalog, directory, NOON);
}

function codesOf(d: ReturnType<typeof decided>): string[] {
  if (d.outcome === 'granted') return [];
  if (d.outcome === 'unmapped') return d.codes;
  return [...new Set(d.reasons.map((r) => r.code))].sort();
}

// --- Jira ---------------------------------------------------------------------------------------

const jiraConfig = (deployment: 'cloud' | 'datacenter' = 'cloud'): JiraConfig =>
  JiraConfig.parse({
    baseUrl: 'https://jira.example.com',
    deployment,
    auth: { kind: 'basic', email: 'bot@example.com', apiToken: 't' },
    webhook: { secret: 's' },
    projects: ['ACC'],
    fields: {
      entitlement: { fieldId: 'customfield_10100', name: 'Entitlement', options: { 'Ops console': 'ops-console', 'Ops console (legacy)': 'ops-console' } },
      subject: { fieldId: 'customfield_10104', name: 'Access for' },
      environment: { fieldId: 'customfield_10101', name: 'Environment' },
      ttl: { fieldId: 'customfield_10102', name: 'Duration', unit: 'hours' },
      resource: { fieldId: 'customfield_10103', name: 'Resource' },
      breakGlass: { fieldId: 'customfield_10105', name: 'Break glass' },
      justification: { fieldId: 'customfield_10106', name: 'Justification' },
    },
    approvals: { mode: 'jsm' },
  } satisfies JiraConfigInput);

/** A change recorded in the changelog at 11:00, after bob approved at 10:00. */
interface JiraChange {
  field: string;
  fieldId?: string;
  fieldtype: 'jira' | 'custom';
}

function jiraTicket(change: JiraChange | null, o: { deployment?: 'cloud' | 'datacenter'; fields?: Record<string, unknown> } = {}): TicketSnapshot {
  const dc = o.deployment === 'datacenter';
  const person = (who: 'alice' | 'bob') => (dc ? { name: who, key: `JIRAUSER-${who}` } : { accountId: JIRA[who] });
  const history =
    change === null
      ? []
      : [
          {
            id: '9001',
            author: person('alice'),
            created: '2026-11-20T11:00:00.000+0000',
            items: [{ field: change.field, fieldtype: change.fieldtype, ...(dc || change.fieldId === undefined ? {} : { fieldId: change.fieldId }), from: null, fromString: 'before', to: null, toString: 'after' }],
          },
        ];
  const raw = {
    deployment: o.deployment ?? 'cloud',
    issue: {
      id: '30001',
      key: 'ACC-30',
      fields: {
        summary: 'Ops console for the on-call week',
        description: 'On call from Monday.',
        created: '2026-11-20T09:00:00.000+0000',
        reporter: person('alice'),
        creator: person('alice'),
        status: { name: 'Waiting for approval' },
        project: { key: 'ACC' },
        customfield_10100: { value: 'Ops console', id: '1' },
        customfield_10101: 'prod',
        customfield_10102: 2,
        customfield_10103: 'ops-console',
        customfield_10105: [{ value: 'No', id: '2' }],
        customfield_10106: 'Incident INC-7 follow-up',
        ...o.fields,
      },
      changelog: { startAt: 0, maxResults: 100, total: history.length, histories: history },
    },
    comments: [],
    approvals: [
      {
        id: '501',
        finalDecision: 'approved',
        approvers: [{ approver: person('bob'), approverDecision: 'approved' }],
        completedDate: { iso8601: '2026-11-20T10:00:00+0000' },
      },
    ],
  };
  return { ticketId: '30001', ticketKey: 'ACC-30', fetchedAt: '2026-11-20T11:59:00.000Z', raw };
}

const mapJira = (snapshot: TicketSnapshot, deployment: 'cloud' | 'datacenter' = 'cloud') =>
  decided(mapJiraSnapshot(snapshot, { connectorId: 'jira-main', config: jiraConfig(deployment), directory }));

describe('Jira: a change after the approval makes it stale', () => {
  it('grants the unchanged ticket (the baseline every case below departs from)', () => {
    expect(mapJira(jiraTicket(null)).outcome).toBe('granted');
  });

  it.each<[string, JiraChange]>([
    ['the reporter (the requester, and the subject when "Access for" is empty)', { field: 'reporter', fieldId: 'reporter', fieldtype: 'jira' }],
    ['the entitlement', { field: 'Entitlement', fieldId: 'customfield_10100', fieldtype: 'custom' }],
    ['the subject field', { field: 'Access for', fieldId: 'customfield_10104', fieldtype: 'custom' }],
    ['the resource', { field: 'Resource', fieldId: 'customfield_10103', fieldtype: 'custom' }],
    ['the environment', { field: 'Environment', fieldId: 'customfield_10101', fieldtype: 'custom' }],
    ['the TTL', { field: 'Duration', fieldId: 'customfield_10102', fieldtype: 'custom' }],
    ['the break-glass flag', { field: 'Break glass', fieldId: 'customfield_10105', fieldtype: 'custom' }],
  ])('%s', (_name, change) => {
    const d = mapJira(jiraTicket(change));
    expect(codesOf(d)).toEqual(['APPROVAL_STALE', 'INSUFFICIENT_APPROVALS']);
  });

  it('a reporter change makes the approval stale on Data Center too (items carry no fieldId)', () => {
    const d = mapJira(jiraTicket({ field: 'reporter', fieldtype: 'jira' }, { deployment: 'datacenter' }), 'datacenter');
    expect(codesOf(d)).toEqual(['APPROVAL_STALE', 'INSUFFICIENT_APPROVALS']);
  });

  it('the stale reason says what changed after the approval', () => {
    const d = mapJira(jiraTicket({ field: 'reporter', fieldId: 'reporter', fieldtype: 'jira' }));
    const stale = d.outcome === 'rejected' ? d.reasons.find((r) => r.code === 'APPROVAL_STALE') : undefined;
    expect(stale?.message).toMatch(/bob's approval \(2026-11-20T10:00:00\.000Z\) was given before the requester and subject changed \(2026-11-20T11:00:00\.000Z\)/);
  });

  it.each<[string, JiraChange]>([
    ['the summary', { field: 'summary', fieldId: 'summary', fieldtype: 'jira' }],
    ['the description', { field: 'description', fieldId: 'description', fieldtype: 'jira' }],
    ['the justification', { field: 'Justification', fieldId: 'customfield_10106', fieldtype: 'custom' }],
    ['a label', { field: 'labels', fieldId: 'labels', fieldtype: 'jira' }],
  ])('%s changed after the approval: the approval still stands', (_name, change) => {
    expect(mapJira(jiraTicket(change)).outcome).toBe('granted');
  });
});

// --- ServiceNow ---------------------------------------------------------------------------------

const snConfig = testConfig(undefined, {
  mapping: { ...configInput().mapping, catalogItems: { [IDS.catItemDbAdmin]: 'ops-console' } },
});
const SN_VARIABLES = {
  subject: SN.alice,
  subject_type: 'human',
  target_resource: 'ops-console',
  target_environment: 'prod',
  duration_hours: '2',
  business_justification: 'Incident INC0010023 follow-up',
  break_glass: 'false',
};

function ritm(o: RitmOptions = {}): TicketSnapshot {
  return makeRitm({
    openedBy: SN.alice,
    requestedFor: SN.alice,
    createdOn: '2026-11-20 09:00:00',
    variables: SN_VARIABLES,
    approvals: [{ sysId: IDS.approvalBob, approver: SN.bob, state: 'approved', updatedOn: '2026-11-20 10:00:00' }],
    ...o,
  });
}

const mapSn = (snapshot: TicketSnapshot) =>
  decided(mapRequestedItem(snapshot, { connectorId: 'servicenow-main', instanceUrl: snConfig.instanceUrl, mapping: snConfig.mapping, statuses: snConfig.statuses, directory }));

/** One variable re-saved at 11:00 with its current value. */
const edited = (name: keyof typeof SN_VARIABLES | 'favourite_colour'): RitmOptions['variables'] => ({
  ...SN_VARIABLES,
  [name]: { value: name === 'favourite_colour' ? 'green' : SN_VARIABLES[name], updatedOn: '2026-11-20 11:00:00' },
});

describe('ServiceNow: a change after the approval makes it stale', () => {
  it('grants the unchanged requested item (the baseline)', () => {
    expect(mapSn(ritm()).outcome).toBe('granted');
  });

  it.each<[string, RitmOptions]>([
    ['requested_for (the requester)', { audit: [{ sysId: 'a1'.repeat(16), fieldname: 'requested_for', on: '2026-11-20 11:00:00' }] }],
    ['opened_by, when requested_for is empty (then the requester)', { requestedFor: '', audit: [{ sysId: 'a2'.repeat(16), fieldname: 'opened_by', on: '2026-11-20 11:00:00' }] }],
    ['the catalog item (the entitlement)', { audit: [{ sysId: 'a3'.repeat(16), fieldname: 'cat_item', on: '2026-11-20 11:00:00' }] }],
    ['the subject variable', { variables: edited('subject') }],
    ['the subject type variable', { variables: edited('subject_type') }],
    ['the resource variable', { variables: edited('target_resource') }],
    ['the environment variable', { variables: edited('target_environment') }],
    ['the TTL variable', { variables: edited('duration_hours') }],
    ['the break-glass variable', { variables: edited('break_glass') }],
  ])('%s', (_name, o) => {
    expect(codesOf(mapSn(ritm(o)))).toEqual(['APPROVAL_STALE', 'INSUFFICIENT_APPROVALS']);
  });

  it.each<[string, RitmOptions]>([
    ['the justification variable', { variables: edited('business_justification') }],
    ['a variable grantline does not map', { variables: edited('favourite_colour') }],
    ['opened_by (the filer) while requested_for names the requester', { audit: [{ sysId: 'a4'.repeat(16), fieldname: 'opened_by', on: '2026-11-20 11:00:00' }] }],
  ])('%s changed after the approval: the approval still stands', (_name, o) => {
    expect(mapSn(ritm(o)).outcome).toBe('granted');
  });
});
