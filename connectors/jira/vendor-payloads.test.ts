/**
 * The Jira connector on real vendor payloads (test/fixtures/vendor, unmodified): a recorded Jira
 * Cloud v2 issue, Atlassian's v3 issue example and the JSM approval and customer-request examples go
 * through the connector's lenient schemas (`vendor.ts`) and its mapping (`map.ts`), and the tests
 * check what a requester would see: the fields read, or why the ticket is refused.
 */
import { readFileSync } from 'node:fs';
import { principalResolver } from '../../src/connector/resolve.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrincipalResolver, TicketSnapshot } from '../../src/connector/contract.js';
import { approvalLikeComments } from '../../src/policy/comments.js';
import { MappedRequest, type SourceIdentity } from '../../src/model/index.js';
import { embeddedComments } from './client.js';
import { JiraConfig, type JiraConfigInput } from './config.js';
import { mapJiraSnapshot } from './map.js';
import { JiraComment, JiraIssue, JsmApproval, JsmDate, plainText, toIso } from './records.js';
import { startJiraStub, type JiraStub } from '../../dev/stubs/jira-stub.js';

const vendor = (path: string): unknown => JSON.parse(readFileSync(new URL(`../../test/fixtures/vendor/${path}`, import.meta.url), 'utf8'));
const v2Issue = vendor('jira/jira-cloud-get-issue.v2.realistic.jira-to-matrix.json');
const v3Issue = vendor('jira/jira-cloud-get-issue.v3.response.json') as { fields: { comment: unknown[] } };
const approvalsPage = vendor('jsm/jsm-get-approvals.response.json') as { values: unknown[] };

/** The people of these payloads: the v2 issue's reporter and the JSM examples' approver. */
const REPORTER = '5b912f5c8a96e82b9549361c';
const FRED = 'qm:a713c8ea-1075-4e30-9d96-891a7d181739:5ad6d3581db05e2a66fa80b';
const people: Record<string, string> = { [REPORTER]: 'ivan', [FRED]: 'fred' };
const directory: PrincipalResolver = principalResolver((i: SourceIdentity) => (i.kind === 'jira-account-id' ? (people[i.value] ?? null) : null));

function config(overrides: Partial<JiraConfigInput> = {}): JiraConfig {
  return JiraConfig.parse({
    baseUrl: 'https://jira.example.com',
    deployment: 'cloud',
    auth: { kind: 'basic', email: 'bot@example.com', apiToken: 't' },
    webhook: { secret: 's' },
    projects: ['BBCOM', 'EX'],
    // The recorded issue's rank field stands in for an entitlement select: a real custom-field value.
    fields: { entitlement: { fieldId: 'customfield_10019', name: 'Rank', options: {} } },
    approvals: { mode: 'jsm' },
    ...overrides,
  } satisfies JiraConfigInput);
}

function snapshot(issue: unknown, comments: unknown[], approvals: unknown[] | null): TicketSnapshot {
  const parsed = JiraIssue.parse(issue);
  return {
    ticketId: parsed.id,
    ticketKey: parsed.key,
    fetchedAt: '2026-01-01T00:00:00.000Z',
    raw: { deployment: 'cloud', issue, comments, approvals },
  };
}

