/**
 * Issue 14 on the real broker and the real PostgreSQL server: a ticket becomes a grant, the
 * PostgreSQL adapter (the kit with the PostgreSQL target, in this process) makes it a role
 * membership and grantline writes the outcome on the ticket; expiry takes it away; forged
 * grants provision nothing and raise alerts; privilege granted by hand is drift.
 *
 * grantline and the adapter share a clock the tests only move forward, so tests run in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdapter, type AdapterHandle } from '../../adapters/kit/index.js';
import { PostgresTarget } from '../../adapters/postgres/target.js';
import { startStack, startStubs, type Stack, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, post, seedJiraTicket, type AccessTicket } from '../../dev/scenarios.js';
import { adapterTrust, freshKey, grantTopicMessage, signedGrant } from '../../dev/signed-grants.js';
import type { StubIssue } from '../../dev/stubs/jira-stub.js';
import { publicJwks, verifyDetachedJws } from '../../src/custody/index.js';
import { createProducer } from '../../src/kafka/index.js';
import type { Grant } from '../../src/model/index.js';
import { CE_TYPES } from '../../src/pipeline/cloudevents.js';
import { follow, type Follower } from './helpers/follow.js';
import { brokers, randomTopicSuffix, testKafka, testLogger } from './helpers/kafka.js';
import { createScratch, eventually, type Scratch } from '../../dev/pg-scratch.js';
import { until } from './helpers/wait.js';

const prefix = `pgad-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-pg-adapter-it');
const topic = { pam: `${prefix}access.grants.pam.v1`, alerts: `${prefix}grantline.alerts.v1`, results: `${prefix}access.fulfillment.results.v1` };
const ENTITLEMENT = 'db-orders-prod-readwrite';
const adapterKey = freshKey('pg-adapter-it');

let offsetMs = 0;
const clock = (): Date => new Date(Date.now() + offsetMs);
function setClock(at: number): void {
  offsetMs = Math.max(offsetMs, at - Date.now());
}

let stubs: Stubs;
let stack: Stack;
let scratch: Scratch;
let target: PostgresTarget;
let adapter: AdapterHandle;
let grants: Follower;
let alerts: Follower;
let results: Follower;

function startAdapter(onDrift: 'alert' | 'revoke' = 'alert'): Promise<AdapterHandle> {
  return runAdapter({
    name: 'postgres-orders',
    channel: 'pam',
    brokers: brokers(),
    kafka: { topicPrefix: prefix },
    jwks: `${stack.url}/.well-known/jwks.json`,
    signingKey: adapterKey.input,
    target,
    onDrift,
    clock,
    reconcileIntervalMs: 300,
    logger: testLogger(),
  });
}

function ordersTicket(ttlHours: number): AccessTicket {
  return { entitlement: ENTITLEMENT, requester: 'alice', subject: { type: 'service_account', id: 'svc-orders' }, environment: 'prod', resource: 'orders-db', ttlHours, approvedBy: ['bob', 'carol'] };
}

async function granted(ticket: AccessTicket): Promise<{ issue: StubIssue; grant: Grant }> {
  const issue = seedJiraTicket(stubs.jira, ticket);
  expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);
  const [message] = await grants.wait((m) => m.type === CE_TYPES.grantIssued && (m.value.source as { ticketKey: string }).ticketKey === issue.key);
  if (!message) throw new Error(`no grant for ${issue.key}`);
  return { issue, grant: message.value as unknown as Grant };
}

function notes(issue: StubIssue, text: string): string[] {
  return stubs.jira.state.comments(issue.id).map((c) => c.text).filter((t) => t.includes(text));
}

async function publish(messages: { key: string; value: string; headers: Record<string, string> }[]): Promise<void> {
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    await producer.send(topic.pam, messages);
  } finally {
    await producer.disconnect();
  }
}

async function metric(name: string): Promise<number> {
  const line = (await adapter.registry.metrics()).split('\n').find((l) => l.startsWith(`${name}{`));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

beforeAll(async () => {
  scratch = await createScratch([ENTITLEMENT], ['svc-orders', 'svc-reports', 'svc-billing']);
  stubs = await startStubs();
  stack = await startStack({ brokers: brokers().join(','), topicPrefix: prefix, stubs, clock, pipeline: { lifecycleTickMs: 200, revocationConfirmMs: 60_000 }, adapters: [adapterTrust('pam', adapterKey)] });
  [grants, alerts, results] = await Promise.all([follow(kafka, topic.pam), follow(kafka, topic.alerts), follow(kafka, topic.results)]);
  target = await PostgresTarget.connect(scratch.targetConfig());
  adapter = await startAdapter();
}, 120_000);

afterAll(async () => {
  await adapter?.stop();
  await target?.close();
  await Promise.all([grants, alerts, results].map((f) => f?.stop()));
  await stack?.stop();
  await stubs?.close();
  await scratch?.drop();
});

let first: { issue: StubIssue; grant: Grant };

describe('the PostgreSQL adapter with grantline', () => {
  it('makes a granted ticket a role membership, recorded with its grant id and expiry, and the ticket says provisioned', async () => {
    expect(await scratch.isMember('svc-orders', ENTITLEMENT)).toBe(false);
    first = await granted(ordersTicket(1));
    const { grant, issue } = first;
    expect(await eventually(() => scratch.isMember('svc-orders', ENTITLEMENT))).toBe(true);

    const { rows } = await scratch.admin.query('SELECT grant_id, member_role, group_role, expires_at, revoked_at FROM grantline_adapter.memberships');
    expect(rows).toEqual([{ grant_id: grant.grantId, member_role: scratch.subjects['svc-orders'], group_role: scratch.entitlements[ENTITLEMENT], expires_at: new Date(grant.expiresAt), revoked_at: null }]);
    expect(await until(() => notes(issue, `postgres-orders reports grant ${grant.grantId} provisioned`).length === 1)).toBe(true);

    // The report is signed with the adapter's own key.
    const [result] = await results.wait((m) => m.value.grantId === grant.grantId && m.value.status === 'provisioned');
    expect(verifyDetachedJws(String(result?.value.signature), result?.value ?? {}, publicJwks(adapterKey.keys)).result).toBe('valid');
  });

  it('takes the membership away when the grant expires, and the ticket says revoked', async () => {
    const { grant, issue } = first;
    setClock(Date.parse(grant.expiresAt) + 1_000);
    expect(await eventually(async () => !(await scratch.isMember('svc-orders', ENTITLEMENT)))).toBe(true);
    expect(await until(() => notes(issue, `postgres-orders reports grant ${grant.grantId} revoked`).length >= 1)).toBe(true);
    const { rows } = await scratch.admin.query<{ revoked_at: Date | null; revoke_reason: string }>('SELECT revoked_at, revoke_reason FROM grantline_adapter.memberships WHERE grant_id = $1', [grant.grantId]);
    expect(rows[0]?.revoked_at).not.toBeNull();
    expect(rows[0]?.revoke_reason).toMatch(new RegExp(`${grant.grantId} (expired|revoked \\(ttl-expired)`));
  });

  it('refuses forged grants on the topic: no membership, an alert for each', async () => {
    const { grant } = first;
    const [original] = await grants.wait((m) => m.type === CE_TYPES.grantIssued && m.value.grantId === grant.grantId);
    if (!original) throw new Error('the grant is not on the topic');
    const headers = Object.fromEntries(Object.entries(original.raw.headers ?? {}).map(([k, v]) => [k, String(v)]));
    // A genuine grant, its TTL widened to a week (consistently, so only the signature can tell).
    const week = 7 * 86_400;
    const widened = { ...grant, ttlSeconds: week, expiresAt: new Date(Date.parse(grant.validFrom) + week * 1000).toISOString() };
    // A new grant for another subject, signed by a key that claims grantline's kid.
    const kid = JSON.parse(Buffer.from(grant.signature.split('.')[0] ?? '', 'base64url').toString('utf8')).kid as string;
    const impostor = signedGrant(freshKey(kid).keys, { grantId: 'gr_impostor', entitlementId: ENTITLEMENT, subjectId: 'svc-reports', validFrom: clock(), ttlSeconds: 3600 });
    await publish([{ key: grant.grantId, value: JSON.stringify(widened), headers }, grantTopicMessage(impostor)]);

    const refused = await alerts.wait((m) => m.value.kind === 'adapter.message.refused', 2);
    expect(refused.map((a) => [a.value.grantId, (a.value.failedChecks as { name: string }[]).map((c) => c.name)])).toEqual([
      [grant.grantId, ['signature-valid']],
      ['gr_impostor', ['signature-valid']],
    ]);
    await adapter.reconcileNow();
    expect(await scratch.isMember('svc-orders', ENTITLEMENT)).toBe(false);
    expect(await scratch.isMember('svc-reports', ENTITLEMENT)).toBe(false);
    expect(results.messages.filter((m) => m.value.grantId === 'gr_impostor')).toEqual([]);
  });

  it('reports a membership granted by hand as drift, never touches a role outside its mapping, and revokes with onDrift: revoke', async () => {
    const group = scratch.entitlements[ENTITLEMENT] as string;
    await scratch.admin.query(`GRANT "${group}" TO "${scratch.subjects['svc-billing']}"`);
    await scratch.admin.query(`GRANT "${group}" TO "${scratch.outsider}"`);
    await adapter.reconcileNow();
    const drift = await alerts.wait((m) => m.value.kind === 'adapter.drift', 2);
    expect(drift.map((a) => [(a.value.privilege as { description: string }).description, a.value.action]).sort()).toEqual([
      [`${scratch.outsider} is a member of ${group}`, 'kept'],
      [`${scratch.subjects['svc-billing']} is a member of ${group}`, 'reported'],
    ]);
    expect(await metric('grantline_adapter_drift')).toBe(2);
    expect(await scratch.isMember('svc-billing', ENTITLEMENT)).toBe(true);
    // Found once, alerted once: more reconciles raise nothing new.
    await adapter.reconcileNow();
    await adapter.reconcileNow();
    expect(alerts.messages.filter((m) => m.value.kind === 'adapter.drift')).toHaveLength(2);

    await adapter.stop();
    adapter = await startAdapter('revoke');
    const revoked = await alerts.wait((m) => m.value.kind === 'adapter.drift' && m.value.action === 'revoked');
    expect((revoked[0]?.value.privilege as { description: string }).description).toBe(`${scratch.subjects['svc-billing']} is a member of ${group}`);
    expect(await scratch.isMember('svc-billing', ENTITLEMENT)).toBe(false);
    expect(await scratch.memberships()).toEqual([`${scratch.outsider}>${group}`]);
    expect(await metric('grantline_adapter_drift')).toBe(1);
    const log = await scratch.admin.query<{ member_role: string; reason: string }>("SELECT member_role, reason FROM grantline_adapter.membership_log WHERE action = 'revoke' AND reason LIKE 'drift%'");
    expect(log.rows).toEqual([{ member_role: scratch.subjects['svc-billing'], reason: 'drift: granted outside grantline, no grant in force explains it' }]);
  });
});
