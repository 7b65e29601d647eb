import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientNames } from '../../src/kafka/index.js';
import { startStack, startStubs, type Stack, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket } from '../../dev/scenarios.js';
import { brokers, randomTopicSuffix, testKafka } from './helpers/kafka.js';
import { until } from './helpers/wait.js';

/**
 * Issue 16: a granted ticket costs three source requests (issue, approvals, the note): the
 * write-back skips its read for the marker when the task is provably on its first attempt. A task
 * read again after a crash (its offset not committed) still reads first, so the note stays single.
 */
const prefix = `wbfirst-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-wbfirst-admin');
let stubs: Stubs;
let stack: Stack | undefined;

beforeAll(async () => {
  stubs = await startStubs();
});

afterAll(async () => {
  await stack?.stop();
  await stubs?.close();
});

/** The Jira requests of one issue (addressed by its id or its key), as `METHOD kind`. */
function requestsOf(issue: { id: string; key: string }, from = 0): string[] {
  const mine = new RegExp(`/(${issue.id}|${issue.key})(/|$)`);
  return stubs.jira.requests
    .slice(from)
    .filter((r) => mine.test(r.path))
    .map((r) => `${r.method} ${r.path.endsWith('/comment') ? 'comments' : r.path.endsWith('/approval') ? 'approvals' : 'issue'}`);
}

describe('the write-back reads the ticket for its marker only when the note may exist', () => {
  it('grants with three requests; after a crash before the offset commit, the tasks read again check and write no second note', async () => {
    stack = await startStack({ brokers: brokers().join(','), topicPrefix: prefix, stubs, instanceId: 'wbfirst-1', pipeline: { pollIntervalMs: 0 } });
    const secret = jiraWebhookSecret(stack.config);
    const noted = (id: string) => stubs.jira.state.comments(id).filter((c) => c.text.includes('[grantline:'));
    // The first: its task is in the worker's first batch after the assignment, below the
    // partition's high watermark then, so it may have been read by an earlier owner: checked.
    const first = seedJiraTicket(stubs.jira, nhiDualApproval());
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(first, secret))).status).toBe(202);
    expect(await until(() => noted(first.id).length === 1)).toBe(true);
    expect(requestsOf(first)).toEqual(['GET issue', 'GET approvals', 'GET comments', 'POST comments']);
    // The next: written after that, on its first attempt: no read for the marker.
    const next = seedJiraTicket(stubs.jira, nhiDualApproval());
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(next, secret))).status).toBe(202);
    expect(await until(() => noted(next.id).length === 1)).toBe(true);
    expect(requestsOf(next)).toEqual(['GET issue', 'GET approvals', 'POST comments']);
    const serviceName = stack.config.service.name;
    await stack.stop();
    stack = undefined;

    // As after a crash between the notes and the offset commit: the write-back group starts over.
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.resetOffsets({ groupId: clientNames(prefix, serviceName).group('writeback'), topic: `${prefix}grantline.writeback.v1`, earliest: true });
    } finally {
      await admin.disconnect();
    }
    const from = stubs.jira.requests.length;
    stack = await startStack({ brokers: brokers().join(','), topicPrefix: prefix, stubs, instanceId: 'wbfirst-2', pipeline: { pollIntervalMs: 0 } });
    expect(await until(() => [first, next].every((t) => requestsOf(t, from).includes('GET comments')), 30_000)).toBe(true);
    // Settled: each redelivered task found its marker and wrote nothing.
    await new Promise((r) => setTimeout(r, 1_000));
    for (const t of [first, next]) {
      expect(requestsOf(t, from)).toEqual(['GET comments']);
      expect(noted(t.id)).toHaveLength(1);
    }
  });
});