describe('a recorded Jira Cloud v2 issue (GET /rest/api/2/issue)', () => {
  it('is read by the lenient issue schema: key, status, reporter, project, created, and its whole embedded comment page', () => {
    const issue = JiraIssue.parse(v2Issue);
    expect(issue).toMatchObject({ id: '11442', key: 'BBCOM-1398' });
    expect(issue.fields.status).toMatchObject({ name: 'К выполнению', statusCategory: { key: 'new' } });
    expect(issue.fields.reporter?.accountId).toBe(REPORTER);
    expect(issue.fields.project?.key).toBe('BBCOM');
    expect(toIso(issue.fields.created)).toBe('2018-12-05T11:32:11.571Z');
    expect(embeddedComments(issue)?.map((c) => [c.id, plainText(c.body), toIso(c.created)])).toEqual([
      ['10749', 'Proyecto privado \\- no se puede asignar', '2018-12-19T09:29:44.131Z'],
      ['10750', 'Proyecto público \\- puede asignar', '2018-12-19T09:33:39.475Z'],
      ['10752', 'Proyecto limitada \\- no se puede asignar', '2018-12-19T09:36:15.507Z'],
    ]);
  });

  it('with a field value no catalog entry maps: refused as UNMAPPED_ENTITLEMENT naming the value, the reporter known', () => {
    const issue = JiraIssue.parse(v2Issue);
    const r = mapJiraSnapshot(snapshot(v2Issue, embeddedComments(issue) ?? [], approvalsPage.values), { connectorId: 'jira-main', config: config(), directory });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure.reasons).toEqual([
      { code: 'UNMAPPED_ENTITLEMENT', field: 'entitlementId', message: '"0|i006km:" is not mapped to a catalog entitlement; choose another value or ask the access team to map it.' },
    ]);
    expect(r.failure).toMatchObject({
      source: { system: 'jira', ticketId: '11442', ticketKey: 'BBCOM-1398', url: 'https://jira.example.com/browse/BBCOM-1398' },
      requester: { principalId: 'ivan', sourceIdentity: { kind: 'jira-account-id', value: REPORTER } },
      freeText: 'Prueba de creación de tareas en un proyecto público\n\nPrueba de creación de tareas en un proyecto público',
      actionable: true,
    });
  });

  it('with the value mapped and the JSM example approvals: a canonical request, the declined record a rejection', () => {
    const issue = JiraIssue.parse(v2Issue);
    const mapped = config({ fields: { entitlement: { fieldId: 'customfield_10019', options: { '0|i006km:': 'analytics-readonly' } } } });
    const r = mapJiraSnapshot(snapshot(v2Issue, embeddedComments(issue) ?? [], approvalsPage.values), { connectorId: 'jira-main', config: mapped, directory });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(MappedRequest.parse(r.request)).toEqual(r.request);
    expect(r.request).toMatchObject({
      entitlementId: 'analytics-readonly',
      subject: { type: 'human', id: 'ivan' },
      status: { name: 'К выполнению', actionable: true },
      justification: { text: 'Prueba de creación de tareas en un proyecto público' },
    });
    expect(approvalLikeComments(r.request.comments)).toEqual([]);
    expect(r.request.approvals.map((a) => [a.evidence.recordId, a.approverPrincipalId, a.decision, a.decidedAt])).toEqual([
      ['1', 'fred', 'approved', '2016-09-29T07:30:00.000Z'],
      ['2', 'fred', 'rejected', '2016-10-06T07:30:00.000Z'],
    ]);
  });
});

describe("Atlassian's Jira Cloud v3 issue example (GET /rest/api/3/issue)", () => {
  it('is read by the lenient issue schema although its `updated` is a number: key, project, the ADF description and comments', () => {
    const issue = JiraIssue.parse(v3Issue);
    expect(issue).toMatchObject({ id: '10002', key: 'ED-1' });
    expect(issue.fields.project?.key).toBe('EX');
    expect(issue.fields.updated).toBeUndefined();
    expect(plainText(issue.fields.description)).toBe('Main order flow broken');
    const comments = v3Issue.fields.comment.map((c) => JiraComment.parse(c));
    expect(comments.map((c) => [c.id, c.author?.accountId, toIso(c.created)])).toEqual([['10000', '5b10a2844c20165700ede21g', '2021-01-17T12:34:00.000Z']]);
    expect(plainText(comments[0]!.body)).toMatch(/^Lorem ipsum dolor sit amet/);
  });

  it('is refused with every reason a requester can act on: free text only, and no reporter', () => {
    const r = mapJiraSnapshot(snapshot(v3Issue, v3Issue.fields.comment, []), { connectorId: 'jira-main', config: config(), directory });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure.reasons.map((x) => x.code)).toEqual(['FREE_TEXT_REQUEST', 'MISSING_FIELD']);
    expect(r.failure.reasons[1]).toMatchObject({ code: 'MISSING_FIELD', field: 'requester', message: 'The ticket names no requester (reporter, creator); file it as, or on behalf of, the person who needs the access.' });
    expect(r.failure).toMatchObject({ requester: null, freeText: 'Main order flow broken', source: { ticketKey: 'ED-1' } });
  });

  it('in a project grantline does not watch: refused as TICKET_NOT_ACTIONABLE naming the watched projects', () => {
    const r = mapJiraSnapshot(snapshot(v3Issue, [], []), { connectorId: 'jira-main', config: config({ projects: ['ACC'] }), directory });
    expect(!r.ok && r.failure.reasons[0]).toEqual({ code: 'TICKET_NOT_ACTIONABLE', message: 'Project EX is not watched by grantline; file the request in ACC.' });
    expect(!r.ok && r.failure.actionable).toBe(false);
  });
});

