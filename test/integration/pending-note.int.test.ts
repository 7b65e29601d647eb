/**
 * Approvers see what they approve: through the whole pipeline on the shared broker, with the Jira
 * and ServiceNow stubs, a request that waits for approvals gets one note saying what would be
 * granted and who must approve, and no second one while that stays the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, startStubs, type Stack, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, people, post, seedJiraTicket, seedServiceNowTicket, serviceNowDelivery, serviceNowHmacKey } from '../../dev/scenarios.js';
import { brokers, consumeAll, randomTopicSuffix, testKafka } from './helpers/kafka.js';

const prefix = `pending-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-pending-reader');
let stubs: Stubs;
let stack: Stack;

/** The kinds of one ticket's custody events, in log order. */
async function custodyKinds(ticketKey: string): Promise<string[]> {
  return (await consumeAll(kafka, `${prefix}access.custody.v1`, { timeoutMs: 2_000 }))
    .map((m) => JSON.parse(m.value ?? 'null') as { kind: string; ticket: { ticketKey: string } })
    .filter((e) => e.ticket.ticketKey === ticketKey)
    .map((e) => e.kind);
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

beforeAll(async () => {
  stubs = await startStubs();
  stack = await startStack({ brokers: brokers().join(','), topicPrefix: prefix, stubs, roles: ['ingress', 'processor'] });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await stubs?.close();
});

describe('a request waiting for approval gets one note with exactly what would be granted', () => {
  it('Jira: the note names the entitlement, subject, resource, environment, the defaulted duration and the approvers; an edit that changes none of it adds no note', async () => {
    const issue = seedJiraTicket(stubs.jira, nhiDualApproval({ approvedBy: [] }));
    const secret = jiraWebhookSecret(stack.config);
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, secret))).status).toBe(202);
    const pendingNotes = () => stubs.jira.state.comments(issue.id).filter((c) => c.text.includes('Waiting for approval'));
    await until('the pending note', () => pendingNotes().length === 1);
    const text = pendingNotes()[0]?.text ?? '';
    expect(text).toContain('- Entitlement: db-orders-prod-readwrite');
    expect(text).toContain('- Subject: service_account svc-orders');
    expect(text).toContain('- Resource: orders-db');
    expect(text).toContain('- Environment: prod');
    expect(text).toContain("- Duration: 4h (the catalog's default: the ticket asks for no duration)");
    expect(text).toContain('Approval needed: 2 approvers from data-platform-owners');
    expect(text).toMatch(/data-platform-owners: .*\(bob\).*\(carol\)/);
    expect(text).toContain('- INSUFFICIENT_APPROVALS: ');
    // No rejection note beside it.
    expect(stubs.jira.state.comments(issue.id).filter((c) => c.text.includes('Access not granted'))).toEqual([]);

    // The description is edited: the input changes; what would be granted and what is missing do not.
    const alice = people.get('alice');
    stubs.jira.state.setField(issue.id, 'description', 'Nightly reconciliation, more context.', { accountId: alice?.identities.jiraAccountId ?? 'alice', displayName: 'alice' }, new Date());
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, secret, { deliveryId: `again-${issue.id}` }))).status).toBe(202);
    // It is decided again, and the same note is not written twice.
    await until('the second decision', async () => (await custodyKinds(issue.key)).filter((k) => k === 'decision.rejected').length === 2);
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await custodyKinds(issue.key)).filter((k) => k === 'ticket.written-back')).toHaveLength(1);
    expect(pendingNotes()).toHaveLength(1);
  });

  it('ServiceNow: one work note with the requested duration and the approvers, and no rejection note', async () => {
    const ritm = seedServiceNowTicket(stubs.servicenow, { item: 'db-orders-prod-readwrite', requester: 'alice', subject: { type: 'service_account', id: 'svc-orders' }, environment: 'prod', resource: 'orders-db', ttlHours: 2, justification: 'backfill' });
    const id = ritm.sys_id as string;
    expect((await post(`${stack.url}/webhooks/servicenow-main`, serviceNowDelivery(ritm, serviceNowHmacKey(stack.config)))).status).toBe(202);
    const notes = () => stubs.servicenow.state.journal(id).map((j) => String(j.value)).filter((v) => v.includes('Waiting for approval'));
    await until('the pending work note', () => notes().length === 1);
    expect(notes()[0]).toContain('- Duration: 2h\n');
    expect(notes()[0]).toContain('- Entitlement: db-orders-prod-readwrite');
    expect(notes()[0]).toMatch(/data-platform-owners: .*\(bob\).*\(carol\)/);
    expect(stubs.servicenow.state.journal(id).filter((j) => String(j.value).includes('REJECTED'))).toEqual([]);
  });
});
