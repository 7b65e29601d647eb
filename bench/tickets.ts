/**
 * The benchmark's tickets: Jira Service Management requests that the example policy grants, seeded
 * into the stub and announced to grantline as Jira Cloud would (signed webhooks), and the changes
 * the scenarios make to them afterwards (cancelling, the `comment_created` webhook of a note).
 */
import type { Agent } from 'node:http';
import type { Stubs } from '../dev/harness.js';
import { jiraDelivery, seedJiraTicket } from '../dev/scenarios.js';
import { signJiraWebhook, type StubComment, type StubIssue } from '../dev/stubs/jira-stub.js';
import { httpCall } from './lib.js';

export const JIRA_SECRET = process.env.JIRA_WEBHOOK_SECRET || 'dev-only-jira-webhook-secret';
export const JIRA_AUTH = `Basic ${Buffer.from(`${process.env.JIRA_EMAIL || 'grantline@example.com'}:${process.env.JIRA_API_TOKEN || 'dev-only-jira-token'}`).toString('base64')}`;

/** `count` Jira requests the example policy grants: prod orders DB for a service account, two native approvals, 4 h. */
export function seedGranted(stubs: Stubs, count: number): StubIssue[] {
  const out: StubIssue[] = [];
  for (let i = 0; i < count; i += 1) {
    out.push(
      seedJiraTicket(stubs.jira, {
        entitlement: 'db-orders-prod-readwrite',
        requester: 'alice',
        subject: { type: 'service_account', id: 'svc-orders' },
        environment: 'prod',
        resource: 'orders-db',
        ttlHours: 4,
        approvedBy: ['bob', 'carol'],
      }),
    );
  }
  return out;
}

/** Posts one signed `jira:issue_updated` delivery about `issue` to grantline; true on 202. */
export function postDelivery(agent: Agent, grantlineUrl: string, issue: StubIssue): Promise<boolean> {
  const d = jiraDelivery(issue, JIRA_SECRET);
  return httpCall(agent, `${grantlineUrl}/webhooks/jira-main`, 'POST', d.body, d.headers).then((s) => s === 202);
}

/**
 * The `comment_created` webhook Jira Cloud sends when a comment is added, here for grantline's own
 * note: the comment (author, text with grantline's marker) and the issue it is on.
 */
export function postCommentEcho(agent: Agent, grantlineUrl: string, issue: StubIssue, comment: StubComment, baseUrl: string): Promise<boolean> {
  const project = issue.key.split('-')[0];
  const body = Buffer.from(
    JSON.stringify({
      timestamp: Date.now(),
      webhookEvent: 'comment_created',
      comment: {
        self: `${baseUrl}/rest/api/2/issue/${issue.id}/comment/${comment.id}`,
        id: comment.id,
        author: comment.author,
        body: comment.text,
        updateAuthor: comment.author,
        created: comment.created,
        updated: comment.updated,
        jsdPublic: comment.public,
      },
      issue: { id: issue.id, self: `${baseUrl}/rest/api/2/issue/${issue.id}`, key: issue.key, fields: { project: { key: project } } },
    }),
  );
  const headers = { ...signJiraWebhook(body, JIRA_SECRET), 'x-atlassian-webhook-identifier': `echo-${issue.id}-${comment.id}` };
  return httpCall(agent, `${grantlineUrl}/webhooks/jira-main`, 'POST', body, headers).then((s) => s === 202);
}

/** The requester withdraws the request: status Cancelled (Done category, as in JSM), recorded in the changelog. */
export function cancel(stubs: Stubs, issue: StubIssue): void {
  stubs.jira.state.transition(issue.id, 'Cancelled', { accountId: 'acc-requester', displayName: 'alice' }, new Date());
  issue.fields.status = { ...(issue.fields.status as Record<string, unknown>), statusCategory: { key: 'done' } };
}
