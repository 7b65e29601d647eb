/**
 * Issue 15's retirement on the real broker, observed as a user would (topics, the Jira stub): a
 * ticket with no active grant, nothing pending and a closed source ticket is tombstoned on
 * `grantline.ticket-state.v1` after `pipeline.retireAfterMs`; a ticket missing any one of the three
 * is not, until it has all three; and once retired, neither a repeated webhook nor a copy of the
 * ticket's old event read again gives the closed ticket a new grant, a note or a new custody chain.
 *
 * One stack (all roles in this process), a 2 s grace period, the wall clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, startStubs, type Stack, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, people, post, seedJiraTicket, type AccessTicket } from '../../dev/scenarios.js';
import type { StubIssue } from '../../dev/stubs/jira-stub.js';
import { adapterTrust, freshKey } from '../../dev/signed-grants.js';
import { sign } from '../../src/custody/index.js';
import { clientNames, createProducer, type InboundMessage } from '../../src/kafka/index.js';
import type { FulfillmentResult } from '../../src/model/index.js';
import { ticketKey } from '../../src/model/index.js';
import { CE_TYPES } from '../../src/pipeline/cloudevents.js';
import { TopicTail } from '../../src/pipeline/state-view.js';
import { brokers, randomTopicSuffix, testKafka } from './helpers/kafka.js';
import { until } from './helpers/wait.js';

const RETIRE_AFTER_MS = 2_000;
const PAM_ADAPTER = freshKey('cyberark-pam-retire');
const prefix = `ret-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-retirement-reader');
const topic = {
  pam: `${prefix}access.grants.pam.v1`,
  custody: `${prefix}access.custody.v1`,
  state: `${prefix}grantline.ticket-state.v1`,
  ticketEvents: `${prefix}grantline.ticket-events.v1`,
  fulfillment: `${prefix}access.fulfillment.results.v1`,
};

/** Everything read from a topic so far; `value` null is a tombstone. */
interface Seen {
  partition: number;
  offset: number;
  key: string | null;
  type: string;
  value: Record<string, unknown> | null;
  message: InboundMessage;
}
const seen = new Map<string, Seen[]>();
const tails: TopicTail[] = [];
let stubs: Stubs;
let stack: Stack;

async function follow(name: string): Promise<void> {
  const list: Seen[] = [];
  seen.set(name, list);
  const tail = new TopicTail(kafka, name, (message: InboundMessage, partition: number) => {
    let value: Record<string, unknown> | null = null;
    if (message.value !== null) {
      try {
        value = JSON.parse(message.value.toString('utf8')) as Record<string, unknown>;
      } catch {
        value = {};
      }
    }
    list.push({ partition, offset: Number(message.offset), key: message.key?.toString('utf8') ?? null, type: message.headers?.ce_type?.toString() ?? '', value, message });
  });
  tails.push(tail);
  await tail.start();
}

const all = (name: string): Seen[] => seen.get(name) ?? [];
const stateKey = (issue: StubIssue): string => ticketKey('jira-main', issue.id);
const stateRecords = (issue: StubIssue): Seen[] => all(topic.state).filter((s) => s.key === stateKey(issue));
const tombstoned = (issue: StubIssue): boolean => stateRecords(issue).some((s) => s.value === null);
const grantsOf = (issue: StubIssue): Seen[] =>
  all(topic.pam).filter((s) => s.type === CE_TYPES.grantIssued && (s.value?.source as { ticketKey?: string } | undefined)?.ticketKey === issue.key);
const revocationsOf = (grantId: string): Seen[] => all(topic.pam).filter((s) => s.type === CE_TYPES.grantRevoked && s.value?.grantId === grantId);
const custodyOf = (issue: StubIssue): Seen[] => all(topic.custody).filter((s) => (s.value?.ticket as { ticketId?: string } | undefined)?.ticketId === issue.id);
const comments = (issue: StubIssue): string[] => stubs.jira.state.comments(issue.id).map((c) => c.text);

function ordersTicket(subjectId: string): AccessTicket {
  return {
    entitlement: 'db-orders-prod-readwrite',
    requester: 'alice',
    subject: { type: 'service_account', id: subjectId },
    environment: 'prod',
    resource: 'orders-db',
    ttlHours: 4,
    approvedBy: ['bob', 'carol'],
  };
}

async function deliver(issue: StubIssue): Promise<void> {
  expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);
}

/** Files a Jira ticket, delivers its webhook, and returns its grant id. */
async function granted(subjectId: string): Promise<{ issue: StubIssue; grantId: string }> {
  const issue = seedJiraTicket(stubs.jira, ordersTicket(subjectId));
  await deliver(issue);
  expect(await until(() => grantsOf(issue).length === 1)).toBe(true);
  return { issue, grantId: String(grantsOf(issue)[0]?.value?.grantId) };
}

