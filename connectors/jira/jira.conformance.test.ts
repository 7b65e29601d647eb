import { createHash } from 'node:crypto';
import { principalResolver } from '../../src/connector/resolve.js';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import type { Delivery, PrincipalResolver } from '../../src/connector/contract.js';
import type { SourceIdentity } from '../../src/model/index.js';
import { describeConformance } from '../../test/conformance/kit.js';
import { jiraWebhookBody, signJiraWebhook, startJiraStub } from '../../dev/stubs/jira-stub.js';
import type { SeedIssue } from '../../dev/stubs/jira-stub.js';
import { JiraConfig, jiraConnector } from './index.js';
import type { JiraConfigInput } from './index.js';

const SECRET = 'conformance-webhook-secret';
const OLD = '2024-01-01T00:00:00.000Z';

function directory(): PrincipalResolver {
  const people = new Map<string, string>([
    ['jira-account-id:acc-requester', 'u-requester'],
    ['jira-account-id:acc-approver', 'u-approver'],
  ]);
  return principalResolver((i: SourceIdentity) => people.get(`${i.kind}:${i.value}`) ?? null);
}

function config(baseUrl: string): JiraConfigInput {
  return {
    baseUrl,
    deployment: 'cloud',
    auth: { kind: 'basic', email: 'bot@example.com', apiToken: 'api-token-value' },
    webhook: { secret: SECRET, maxAgeSeconds: 300 },
    projects: ['ACC', 'TES', 'KT'],
    fields: {
      entitlement: { fieldId: 'customfield_10100', options: { 'Prod DB read': 'db-prod-read', '10201': 'vault-ci-token' } },
      environment: { fieldId: 'customfield_10101' },
      ttl: { fieldId: 'customfield_10102', unit: 'hours' },
      resource: { fieldId: 'customfield_10103' },
      subject: { fieldId: 'customfield_10104' },
    },
    approvals: { mode: 'workflow', approvedStatus: 'Approved', rejectedStatus: 'Declined' },
    poll: { pageSize: 2, timeZone: 'UTC' },
  };
}

const request: Record<string, unknown> = {
  customfield_10100: { value: 'Prod DB read', id: '10200' },
  customfield_10101: { value: 'prod', id: '10300' },
  customfield_10102: 8,
  customfield_10103: 'db-orders',
};
const seed = (s: SeedIssue): SeedIssue => ({ created: OLD, updated: OLD, ...s });

const vendor = new URL('../../test/fixtures/vendor/jira/', import.meta.url);
function vendorDelivery(file: string, identifier: string | null): Delivery {
  const rawBody = readFileSync(new URL(file, vendor));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (identifier !== null) headers['x-atlassian-webhook-identifier'] = identifier;
  return { rawBody, headers, receivedAt: new Date() };
}
const dcCommentBody = readFileSync(new URL('jira-dc-webhook.comment_created.mattermost.json', vendor));

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const at = (s: number): Date => new Date(T0 + s * 1000);