describe('JSM examples (servicedeskapi)', () => {
  it.each([
    ['GET approval by id', 'jsm/jsm-get-approval-by-id.response.json'],
    ['POST answer approval', 'jsm/jsm-answer-approval.response.json'],
  ])('%s: one approval record, read and counted with its decision time in UTC', (_name, file) => {
    const record = JsmApproval.parse(vendor(file));
    expect(record).toMatchObject({ id: '1', finalDecision: 'approved', approvers: [{ approver: { accountId: FRED }, approverDecision: 'approved' }] });
    const mapped = config({ fields: { entitlement: { fieldId: 'customfield_10019', options: { '0|i006km:': 'analytics-readonly' } } } });
    const r = mapJiraSnapshot(snapshot(v2Issue, [], [vendor(file)]), { connectorId: 'jira-main', config: mapped, directory });
    expect(r.ok && r.request.approvals).toEqual([
      { approverPrincipalId: 'fred', approverSource: { kind: 'jira-account-id', value: FRED }, decision: 'approved', decidedAt: '2016-09-29T07:30:00.000Z', evidence: { kind: 'jsm-approval', recordId: '1' } },
    ]);
  });

  it("customer request (GET /request/{key}): JSM's offset dates read in UTC", () => {
    const request = vendor('jsm/jsm-get-customer-request.response.json') as { createdDate: unknown; currentStatus: { statusDate: unknown } };
    expect(toIso(JsmDate.parse(request.createdDate).iso8601)).toBe('2015-10-08T07:42:00.000Z');
    expect(toIso(JsmDate.parse(request.currentStatus.statusDate).iso8601)).toBe('2015-10-08T07:01:00.000Z');
  });

  describe('the Jira stub answers in these shapes', () => {
    let stub: JiraStub;
    beforeAll(async () => {
      stub = await startJiraStub();
      stub.state.seedIssue({ key: 'ACC-1', approvals: [{ id: '7', finalDecision: 'approved', approvers: [{ approver: { accountId: FRED }, approverDecision: 'approved' }], createdDate: '2026-01-01T10:00:00Z', completedDate: '2026-01-01T11:00:00Z' }] });
    });
    afterAll(() => stub.close());

    /** Keys of an object, and of its nested objects and first array elements, as `a.b[].c` paths. */
    const keyPaths = (value: unknown, at = ''): string[] => {
      if (Array.isArray(value)) return value.length === 0 ? [] : keyPaths(value[0], `${at}[]`);
      if (value === null || typeof value !== 'object') return [];
      return Object.entries(value).flatMap(([k, v]) => [`${at}${at === '' ? '' : '.'}${k}`, ...keyPaths(v, `${at}${at === '' ? '' : '.'}${k}`)]);
    };
    const get = async (path: string): Promise<unknown> => (await fetch(`${stub.baseUrl}${path}`, { headers: { authorization: 'Bearer t' } })).json();
    // What the stub leaves out on purpose: HAL links, expansions, and who-is-who details of users.
    const ours = (paths: string[]) => paths.filter((p) => !/(^|\.)(_links|_expands)(\.|$)|(approver|reporter)\./.test(p)).sort();

    it('customer request: the same fields as the JSM example', async () => {
      const example = vendor('jsm/jsm-get-customer-request.response.json');
      expect(ours(keyPaths(await get('/rest/servicedeskapi/request/ACC-1')))).toEqual(ours(keyPaths(example)));
    });

    it('approval page: the same fields as the JSM example, every approval readable by the connector', async () => {
      const page = (await get('/rest/servicedeskapi/request/ACC-1/approval')) as { values: unknown[] };
      expect(ours(keyPaths(page))).toEqual(ours(keyPaths(approvalsPage)));
      expect(page.values.map((v) => JsmApproval.parse(v).completedDate?.iso8601).map((d) => toIso(d))).toEqual(['2026-01-01T11:00:00.000Z']);
    });
  });
});
