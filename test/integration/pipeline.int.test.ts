import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run as verifyCli } from '../../src/cli/commands/verify.js';
import { Jwks, verifyMessage } from '../../src/custody/index.js';
import { createProducer } from '../../src/kafka/index.js';
import { startStack, startStubs, type Stack, type Stubs } from '../../dev/harness.js';
import { signJiraWebhook } from '../../dev/stubs/jira-stub.js';
import {
  nhiDualApproval,
  jiraDelivery,
  jiraWebhookSecret,
  post,
  seedJiraTicket,
  seedServiceNowTicket,
  serviceNowDelivery,
  serviceNowHmacKey,
} from '../../dev/scenarios.js';
import { brokers, consumeAll, randomTopicSuffix, testKafka, type ConsumedMessage } from './helpers/kafka.js';
import { until } from './helpers/wait.js';

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
  ticketEvents: `${prefix}grantline.ticket-events.v1`,
  dlq: `${prefix}grantline.dlq.v1`,
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

function ticketKeyOf(value: Record<string, unknown>): string | undefined {
  return (value.source as { ticketKey?: string } | undefined)?.ticketKey ?? (value.ticket as { ticketKey?: string } | undefined)?.ticketKey;
}

/** Custody events of one ticket, in log order. */
async function custodyOf(key: string): Promise<Record<string, unknown>[]> {
  return (await consumeAll(kafka, topic.custody, { timeoutMs: 2_000 })).map(data).filter((e) => ticketKeyOf(e) === key);
}