describeConformance<SeedIssue>({
  name: 'jira (cloud)',
  createConnector: (baseUrl) =>
    jiraConnector.create(JiraConfig.parse(config(baseUrl)), { connectorId: 'jira-main', logger: pino({ level: 'silent' }), directory: directory() }),
  startStub: async () => {
    const stub = await startJiraStub();
    return {
      baseUrl: stub.baseUrl,
      requests: stub.requests,
      seed: (s) => ({ ticketId: stub.state.seedIssue(s).id }),
      commentCount: (id) => stub.state.comments(id).length,
      failNext: (status, headers) => stub.failNext(status, headers),
      close: stub.close,
    };
  },
  deliveries: {
    body: (ticket, when, linkBase) => jiraWebhookBody({ id: ticket.ticketId, key: 'ACC-1' }, { at: when, selfBase: linkBase }),
    sign: (body, extra = {}) => ({ ...signJiraWebhook(body, SECRET), 'x-atlassian-webhook-identifier': 'kit-delivery', ...extra }),
    forge: (body) => ({ ...signJiraWebhook(body, 'not-the-secret'), 'x-atlassian-webhook-identifier': 'kit-delivery' }),
    authHeaders: ['x-hub-signature'],
    staleAgeMs: 10 * 60_000,
  },
  identification: [
    { name: 'Cloud issue created', delivery: vendorDelivery('jira-cloud-webhook.jira_issue_created.mattermost.json', 'wh-1'), expect: { ticketId: '10509', deliveryId: 'wh-1', relevant: true } },
    { name: 'Cloud status change', delivery: vendorDelivery('jira-cloud-webhook.jira_issue_updated.status-todo-to-inprogress.mattermost.json', 'wh-2'), expect: { ticketId: '10040', deliveryId: 'wh-2', relevant: true } },
    { name: 'Cloud resolved', delivery: vendorDelivery('jira-cloud-webhook.jira_issue_updated.resolved.mattermost.json', 'wh-3'), expect: { ticketId: '10040', deliveryId: 'wh-3', relevant: true } },
    { name: 'Cloud custom field change', delivery: vendorDelivery('jira-cloud-webhook.jira_issue_updated.custom-field.mattermost.json', 'wh-4'), expect: { ticketId: '10368', deliveryId: 'wh-4', relevant: true } },
    { name: 'Cloud comment created', delivery: vendorDelivery('jira-cloud-webhook.comment_created.mattermost.json', 'wh-5'), expect: { ticketId: '10040', deliveryId: 'wh-5', relevant: true } },
    {
      name: 'Data Center comment created (no issue object, no identifier header)',
      delivery: vendorDelivery('jira-dc-webhook.comment_created.mattermost.json', null),
      expect: { ticketId: '10013', deliveryId: `sha256:${createHash('sha256').update(dcCommentBody).digest('hex')}`, relevant: true },
    },
    { name: 'Data Center issue commented (unwatched project PRJX)', delivery: vendorDelivery('jira-dc-webhook.jira_issue_updated.issue_commented.mattermost.json', 'wh-7'), expect: { ticketId: '10013', deliveryId: 'wh-7', relevant: false } },
    { name: 'Data Center resolved', delivery: vendorDelivery('jira-dc-webhook.jira_issue_updated.resolved.mattermost.json', 'wh-8'), expect: { ticketId: '10300', deliveryId: 'wh-8', relevant: true } },
  ],
  mapping: [
    { name: 'a fully structured ticket to a request', seed: seed({ fields: request }), expect: 'request' },
    { name: 'an option matched by its id to a request', seed: seed({ fields: { ...request, customfield_10100: { value: 'Renamed label', id: '10201' } } }), expect: 'request' },
    { name: 'summary and description only to FREE_TEXT_REQUEST', seed: seed({ summary: 'please give me prod db', description: 'need it for the incident' }), expect: ['FREE_TEXT_REQUEST'] },
    { name: 'an unknown select value to UNMAPPED_ENTITLEMENT', seed: seed({ fields: { ...request, customfield_10100: { value: 'Everything', id: '10999' } } }), expect: ['UNMAPPED_ENTITLEMENT'] },
    { name: 'fields without an entitlement to MISSING_FIELD', seed: seed({ fields: { ...request, customfield_10100: null } }), expect: ['MISSING_FIELD'] },
    { name: 'a subject unknown to the directory to SUBJECT_UNKNOWN', seed: seed({ fields: { ...request, customfield_10104: { accountId: 'acc-stranger' } } }), expect: ['SUBJECT_UNKNOWN'] },
  ],
  validSeed: seed({ fields: request }),
  polling: {
    since: new Date(T0),
    first: [seed({ fields: request, updated: at(10) }), seed({ fields: request, updated: at(20) }), seed({ fields: request, updated: at(30) })],
    // Same minute as the first batch: JQL cannot tell them apart, the watermark must.
    second: [seed({ fields: request, updated: at(40) }), seed({ fields: request, updated: at(50) }), seed({ fields: request, updated: at(125) })],
  },
});
