/**
 * Filer, requester and subject are three people. The filer files the ticket (a JSM agent who raises
 * a request "on behalf of" a customer, a ServiceNow opened_by, an integration account); the
 * requester is the person the request is for (the JSM reporter, ServiceNow requested_for); the
 * subject gets the access. The filer is recorded and never counts as the requester; separation of
 * duties applies to the requester and the subject, and grantline also refuses the filer's approval.
 */
import { describe, expect, it } from 'vitest';
import type { MapResult, TicketSnapshot } from '../../src/connector/contract.js';
import type { Decision } from '../../src/model/index.js';
import { decide } from '../../src/policy/index.js';
import { mapJiraSnapshot } from '../../connectors/jira/map.js';
import { mapRequestedItem } from '../../connectors/servicenow/map.js';
import { IDS, makeRitm, type RitmOptions } from '../fixtures/servicenow/records.js';
import { exampleDirectory } from '../fixtures/requests/factory.js';
import { requestFromMapped } from '../../src/policy/request.js';
import { JIRA, SN, opsCatalog, opsJiraConfig, opsServiceNowConfig } from '../fixtures/requests/both-vendors.js';

const directory = exampleDirectory();
const catalog = opsCatalog;
const NOON = new Date('2026-11-20T12:00:00Z');

function codesOf(d: Decision): string[] {
  return d.outcome === 'granted' ? [] : [...new Set(d.reasons.map((r) => r.code))].sort();
}

function request(mapped: MapResult) {
  if (!mapped.ok) throw new Error(`not mapped: ${mapped.failure.reasons.map((r) => r.code).join(', ')}`);
  return requestFromMapped(mapped.request);
}

// --- Jira Service Management: "Raise this request on behalf of" ----------------------------------

const jiraConfig = opsJiraConfig;

/** JSM raises a request on behalf of a customer by making them the reporter; the creator stays the agent. */
function jsmTicket(reporter: keyof typeof JIRA, creator: keyof typeof JIRA, approver: keyof typeof JIRA): TicketSnapshot {
  const raw = {
    deployment: 'cloud',
    issue: {
      id: '40001',
      key: 'ACC-40',
      fields: {
        summary: 'Ops console',
        created: '2026-11-20T09:00:00.000+0000',
        reporter: { accountId: JIRA[reporter] },
        creator: { accountId: JIRA[creator] },
        status: { name: 'Waiting for approval' },
        project: { key: 'ACC' },
        customfield_10100: { value: 'Ops console', id: '1' },
        customfield_10101: 'prod',
        customfield_10103: 'ops-console',
      },
      changelog: { startAt: 0, maxResults: 100, total: 0, histories: [] },
    },
    comments: [],
    approvals: [{ id: '601', finalDecision: 'approved', approvers: [{ approver: { accountId: JIRA[approver] }, approverDecision: 'approved' }], completedDate: { iso8601: '2026-11-20T10:00:00+0000' } }],
  };
  return { ticketId: '40001', ticketKey: 'ACC-40', fetchedAt: '2026-11-20T11:00:00.000Z', raw };
}

const mapJira = (s: TicketSnapshot) => request(mapJiraSnapshot(s, { connectorId: 'jira-main', config: jiraConfig, directory }));

describe('Jira: the filer is the creator when someone else is the reporter', () => {
  it('records an integration that raised the request on behalf of alice as the filer; alice is the requester', () => {
    const r = mapJira(jsmTicket('alice', 'integration', 'bob'));
    expect(r.requester).toEqual({ principalId: 'alice', sourceIdentity: { kind: 'jira-account-id', value: JIRA.alice } });
    expect(r.filer).toEqual({ principalId: null, sourceIdentity: { kind: 'jira-account-id', value: JIRA.integration } });
    expect(r.subject).toEqual({ type: 'human', id: 'alice' });
    // An integration unknown to the directory files; that is no reason to refuse.
    expect(decide(r, catalog, directory, NOON).outcome).toBe('granted');
  });

  it('records no filer when the reporter filed the ticket themselves', () => {
    expect(mapJira(jsmTicket('alice', 'alice', 'bob')).filer).toBeNull();
  });

  it('refuses the filer approving what they filed on behalf of someone else', () => {
    const d = decide(mapJira(jsmTicket('alice', 'erin', 'erin')), catalog, directory, NOON);
    expect(codesOf(d)).toEqual(['INSUFFICIENT_APPROVALS', 'SELF_APPROVAL']);
    expect(d.outcome === 'rejected' && d.reasons.find((r) => r.code === 'SELF_APPROVAL')?.message).toMatch(/erin approved access they filed on behalf of alice/);
  });
});

// --- ServiceNow: opened_by and requested_for ----------------------------------------------------

const snConfig = opsServiceNowConfig;

function ritm(o: RitmOptions & { approver?: string }): TicketSnapshot {
  return makeRitm({
    createdOn: '2026-11-20 09:00:00',
    variables: { subject: SN.alice, subject_type: 'human', target_resource: 'ops-console', target_environment: 'prod', business_justification: 'on call', break_glass: 'false' },
    approvals: [{ sysId: IDS.approvalBob, approver: o.approver ?? SN.bob, state: 'approved', updatedOn: '2026-11-20 10:00:00' }],
    ...o,
  });
}

const mapSn = (s: TicketSnapshot) =>
  request(mapRequestedItem(s, { connectorId: 'servicenow-main', instanceUrl: snConfig.instanceUrl, mapping: snConfig.mapping, statuses: snConfig.statuses, directory }));

describe('ServiceNow: requested_for is the requester, opened_by the filer', () => {
  it('records an integration that opened the item for alice as the filer; alice is the requester', () => {
    const r = mapSn(ritm({ openedBy: SN.integration, requestedFor: SN.alice }));
    expect(r.requester).toEqual({ principalId: 'alice', sourceIdentity: { kind: 'servicenow-sys-id', value: SN.alice } });
    expect(r.filer).toEqual({ principalId: null, sourceIdentity: { kind: 'servicenow-sys-id', value: SN.integration } });
    expect(decide(r, catalog, directory, NOON).outcome).toBe('granted');
  });

  it('takes opened_by as the requester only when requested_for is empty, and then records no filer', () => {
    const r = mapSn(ritm({ openedBy: SN.alice, requestedFor: '' }));
    expect(r.requester.sourceIdentity.value).toBe(SN.alice);
    expect(r.filer).toBeNull();
  });

  it('applies separation of duties to requested_for: bob cannot approve what he is requesting', () => {
    const d = decide(mapSn(ritm({ openedBy: SN.alice, requestedFor: SN.bob, approver: SN.bob })), catalog, directory, NOON);
    expect(codesOf(d)).toEqual(['INSUFFICIENT_APPROVALS', 'SELF_APPROVAL']);
    expect(d.outcome === 'rejected' && d.reasons.find((r) => r.code === 'SELF_APPROVAL')?.message).toMatch(/bob approved access they requested/);
  });

  it('refuses the approval of whoever opened the item for someone else', () => {
    const d = decide(mapSn(ritm({ openedBy: SN.erin, requestedFor: SN.alice, approver: SN.erin })), catalog, directory, NOON);
    expect(codesOf(d)).toEqual(['INSUFFICIENT_APPROVALS', 'SELF_APPROVAL']);
  });
});