/** The requester moves the ticket to a status and Jira's webhook says so. */
async function transition(issue: StubIssue, status: string): Promise<void> {
  const alice = people.get('alice')?.identities.jiraAccountId ?? 'alice';
  stubs.jira.state.transition(issue.id, status, { accountId: alice, displayName: 'alice' }, new Date());
  await deliver(issue);
}

/** The adapter confirms a revocation, signed with the key the stack registers for the pam channel. */
async function confirmRevoked(grantId: string): Promise<void> {
  const result: FulfillmentResult = sign(
    { grantId, action: 'revoke', status: 'revoked', adapter: 'cyberark-pam', reference: `ref-${grantId}`, at: new Date().toISOString() },
    PAM_ADAPTER.keys,
  );
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    await producer.send(topic.fulfillment, [{ key: grantId, value: JSON.stringify(result), headers: {} }]);
  } finally {
    await producer.disconnect();
  }
}

/** The ticket's latest state record (null: none, or a tombstone). */
function latestState(issue: StubIssue): Record<string, unknown> | null {
  return stateRecords(issue).at(-1)?.value ?? null;
}

/** Waits until the ticket's latest state satisfies `ok`. */
async function stateComes(issue: StubIssue, ok: (state: Record<string, unknown>) => boolean): Promise<boolean> {
  return until(() => {
    const s = latestState(issue);
    return s !== null && ok(s);
  });
}
const closedAt = (s: Record<string, unknown>): string | null => (typeof s.closedAt === 'string' ? s.closedAt : null);
const confirmed = (s: Record<string, unknown>): boolean =>
  (s.grants as { revocation: { confirmedAt: string | null } | null }[]).every((g) => g.revocation?.confirmedAt != null);

