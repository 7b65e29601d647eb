import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Jwks, verifyMessage } from '../../src/custody/index.js';
import { startStack, startStubs, type Stack, type Stubs } from '../../dev/harness.js';
import {
  jiraDelivery,
  jiraWebhookSecret,
  post,
  seedJiraTicket,
  seedServiceNowTicket,
  serviceNowDelivery,
  serviceNowHmacKey,
} from '../../dev/scenarios.js';
import { brokers, consumeAll, randomTopicSuffix, testKafka, type ConsumedMessage } from './helpers/kafka.js';

const prefix = `e2e-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-e2e-reader');
let stubs: Stubs;
let stack: Stack;
let jwks: Jwks;

const topic = {
  pam: `${prefix}access.grants.pam.v1`,
  secrets: `${prefix}access.grants.secrets.v1`,
  rejected: `${prefix}access.requests.rejected.v1`,
  custody: `${prefix}access.custody.v1`,
};

function data(m: ConsumedMessage): Record<string, unknown> {
  return JSON.parse(m.value ?? 'null') as Record<string, unknown>;
}

/** Waits until `topic` holds messages matching `match`, `count` of them; returns them. */
async function waitFor(topicName: string, match: (value: Record<string, unknown>) => boolean, count = 1, timeoutMs = 30_000): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await consumeAll(kafka, topicName, { timeoutMs: 2_000 });
    const found = all.map(data).filter(match);
    if (found.length >= count || Date.now() > deadline) return found;
  }
}

function reasonCodes(rejection: Record<string, unknown>): string[] {
  return (rejection.reasons as { code: string }[]).map((r) => r.code);
}

beforeAll(async () => {
  stubs = await startStubs();
  stack = await startStack({ brokers: brokers().join(','), topicPrefix: prefix, stubs });
  jwks = Jwks.parse(await (await fetch(`${stack.url}/.well-known/jwks.json`)).json());
});

afterAll(async () => {
  await stack?.stop();
  await stubs?.close();
});

describe('end to end on the real broker', () => {
  it('grants a Jira NHI production request with two native approvals: signed grant on the pam topic, note on the ticket', async () => {
    const issue = seedJiraTicket(stubs.jira, {
      entitlement: 'db-orders-prod-readwrite',
      requester: 'alice',
      subject: { type: 'service_account', id: 'svc-orders' },
      environment: 'prod',
      resource: 'orders-db',
      ttlHours: 4,
      approvedBy: ['bob', 'carol'],
      description: 'Nightly reconciliation job needs write access.',
    });
    const res = await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)));
    expect(res.status).toBe(202);

    const [grant] = await waitFor(topic.pam, (g) => (g.source as { ticketKey: string }).ticketKey === issue.key && g.outcome === 'granted');
    expect(grant).toBeDefined();
    expect(grant?.subject).toEqual({ type: 'service_account', id: 'svc-orders' });
    expect(grant?.entitlementId).toBe('db-orders-prod-readwrite');
    expect((grant?.approvals as { approverPrincipalId: string }[]).map((a) => a.approverPrincipalId).sort()).toEqual(['bob', 'carol']);
    expect(grant?.ttlSeconds).toBe(4 * 3600);
    expect((grant?.custody as { signatureVerified: boolean }).signatureVerified).toBe(true);

    const custody = (await consumeAll(kafka, topic.custody, { timeoutMs: 2_000 })).map(data).filter((e) => (e.ticket as { ticketKey: string }).ticketKey === issue.key);
    const report = verifyMessage(grant, jwks, { custodyEvents: custody });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);

    // The decision is written back on the ticket once, as an internal note naming the grant.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !stubs.jira.state.comments(issue.id).some((c) => c.text.includes(String(grant?.grantId)))) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(stubs.jira.state.comments(issue.id).filter((c) => c.text.includes(String(grant?.grantId)))).toHaveLength(1);
  });

  it('rejects a free-text ServiceNow request with the reason on the rejection topic and in a work note', async () => {
    const ritm = seedServiceNowTicket(stubs.servicenow, {
      item: 'other-access',
      requester: 'alice',
      shortDescription: 'need access to the prod db pls',
      description: 'whatever bob has',
    });
    const res = await post(`${stack.url}/webhooks/servicenow-main`, serviceNowDelivery(ritm, serviceNowHmacKey(stack.config)));
    expect(res.status).toBe(202);
    const [rejection] = await waitFor(topic.rejected, (r) => (r.source as { ticketKey: string }).ticketKey === ritm.number);
    expect(rejection && reasonCodes(rejection)).toContain('FREE_TEXT_REQUEST');
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !stubs.servicenow.state.journal(ritm.sys_id as string).some((j) => String(j.value).includes('FREE_TEXT_REQUEST'))) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(stubs.servicenow.state.journal(ritm.sys_id as string).filter((j) => String(j.value).includes('FREE_TEXT_REQUEST'))).toHaveLength(1);
  });
});
