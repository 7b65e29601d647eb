import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, startStubs, type Stack, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket } from '../../dev/scenarios.js';
import { brokers, consumeAll, randomTopicSuffix, testKafka, type ConsumedMessage } from './helpers/kafka.js';

/**
 * Issue 16: grantline's own note moves the Jira issue's `updated`, and the reconciliation poller
 * then sees the issue again. That sighting is the note's echo and costs no issue read; a change
 * after the note is still seen and processed. The real broker, the stack in this process with the
 * poller every second, the Jira stub.
 */
const prefix = `pollecho-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-poll-echo-reader');
const topic = { custody: `${prefix}access.custody.v1`, pollerState: `${prefix}grantline.poller-state.v1` };
let stubs: Stubs;
let stack: Stack;

const data = (m: ConsumedMessage): Record<string, unknown> => JSON.parse(m.value ?? 'null') as Record<string, unknown>;
const jiraTime = (d: Date): string => d.toISOString().replace('Z', '+0000');

async function waitFor(topicName: string, match: (value: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await consumeAll(kafka, topicName, { timeoutMs: 1_000 })).map(data).find(match);
    if (found !== undefined || Date.now() > deadline) return found;
  }
}

const custodyOf = (key: string) => (e: Record<string, unknown>) => (e.ticket as { ticketKey?: string } | undefined)?.ticketKey === key;
const received = (key: string, deliveryId: (id: string) => boolean) => (e: Record<string, unknown>) =>
  custodyOf(key)(e) && e.kind === 'delivery.received' && deliveryId(String((e.data as { deliveryId?: string }).deliveryId));

beforeAll(async () => {
  stubs = await startStubs();
  stack = await startStack({ brokers: brokers().join(','), topicPrefix: prefix, stubs, pipeline: { pollIntervalMs: 1_000, pollLookbackMs: 60_000 } });
});

afterAll(async () => {
  await stack?.stop();
  await stubs?.close();
});

describe("the poller and grantline's own note", () => {
  it("reads nothing for the poll's sighting of the note, and still processes a later change", async () => {
    const issue = seedJiraTicket(stubs.jira, nhiDualApproval());
    // Changed long before the poller's look-back: only what happens from here on is polled.
    issue.fields.updated = jiraTime(new Date(Date.now() - 600_000));
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);

    const writtenBack = await waitFor(topic.custody, (e) => custodyOf(issue.key)(e) && e.kind === 'ticket.written-back');
    const noteAt = (writtenBack?.data as { ticketUpdatedAt?: string } | undefined)?.ticketUpdatedAt;
    const note = stubs.jira.state.comments(issue.id).find((c) => c.text.includes('[grantline:'));
    expect(note).toBeDefined();
    expect(noteAt).toBe(new Date(note!.created.replace('+0000', 'Z')).toISOString());

    // What Jira does when a comment is added (here once the outcome is recorded, so the poller's
    // sighting reaches the processor after it): the issue's `updated` becomes the comment's time.
    issue.fields.updated = note!.created;
    const from = stubs.jira.requests.length;
    const polled = await waitFor(topic.pollerState, (s) => (JSON.parse(String(s.watermark)) as { lastKey?: string }).lastKey === issue.key);
    expect(polled).toBeDefined();

    // A later webhook delivery is processed after anything the sighting could have caused.
    const after = `after-poll-echo-${issue.id}`;
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config), { deliveryId: after }))).status).toBe(202);
    expect(await waitFor(topic.custody, received(issue.key, (id) => id === after))).toBeDefined();
    const all = (await consumeAll(kafka, topic.custody, { timeoutMs: 1_000 })).map(data);
    expect(all.filter(received(issue.key, (id) => id.startsWith('poll:')))).toEqual([]);
    const issueReads = stubs.jira.requests.slice(from).filter((r) => r.method === 'GET' && new RegExp(`/issue/(${issue.id}|${issue.key})$`).test(r.path));
    expect(issueReads).toHaveLength(1);

    // Somebody changes the issue after the note: the poller's sighting of that is processed.
    const changedAt = new Date();
    stubs.jira.state.change(issue.id, { accountId: 'acc-bob', displayName: 'bob' }, changedAt, [
      { field: 'labels', fieldtype: 'jira', fieldId: 'labels', from: null, fromString: '', to: null, toString: 'reviewed' },
    ]);
    const sighting = `poll:${issue.id}:${new Date(jiraTime(changedAt).replace('+0000', 'Z')).toISOString()}`;
    expect(await waitFor(topic.custody, received(issue.key, (id) => id === sighting))).toBeDefined();
  });
});