/** The processor's committed offset of a ticket-events partition (the next record it will read). */
async function committedOffset(partition: number): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const group = clientNames(prefix, stack.config.service.name).group('processor');
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic.ticketEvents] });
    return Number(offsets?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

beforeAll(async () => {
  stubs = await startStubs();
  stack = await startStack({
    brokers: brokers().join(','),
    topicPrefix: prefix,
    stubs,
    // No overdue re-send during the test: an unconfirmed revocation stays simply pending.
    pipeline: { lifecycleTickMs: 200, revocationConfirmMs: 600_000, retireAfterMs: RETIRE_AFTER_MS, pollIntervalMs: 0 },
    adapters: [adapterTrust('pam', PAM_ADAPTER)],
  });
  await Promise.all(Object.values(topic).map((t) => follow(t)));
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all(tails.map((t) => t.stop()));
  await stubs?.close();
});

describe('retirement of closed tickets on the real broker', () => {
  let retired: { issue: StubIssue; grantId: string };

  it('tombstones only the ticket that is closed with no active grant and nothing pending, after the grace period', async () => {
    // A: cancelled, its grant revoked, the revocation confirmed: all three conditions.
    const a = await granted('svc-orders');
    // B: cancelled and revoked, but no adapter has confirmed the revocation: something pending.
    const b = await granted('svc-orders');
    // C: resolved (Done): closed, but its grant stays active until its TTL.
    const c = await granted('svc-orders');
    // D: its grant revoked (an approval withdrawn) and confirmed, but the ticket is still open.
    const d = await granted('svc-orders');

    await transition(a.issue, 'Cancelled');
    await transition(b.issue, 'Cancelled');
    await transition(c.issue, 'Done');
    const approval = d.issue.approvals?.[0];
    const carol = approval?.approvers.find((x) => x.approver.displayName === 'carol');
    if (!approval || !carol) throw new Error('seeded ticket has no approval by carol');
    carol.approverDecision = 'declined';
    approval.finalDecision = 'declined';
    await deliver(d.issue);

    expect(await until(() => revocationsOf(a.grantId).length === 1)).toBe(true);
    expect(await until(() => revocationsOf(b.grantId).length === 1)).toBe(true);
    expect(await until(() => revocationsOf(d.grantId).length === 1)).toBe(true);
    await confirmRevoked(a.grantId);
    await confirmRevoked(d.grantId);

    // The preconditions, as the state topic shows them.
    expect(await stateComes(b.issue, (s) => closedAt(s) !== null)).toBe(true);
    expect(await stateComes(c.issue, (s) => closedAt(s) !== null)).toBe(true);
    expect(await stateComes(d.issue, confirmed)).toBe(true);
    expect(closedAt(latestState(d.issue) ?? {})).toBeNull();
    expect(revocationsOf(c.grantId)).toEqual([]);

    // A is retired: its custody says so, then its state is tombstoned, no earlier than the grace period after it closed.
    expect(await until(() => tombstoned(a.issue), 30_000)).toBe(true);
    const aStates = stateRecords(a.issue);
    const lastLive = aStates.filter((s) => s.value !== null).at(-1)?.value ?? {};
    const aClosedAt = closedAt(lastLive);
    expect(aClosedAt).not.toBeNull();
    expect(aStates.at(-1)?.value).toBeNull();
    // Written in the same transaction as the tombstone, but read by another consumer, which may lag.
    expect(await until(() => custodyOf(a.issue).some((s) => s.value?.kind === 'ticket.retired'), 30_000)).toBe(true);
    const retiredRecord = custodyOf(a.issue).find((s) => s.value?.kind === 'ticket.retired');
    expect(retiredRecord?.value?.data).toEqual({ closedAt: aClosedAt, retireAfterMs: RETIRE_AFTER_MS });
    expect(Date.parse(String(retiredRecord?.value?.at)) - Date.parse(String(aClosedAt))).toBeGreaterThanOrEqual(RETIRE_AFTER_MS);

    // B, C and D are past the same grace period (they closed or settled no later than A) and a few
    // lifecycle ticks more, and none of them is retired.
    const settledAt = Math.max(...[b, c, d].map(({ issue }) => Date.parse(String(closedAt(latestState(issue) ?? {}) ?? new Date().toISOString()))));
    await new Promise((r) => setTimeout(r, Math.max(0, settledAt + RETIRE_AFTER_MS + 1_500 - Date.now())));
    for (const { issue } of [b, c, d]) expect(tombstoned(issue), issue.key).toBe(false);
    for (const { issue } of [b, c, d]) expect(custodyOf(issue).filter((s) => s.value?.kind === 'ticket.retired'), issue.key).toEqual([]);

    // Each was held back by exactly what it lacked: B once its revocation is confirmed, D once its ticket closes.
    await confirmRevoked(b.grantId);
    await transition(d.issue, 'Cancelled');
    expect(await until(() => tombstoned(b.issue) && tombstoned(d.issue), 30_000)).toBe(true);
    expect(tombstoned(c.issue)).toBe(false);
    retired = a;
  }, 120_000);

  it('gives a retired closed ticket no new grant, note or custody when its events come again', async () => {
    const { issue, grantId } = retired;
    const before = { states: stateRecords(issue).length, custody: custodyOf(issue).length, comments: comments(issue).length };
    expect(grantsOf(issue)).toHaveLength(1);
    const delivered = all(topic.ticketEvents).filter((s) => s.key === stateKey(issue));
    const original = delivered[0];
    if (!original) throw new Error('no ticket event for the retired ticket');
    // What the copies below cover: deliveries, and the records of the adapter's report, the write-backs and the retirement.
    const kinds = new Set(delivered.map((s) => String(s.value?.custodyKind ?? s.value?.kind)));
    expect([...kinds].sort()).toEqual(['delivery', 'fulfillment.reported', 'ticket.retired', 'ticket.written-back']);

    // 1. Jira sends the webhook again, the same delivery byte for byte; 2. a new webhook for it
    // (someone comments on the cancelled ticket); 3. every event the ticket ever had (its deliveries,
    // the adapter's report, the write-backs' records, the retirement), read again from the topic as
    // a consumer reset or a producer retry would give them.
    const again = jiraDelivery(issue, jiraWebhookSecret(stack.config));
    expect((await post(`${stack.url}/webhooks/jira-main`, again)).status).toBe(202);
    expect((await post(`${stack.url}/webhooks/jira-main`, again)).status).toBe(202);
    await deliver(issue);
    const producer = createProducer(kafka);
    await producer.connect();
    try {
      const copy = (s: Seen) => ({
        key: s.key,
        value: s.message.value,
        headers: Object.fromEntries(Object.entries(s.message.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : String(v)])),
      });
      await producer.send(topic.ticketEvents, delivered.map(copy));
    } finally {
      await producer.disconnect();
    }

    // The processor has read past every one of them (its offsets commit with its outputs).
    expect(await until(() => all(topic.ticketEvents).filter((s) => s.key === stateKey(issue)).length >= 2 * delivered.length + 2)).toBe(true);
    const replayed = all(topic.ticketEvents).filter((s) => s.key === stateKey(issue)).slice(delivered.length);
    const last = Math.max(...replayed.map((s) => s.offset));
    const partition = original.partition;
    expect(replayed.every((s) => s.partition === partition)).toBe(true);
    let committed = -1;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && committed <= last; ) {
      committed = await committedOffset(partition);
      if (committed <= last) await new Promise((r) => setTimeout(r, 200));
    }
    expect(committed).toBeGreaterThan(last);
    // Whatever it would have written is in the same transaction as those offsets; allow the tails to catch up.
    await new Promise((r) => setTimeout(r, 1_000));

    expect(grantsOf(issue)).toHaveLength(1);
    expect(revocationsOf(grantId)).toHaveLength(1);
    expect(stateRecords(issue)).toHaveLength(before.states);
    expect(stateRecords(issue).at(-1)?.value).toBeNull();
    expect(custodyOf(issue)).toHaveLength(before.custody);
    expect(comments(issue)).toHaveLength(before.comments);
  }, 120_000);
});
