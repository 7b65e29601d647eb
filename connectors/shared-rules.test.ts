/**
 * The rules that belong to grantline give the same result whichever vendor a ticket comes from: the
 * same request, filed in Jira and in ServiceNow, gets a request id of the same shape, the same
 * verdict on an approval-looking comment, the same reasons, and the same reasons and hints in the
 * note written back. Each connector only speaks its vendor.
 */
import { describe, expect, it } from 'vitest';
import type { MapResult, TicketSnapshot } from '../src/connector/contract.js';
import { HOW_TO_FIX } from '../src/connector/note.js';
import type { Decision, EntitlementRequest } from '../src/model/index.js';
import { decide } from '../src/policy/index.js';
import { requestFromMapped } from '../src/policy/request.js';
import { mapJiraSnapshot } from './jira/map.js';
import { renderWriteBack as jiraNote } from './jira/writeback.js';
import { mapRequestedItem } from './servicenow/map.js';
import { renderWriteBack as serviceNowNote } from './servicenow/writeback.js';
import { IDS, makeRitm } from '../test/fixtures/servicenow/records.js';
import { exampleDirectory } from '../test/fixtures/requests/factory.js';
import { JIRA, SN, opsCatalog, opsJiraConfig, opsServiceNowConfig } from '../test/fixtures/requests/both-vendors.js';

const directory = exampleDirectory();
const catalog = opsCatalog;
const NOON = new Date('2026-11-20T12:00:00Z');
/** One comment id for both, so the reasons (which name it) can be compared as text. */
const COMMENT_ID = 'c0ffee00c0ffee00c0ffee00c0ffee00';

const jiraConfig = opsJiraConfig;
const snConfig = opsServiceNowConfig;

interface Filed {
  /** Whom the ticket names as the requester (both of its vendor fields); null: nobody. */
  readonly requester: 'alice' | null;
  /** Comments by bob. */
  readonly comments: readonly string[];
}

function inJira(t: Filed): TicketSnapshot {
  const person = t.requester === null ? null : { accountId: JIRA[t.requester] };
  const raw = {
    deployment: 'cloud',
    issue: {
      id: '40001',
      key: 'ACC-40',
      fields: {
        summary: 'Ops console',
        created: '2026-11-20T09:00:00.000+0000',
        reporter: person,
        creator: person,
        status: { name: 'Waiting for approval' },
        project: { key: 'ACC' },
        customfield_10100: { value: 'Ops console', id: '1' },
        customfield_10101: 'prod',
        customfield_10103: 'ops-console',
      },
      changelog: { startAt: 0, maxResults: 100, total: 0, histories: [] },
    },
    comments: t.comments.map((body, i) => ({ id: i === 0 ? COMMENT_ID : `${COMMENT_ID}${i}`, author: { accountId: JIRA.bob }, body, created: '2026-11-20T10:10:00.000+0000' })),
    // A JSM approval step bob has not answered yet.
    approvals: [{ id: '601', finalDecision: 'pending', approvers: [{ approver: { accountId: JIRA.bob }, approverDecision: 'pending' }] }],
  };
  return { ticketId: '40001', ticketKey: 'ACC-40', fetchedAt: '2026-11-20T11:00:00.000Z', raw };
}

function inServiceNow(t: Filed): TicketSnapshot {
  const person = t.requester === null ? '' : SN[t.requester];
  return makeRitm({
    openedBy: person,
    requestedFor: person,
    variables: { subject: SN.alice, subject_type: 'human', target_resource: 'ops-console', target_environment: 'prod', business_justification: 'on call', break_glass: 'false' },
    // An approval record bob has not answered yet (it also makes bob a user the journal can name).
    approvals: [{ sysId: IDS.approvalBob, approver: SN.bob, state: 'requested', updatedOn: '2026-11-20 10:00:00' }],
    journal: t.comments.map((value, i) => ({ sysId: i === 0 ? COMMENT_ID : `${COMMENT_ID}${i}`, element: 'comments' as const, value, by: `user.${SN.bob.slice(0, 6)}`, on: '2026-11-20 10:10:00' })),
  });
}