/** Waits until the processor has handled a delivery (its custody event is on the topic). */
async function processed(key: string, deliveryId: string, timeoutMs = 30_000): Promise<void> {
  const found = await waitFor(topic.custody, (e) => ticketKeyOf(e) === key && e.kind === 'delivery.received' && (e.data as { deliveryId?: string }).deliveryId === deliveryId, 1, timeoutMs);
  if (found.length === 0) throw new Error(`delivery ${deliveryId} of ${key} was not processed`);
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
    const issue = seedJiraTicket(stubs.jira, nhiDualApproval({ ttlHours: 4, description: 'Nightly reconciliation job needs write access.' }));
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

  it('grants a ServiceNow catalog request approved in sysapproval_approver', async () => {
    const ritm = seedServiceNowTicket(stubs.servicenow, {
      item: 'db-orders-prod-readwrite',
      requester: 'alice',
      subject: { type: 'service_account', id: 'svc-orders' },
      environment: 'prod',
      resource: 'orders-db',
      ttlHours: 2,
      justification: 'month-end close',
      approvedBy: ['bob', 'carol'],
    });
    const res = await post(`${stack.url}/webhooks/servicenow-main`, serviceNowDelivery(ritm, serviceNowHmacKey(stack.config)));
    expect(res.status).toBe(202);
    const [grant] = await waitFor(topic.pam, (g) => ticketKeyOf(g) === ritm.number && g.outcome === 'granted');
    expect(grant?.ttlSeconds).toBe(7200);
    expect((grant?.approvals as { evidence: { kind: string } }[]).map((a) => a.evidence.kind)).toEqual(['sysapproval_approver', 'sysapproval_approver']);
    expect(verifyMessage(grant, jwks).ok).toBe(true);
  });

  it('gives one grant for a webhook delivered three times and for edits that change nothing', async () => {
    const issue = seedJiraTicket(stubs.jira, nhiDualApproval());
    const secret = jiraWebhookSecret(stack.config);
    const delivery = jiraDelivery(issue, secret, { deliveryId: `dup-${issue.id}` });
    for (let i = 0; i < 3; i += 1) expect((await post(`${stack.url}/webhooks/jira-main`, delivery)).status).toBe(202);
    // A comment is a change to the ticket, but not to the request.
    stubs.jira.state.addComment(issue.id, { accountId: 'a7dcc13a56eec540b8e04fe8' }, 'looks fine to me');
    const later = jiraDelivery(issue, secret, { deliveryId: `comment-${issue.id}`, event: 'comment_created' });
    expect((await post(`${stack.url}/webhooks/jira-main`, later)).status).toBe(202);
    await processed(issue.key, `comment-${issue.id}`);

    const grants = (await consumeAll(kafka, topic.pam, { timeoutMs: 2_000 })).map(data).filter((g) => ticketKeyOf(g) === issue.key);
    expect(grants.map((g) => g.outcome)).toEqual(['granted']);
    const received = (await custodyOf(issue.key)).filter((e) => e.kind === 'delivery.received').map((e) => (e.data as { deliveryId: string }).deliveryId);
    expect(received).toEqual([`dup-${issue.id}`, `comment-${issue.id}`]);
    expect(stubs.jira.state.comments(issue.id).filter((c) => c.text.includes(String(grants[0]?.grantId)))).toHaveLength(1);
  });

  it("reads nothing for Jira's echo of grantline's own note (comment_created with the marker)", async () => {
    const issue = seedJiraTicket(stubs.jira, nhiDualApproval());
    const secret = jiraWebhookSecret(stack.config);
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, secret))).status).toBe(202);
    expect(await until(() => stubs.jira.state.comments(issue.id).some((c) => c.text.includes('[grantline:')))).toBe(true);
    const note = stubs.jira.state.comments(issue.id).find((c) => c.text.includes('[grantline:'))!;
    const from = stubs.jira.requests.length;

    // What Jira Cloud sends for the comment grantline just wrote.
    const echoBody = Buffer.from(
      JSON.stringify({
        timestamp: Date.now(),
        webhookEvent: 'comment_created',
        comment: { self: `${stubs.jira.baseUrl}/rest/api/2/issue/${issue.id}/comment/${note.id}`, id: note.id, author: note.author, body: note.text, created: note.created, updated: note.updated },
        issue: { id: issue.id, key: issue.key, fields: { project: { key: issue.key.split('-')[0] } } },
      }),
    );
    const echo = await post(`${stack.url}/webhooks/jira-main`, { body: echoBody, headers: { ...signJiraWebhook(echoBody, secret), 'x-atlassian-webhook-identifier': `echo-${issue.id}` } });
    expect(echo).toEqual({ status: 202, body: { status: 'ignored', deliveryId: `echo-${issue.id}`, ticketId: issue.id, reason: "comment_created for grantline's own note" } });

    // A later delivery of the same ticket is processed after anything the echo could have caused.
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, secret, { deliveryId: `after-echo-${issue.id}` }))).status).toBe(202);
    await processed(issue.key, `after-echo-${issue.id}`);
    const received = (await custodyOf(issue.key)).filter((e) => e.kind === 'delivery.received').map((e) => (e.data as { deliveryId: string }).deliveryId);
    expect(received).not.toContain(`echo-${issue.id}`);
    // One read of the issue since the note: the later delivery's, none for the echo.
    const issueReads = stubs.jira.requests.slice(from).filter((r) => r.method === 'GET' && new RegExp(`/issue/(${issue.id}|${issue.key})$`).test(r.path));
    expect(issueReads).toHaveLength(1);
  });

  const rejections: [string, Parameters<typeof seedJiraTicket>[1], string][] = [
    ['self-approval', { entitlement: 'db-orders-prod-readwrite', requester: 'alice', subject: { type: 'service_account', id: 'svc-orders' }, environment: 'prod', resource: 'orders-db', approvedBy: ['alice', 'bob'] }, 'SELF_APPROVAL'],
    ['an "approved" comment instead of an approval', { entitlement: 'db-orders-prod-readwrite', requester: 'alice', subject: { type: 'service_account', id: 'svc-orders' }, environment: 'prod', resource: 'orders-db', comments: [{ by: 'bob', text: 'approved' }, { by: 'carol', text: 'LGTM, approved' }] }, 'APPROVAL_NOT_STRUCTURED'],
    ['a TTL above the maximum', { entitlement: 'db-orders-prod-readwrite', requester: 'alice', subject: { type: 'service_account', id: 'svc-orders' }, environment: 'prod', resource: 'orders-db', ttlHours: 24, approvedBy: ['bob', 'carol'] }, 'TTL_EXCEEDS_MAX'],
    ['an NHI whose owner has left', { entitlement: 'db-orders-prod-readwrite', requester: 'alice', subject: { type: 'service_account', id: 'svc-orphan' }, environment: 'prod', resource: 'orders-db', approvedBy: ['bob', 'carol'] }, 'OWNER_INACTIVE'],
    ['only free text', { entitlement: null, requester: 'alice', summary: 'Access to prod please', description: 'same as bob' }, 'FREE_TEXT_REQUEST'],
    ['only one of two approvals', { entitlement: 'db-orders-prod-readwrite', requester: 'alice', subject: { type: 'service_account', id: 'svc-orders' }, environment: 'prod', resource: 'orders-db', approvedBy: ['bob'] }, 'INSUFFICIENT_APPROVALS'],
    ['a human asking for a service-account role', { entitlement: 'db-orders-prod-readwrite', requester: 'alice', subject: { type: 'human', id: 'alice' }, environment: 'prod', resource: 'orders-db', approvedBy: ['bob', 'carol'] }, 'SUBJECT_TYPE_NOT_ALLOWED'],
  ];

  it.each(rejections)('rejects %s: reason on the rejection topic and on the ticket', async (_name, ticket, code) => {
    const issue = seedJiraTicket(stubs.jira, ticket);
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);
    const [rejection] = await waitFor(topic.rejected, (r) => ticketKeyOf(r) === issue.key);
    expect(rejection && reasonCodes(rejection)).toContain(code);
    expect(verifyMessage(rejection, jwks).ok).toBe(true);
    expect(await until(() => stubs.jira.state.comments(issue.id).some((c) => c.text.includes(`${code}:`)))).toBe(true);
    const grants = (await consumeAll(kafka, topic.pam, { timeoutMs: 1_000 })).map(data).filter((g) => ticketKeyOf(g) === issue.key);
    expect(grants).toEqual([]);
  });

  it('refuses a forged signature with 401 and publishes nothing', async () => {
    const issue = seedJiraTicket(stubs.jira, { entitlement: 'analytics-readonly', requester: 'alice', subject: { type: 'human', id: 'alice' }, environment: 'prod', approvedBy: ['dave'] });
    const forged = jiraDelivery(issue, 'not-the-secret', { deliveryId: `forged-${issue.id}` });
    const res = await post(`${stack.url}/webhooks/jira-main`, forged);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code: 'bad_signature' } });
    const unsigned = await post(`${stack.url}/webhooks/jira-main`, { body: forged.body, headers: { 'content-type': 'application/json' } });
    expect(unsigned.status).toBe(401);
    expect((await post(`${stack.url}/webhooks/nope`, forged)).status).toBe(404);
    const events = (await consumeAll(kafka, topic.ticketEvents, { timeoutMs: 2_000 })).map(data);
    expect(events.filter((e) => e.ticketId === issue.id)).toEqual([]);
  });

  it('answers 413 for an oversized body', async () => {
    const res = await post(`${stack.url}/webhooks/jira-main`, { body: Buffer.alloc(stack.config.http.bodyLimitBytes + 1, 'a'), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(413);
  });

  it('waits out a source outage and a 429, then decides: nothing is dropped', async () => {
    const issue = seedJiraTicket(stubs.jira, nhiDualApproval());
    stubs.jira.failNext(503, {}, 2);
    stubs.jira.failNext(429, { 'retry-after': '1' }, 1);
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);
    const grants = await waitFor(topic.pam, (g) => ticketKeyOf(g) === issue.key, 1, 60_000);
    expect(grants.map((g) => g.outcome)).toEqual(['granted']);
  });

  it('sends a poison event (here: unsealed, not even JSON) to the DLQ with its reason and keeps processing the partition', async () => {
    const producer = createProducer(kafka);
    await producer.connect();
    const issue = seedJiraTicket(stubs.jira, nhiDualApproval());
    // Same key as the real delivery that follows, so both land on one partition, poison first.
    await producer.send(topic.ticketEvents, [{ key: `jira-main|${issue.id}`, value: '{"kind":"delivery", this is not json' }]);
    await producer.disconnect();
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);
    expect((await waitFor(topic.pam, (g) => ticketKeyOf(g) === issue.key)).length).toBe(1);
    const dead = (await consumeAll(kafka, topic.dlq, { timeoutMs: 2_000 })).map(data).filter((d) => (d.original as { key?: string }).key === `jira-main|${issue.id}`);
    expect(dead).toHaveLength(1);
    // Nothing grantline did not seal is read at all: the missing MAC is the reason.
    expect(dead[0]).toMatchObject({ stage: 'processor.trust', reason: expect.stringContaining('unsealed') });
  });

  it('verify refuses a grant whose bytes were altered after signing', async () => {
    const [grant] = await waitFor(topic.pam, (g) => g.outcome === 'granted');
    const dir = mkdtempSync(join(tmpdir(), 'grantline-verify-'));
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify(jwks));
    const good = join(dir, 'grant.json');
    writeFileSync(good, JSON.stringify(grant));
    const altered = join(dir, 'altered.json');
    writeFileSync(altered, JSON.stringify({ ...grant, ttlSeconds: 8 * 24 * 3600 }));
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await verifyCli([good, '--jwks', jwksFile])).toBe(0);
      expect(await verifyCli([altered, '--jwks', jwksFile])).toBe(1);
      expect(out.mock.calls.flat().join('\n')).toMatch(/signature/i);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});