const jira = (t: Filed): MapResult => mapJiraSnapshot(inJira(t), { connectorId: 'jira-main', config: jiraConfig, directory });
const serviceNow = (t: Filed): MapResult =>
  mapRequestedItem(inServiceNow(t), { connectorId: 'servicenow-main', instanceUrl: snConfig.instanceUrl, mapping: snConfig.mapping, statuses: snConfig.statuses, directory });

function request(r: MapResult): EntitlementRequest {
  if (!r.ok) throw new Error(`not mapped: ${r.failure.reasons.map((x) => x.code).join(', ')}`);
  return requestFromMapped(r.request);
}

function rejected(d: Decision) {
  if (d.outcome !== 'rejected') throw new Error('expected a rejection');
  return d;
}

/** The reason lines of a note: `- CODE: message How to fix: hint`. */
const reasonLines = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('- '));

describe('one set of rules, whichever vendor the ticket comes from', () => {
  const filed: Filed = { requester: 'alice', comments: ['LGTM, go ahead', 'which host exactly?', '[grantline:rj_x:1]\nAccess granted: approved by policy'] };
  const fromJira = request(jira(filed));
  const fromServiceNow = request(serviceNow(filed));

  it('maps the same request from both', () => {
    const defining = (r: EntitlementRequest) => [r.requester.principalId, r.subject, r.entitlementId, r.resource, r.environment, r.breakGlass];
    expect(defining(fromJira)).toEqual(defining(fromServiceNow));
  });

  it('gives a request id of one shape, computed by the core from the request fields', () => {
    for (const r of [fromJira, fromServiceNow]) expect(r.requestId).toMatch(/^rq_[A-Za-z0-9_-]{43}$/);
    // Another source's ticket is another request.
    expect(fromJira.requestId).not.toBe(fromServiceNow.requestId);
  });

  it('reads the same comments as approval-looking: bob\'s "LGTM", not his question nor grantline\'s own note', () => {
    for (const r of [fromJira, fromServiceNow]) {
      expect(r.approvals).toEqual([]);
      expect(r.approvalLikeComments.map((c) => c.commentId)).toEqual([COMMENT_ID]);
    }
  });

  it('refuses both for the same reasons, with the same words', () => {
    const a = rejected(decide(fromJira, catalog, directory, NOON));
    const b = rejected(decide(fromServiceNow, catalog, directory, NOON));
    expect(a.reasons.map((r) => r.code).sort()).toEqual(['APPROVAL_NOT_STRUCTURED', 'INSUFFICIENT_APPROVALS']);
    expect(a.reasons).toEqual(b.reasons);
  });

  it('writes back the same reasons and hints on both tickets, each in its vendor\'s format', () => {
    const a = rejected(decide(fromJira, catalog, directory, NOON));
    const b = rejected(decide(fromServiceNow, catalog, directory, NOON));
    const jiraBody = jiraNote({ kind: 'decision', decision: a }, `${a.rejectionId}:1`);
    const snText = serviceNowNote({ kind: 'decision', decision: b }, `${b.rejectionId}:1`);
    const lines = reasonLines(snText);
    expect(lines).toHaveLength(2);
    expect(reasonLines(jiraBody.text)).toEqual(lines);
    for (const r of b.reasons) expect(snText).toContain(`- ${r.code}: ${r.message} How to fix: ${HOW_TO_FIX[r.code]}`);
    // Jira Cloud gets a document: the reasons as a bullet list with the same hints.
    const list = jiraBody.adf.content.find((n) => n.type === 'bulletList');
    expect(list?.content?.map((item) => item.content?.[0]?.content?.map((t) => t.text).join(''))).toEqual(lines.map((l) => l.slice(2)));
    // Both start with the one marker.
    expect(jiraBody.text.split('\n')[0]).toBe(`[grantline:${a.rejectionId}:1]`);
    expect(snText.split('\n')[0]).toBe(`[grantline:${b.rejectionId}:1]`);
  });

  it('gives the same reason for a ticket that names no requester', () => {
    const none: Filed = { requester: null, comments: [] };
    const reasons = [jira(none), serviceNow(none)].map((r) => (r.ok ? [] : r.failure.reasons.filter((x) => x.field === 'requester').map((x) => x.code)));
    expect(reasons).toEqual([['MISSING_FIELD'], ['MISSING_FIELD']]);
  });
});
