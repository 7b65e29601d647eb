/**
 * Forged messages on grantline's internal topics, on the real broker: for each topic, a message
 * without a MAC, one sealed with a key grantline does not hold (under the genuine kid), and one
 * carrying a genuine MAC replayed on changed content change nothing a user can observe, and each
 * lands in the DLQ (stage `<reader>.trust`), raises a `message.refused` alert and is counted in
 * `grantline_messages_refused_total`. The genuine message still works.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, startStubs, writeStackConfig, type Stack, type StackOptions, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket, type AccessTicket } from '../../dev/scenarios.js';
import type { StubIssue } from '../../dev/stubs/jira-stub.js';
import { directoryInForce } from '../../src/cli/directory-in-force.js';
import { openCli } from '../../src/cli/kafka-cli.js';
import { createProducer } from '../../src/kafka/index.js';
import type { RevokeCommand, WritebackTask } from '../../src/model/index.js';
import { InternalKeyring, MAC_HEADER } from '../../src/trust/index.js';
import { brokers, consumeAll, randomTopicSuffix, testKafka, type ConsumedMessage } from './helpers/kafka.js';
import { until } from './helpers/wait.js';

const prefix = `trust-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-trust-reader');
const work = mkdtempSync(join(tmpdir(), 'grantline-trust-'));
const topic = {
  pam: `${prefix}access.grants.pam.v1`,
  ticketEvents: `${prefix}grantline.ticket-events.v1`,
  ticketState: `${prefix}grantline.ticket-state.v1`,
  writeback: `${prefix}grantline.writeback.v1`,
  pollerState: `${prefix}grantline.poller-state.v1`,
  directory: `${prefix}grantline.directory.v1`,
  dlq: `${prefix}grantline.dlq.v1`,
  alerts: `${prefix}grantline.alerts.v1`,
};
const SCIM_TOKEN = randomBytes(32).toString('base64');

let stubs: Stubs;
let stack: Stack;
let options: StackOptions;
let keyring: InternalKeyring;
/** The attacker's key, under the genuine kid. */
let impostor: InternalKeyring;

type Headers = Record<string, string>;

/** Polls an async condition until it holds (true) or `timeoutMs` passes (false). */
async function eventually(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
  return true;
}
const data = (m: ConsumedMessage): Record<string, unknown> => JSON.parse(m.value ?? 'null') as Record<string, unknown>;

async function produce(name: string, messages: { key: string; value: unknown; headers: Headers }[]): Promise<void> {
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    await producer.send(name, messages.map((m) => ({ key: m.key, value: JSON.stringify(m.value), headers: m.headers })));
  } finally {
    await producer.disconnect();
  }
}

/** The genuine MAC header of one message grantline wrote on `name`. */
async function genuineMac(name: string): Promise<string> {
  const messages = await consumeAll(kafka, name, { timeoutMs: 2_000 });
  const header = messages.map((m) => m.headers?.[MAC_HEADER]).find((h) => h !== undefined);
  if (header === undefined) throw new Error(`no sealed message on ${name}`);
  return String(header);
}

/** The three forgeries of `value` for `name`/`key`: no MAC, the attacker's key, a genuine MAC replayed on it. */
async function forgeries(name: string, key: string, value: unknown): Promise<{ key: string; value: unknown; headers: Headers }[]> {
  const replayed = await genuineMac(name);
  return [
    { key, value, headers: {} },
    { key, value, headers: { [MAC_HEADER]: impostor.seal(name, key, JSON.stringify(value)) } },
    { key, value, headers: { [MAC_HEADER]: replayed } },
  ];
}

function sealed(name: string, key: string, value: unknown): { key: string; value: unknown; headers: Headers } {
  return { key, value, headers: { [MAC_HEADER]: keyring.seal(name, key, JSON.stringify(value)) } };
}

/** DLQ records of `stage` for `key`, once at least `count` are there. */
async function deadLetters(stage: string, key: string, count: number): Promise<Record<string, unknown>[]> {
  let found: Record<string, unknown>[] = [];
  await eventually(async () => {
    found = (await consumeAll(kafka, topic.dlq, { timeoutMs: 1_500 })).map(data).filter((d) => d.stage === stage && (d.original as { key: string | null }).key === key);
    return found.length >= count;
  }, 45_000);
  return found;
}

async function refusedAlerts(stage: string, key: string): Promise<Record<string, unknown>[]> {
  return (await consumeAll(kafka, topic.alerts, { timeoutMs: 1_500 })).map(data).filter((a) => a.kind === 'message.refused' && a.stage === stage && a.key === key);
}

async function refusedCount(name: string): Promise<number> {
  const text = await (await fetch(`${stack.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('grantline_messages_refused_total{') && l.includes(`topic="${name}"`))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

async function grantFor(t: AccessTicket): Promise<{ issue: StubIssue; grantId: string }> {
  const issue = seedJiraTicket(stubs.jira, t);
  expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);
  let grantId: string | undefined;
  await eventually(async () => {
    const grant = (await consumeAll(kafka, topic.pam, { timeoutMs: 1_500 })).map(data).find((g) => (g.source as { ticketKey?: string }).ticketKey === issue.key && g.outcome === 'granted');
    grantId = grant?.grantId as string | undefined;
    return grantId !== undefined;
  }, 45_000);
  if (grantId === undefined) throw new Error(`no grant for ${issue.key}`);
  return { issue, grantId };
}

async function revocationsOf(grantId: string): Promise<Record<string, unknown>[]> {
  return (await consumeAll(kafka, topic.pam, { timeoutMs: 1_500 })).map(data).filter((m) => m.grantId === grantId && m.revocationId !== undefined);
}

/** A revoke command as the lifecycle sends it (a manual one needs an operator's signature: trust-signed.int.test.ts). */
function revoke(issue: StubIssue, grantId: string, commandId: string): RevokeCommand {
  return { kind: 'revoke', commandId, connectorId: 'jira-main', ticketId: issue.id, grantId, trigger: 'ttl-expired', reason: 'trust test', actor: 'grantline/lifecycle', requestedAt: new Date().toISOString() };
}

beforeAll(async () => {
  stubs = await startStubs();
  options = {
    brokers: brokers().join(','),
    topicPrefix: prefix,
    stubs,
    pipeline: { pollIntervalMs: 1_000 },
    edit: (tree) => {
      tree.scim = { enabled: true, bearerToken: SCIM_TOKEN };
    },
  };
  stack = await startStack(options);
  const internal = stack.config.trust.internal;
  if (internal === undefined) throw new Error('the example config has trust.internal');
  keyring = InternalKeyring.load(internal);
  impostor = InternalKeyring.load({ activeKid: keyring.activeKid, keys: [{ kid: keyring.activeKid, secret: randomBytes(32).toString('base64') }] });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await stubs?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('forged messages on the internal topics', () => {
  let issue: StubIssue;
  let grantId: string;

  it('ticket state: a forged state that drops the grant is refused; the grant is still tracked and revocable', async () => {
    ({ issue, grantId } = await grantFor(nhiDualApproval({ ttlHours: 4 })));
    const key = `jira-main|${issue.id}`;
    // The genuine state of the ticket, with its grant dropped and a version far ahead.
    const states = (await consumeAll(kafka, topic.ticketState, { timeoutMs: 2_000 })).filter((m) => m.key === key).map(data);
    const latest = states.at(-1) as Record<string, unknown> & { version: number };
    const forged = { ...latest, version: latest.version + 1_000, grants: [] };
    await produce(topic.ticketState, await forgeries(topic.ticketState, key, forged));
    // The state topic is read when a partition is assigned (its restore): a new owner, here a
    // restarted grantline, reads the forgeries and must refuse them.
    await stack.stop();
    stack = await startStack(options);
    const dead = await deadLetters('state.trust', key, 3);
    expect(dead.map((d) => String(d.reason).split(':')[0]).sort()).toEqual(['bad-mac', 'bad-mac', 'unsealed']);
    expect(await refusedCount(topic.ticketState)).toBeGreaterThanOrEqual(3);
    expect((await refusedAlerts('state.trust', key)).length).toBeGreaterThanOrEqual(3);
    // Observable: the grant is still tracked, so a genuine revocation finds it (the next test).
  }, 120_000);

  it('ticket events: forged revoke commands revoke nothing; a genuine one revokes the grant', async () => {
    const key = `jira-main|${issue.id}`;
    const forged = revoke(issue, grantId, `forged:${randomTopicSuffix()}`);
    await produce(topic.ticketEvents, await forgeries(topic.ticketEvents, key, forged));
    const dead = await deadLetters('processor.trust', key, 3);
    expect(dead).toHaveLength(3);
    expect((await refusedAlerts('processor.trust', key)).length).toBeGreaterThanOrEqual(3);
    expect(await refusedCount(topic.ticketEvents)).toBeGreaterThanOrEqual(3);
    // The processor has passed the forgeries (they are in the DLQ, committed with its offsets): nothing was revoked.
    expect(await revocationsOf(grantId)).toEqual([]);

    await produce(topic.ticketEvents, [sealed(topic.ticketEvents, key, revoke(issue, grantId, `genuine:${randomTopicSuffix()}`))]);
    let revocations: Record<string, unknown>[] = [];
    await eventually(async () => (revocations = await revocationsOf(grantId)).length > 0, 45_000);
    expect(revocations).toHaveLength(1);
    expect(revocations[0]).toMatchObject({ grantId, trigger: 'ttl-expired' });
  }, 120_000);

  it('write-back tasks: a forged task posts nothing on the ticket; a genuine one is written', async () => {
    const key = `jira-main|${issue.id}`;
    const task = (reference: string): WritebackTask => ({
      taskId: `task-${reference}`,
      connectorId: 'jira-main',
      ticketId: issue.id,
      ticketKey: issue.key,
      grantId,
      requestId: null,
      item: { kind: 'fulfillment', result: { grantId, action: 'provision', status: 'provisioned', adapter: 'mallory', reference, at: new Date().toISOString() } },
      idempotencyKey: `idem-${reference}`,
      createdAt: new Date().toISOString(),
    });
    const notes = (reference: string) => stubs.jira.state.comments(issue.id).filter((c) => c.text.includes(reference));
    await produce(topic.writeback, await forgeries(topic.writeback, key, task('forged-ref')));
    expect(await deadLetters('writeback.trust', key, 3)).toHaveLength(3);
    expect(await refusedCount(topic.writeback)).toBeGreaterThanOrEqual(3);
    await produce(topic.writeback, [sealed(topic.writeback, key, task('genuine-ref'))]);
    expect(await until(() => notes('genuine-ref').length === 1, 30_000)).toBe(true);
    // Tasks are done in order: the genuine one is written, so the forged ones were passed over.
    expect(notes('forged-ref')).toEqual([]);
  }, 120_000);

  it('write-back tasks: a genuinely sealed task naming a ticket outside the connector\'s projects posts nothing; an in-scope one is written', async () => {
    // An issue in a project jira-main does not serve (its config lists ACC only).
    const outside = stubs.jira.state.seedIssue({ key: 'OPS-1' });
    const task = (reference: string, ticketId: string, ticketKey: string): WritebackTask => ({
      taskId: `task-${reference}`,
      connectorId: 'jira-main',
      ticketId,
      ticketKey,
      grantId,
      requestId: null,
      item: { kind: 'fulfillment', result: { grantId, action: 'provision', status: 'provisioned', adapter: 'pam', reference, at: new Date().toISOString() } },
      idempotencyKey: `idem-${reference}`,
      createdAt: new Date().toISOString(),
    });
    const notesOn = (id: string, reference: string) => stubs.jira.state.comments(id).filter((c) => c.text.includes(reference));
    const outOfScope = async () =>
      (await (await fetch(`${stack.url}/metrics`)).text())
        .split('\n')
        .filter((l) => l.startsWith('grantline_messages_refused_total{') && l.includes(`topic="${topic.writeback}"`) && l.includes('reason="out-of-scope"'))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    const refusedBefore = await outOfScope();
    // All three under one key, so one partition performs them in order.
    const key = `jira-main|${outside.id}`;
    await produce(topic.writeback, [
      sealed(topic.writeback, key, task('scope-outside', outside.id, outside.key)),
      // The outside id under an in-scope key: judged on the key, and written to the key, never to the id.
      sealed(topic.writeback, key, task('scope-mixed', outside.id, issue.key)),
      sealed(topic.writeback, key, task('scope-inside', issue.id, issue.key)),
    ]);
    const dead = await deadLetters('writeback.trust', key, 1);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.reason).toMatch(/^out-of-scope: connector jira-main: issue OPS-1 is in project OPS, not one of the configured projects \(ACC\)/);
    expect(await refusedAlerts('writeback.trust', key)).toHaveLength(1);
    expect(await until(() => notesOn(issue.id, 'scope-inside').length === 1, 30_000)).toBe(true);
    expect(notesOn(issue.id, 'scope-mixed')).toHaveLength(1);
    // Performed in order: the in-scope tasks after it are written, so the refused one was passed over.
    expect(stubs.jira.state.comments(outside.id)).toEqual([]);
    expect(await outOfScope()).toBe(refusedBefore + 1);
  }, 120_000);

  it('poller watermarks: a forged watermark is refused and polling goes on from the genuine one', async () => {
    const key = 'jira-main';
    await eventually(async () => (await consumeAll(kafka, topic.pollerState, { timeoutMs: 1_500 })).some((m) => m.key === key), 30_000);
    // Far in the future: accepted, it would make the poller skip every change until then.
    const forged = { connectorId: key, watermark: '2999-01-01T00:00:00.000Z', version: 1_000_000, updatedAt: new Date().toISOString() };
    await produce(topic.pollerState, await forgeries(topic.pollerState, key, forged));
    expect(await deadLetters('poller.trust', key, 3)).toHaveLength(3);
    expect(await refusedCount(topic.pollerState)).toBeGreaterThanOrEqual(3);
    // A ticket changed without a webhook is still found by the poller and decided.
    const quiet = seedJiraTicket(stubs.jira, nhiDualApproval({ ttlHours: 2 }));
    expect(
      await eventually(async () => (await consumeAll(kafka, topic.pam, { timeoutMs: 1_500 })).map(data).some((g) => (g.source as { ticketKey?: string }).ticketKey === quiet.key), 45_000),
    ).toBe(true);
  }, 120_000);

  it('SCIM directory: a forged record deactivating a person is refused; the directory in force keeps them active', async () => {
    const key = 'user:alice';
    // A genuine record first (through the SCIM endpoint), so there is a MAC to replay.
    const res = await fetch(`${stack.url}/scim/v2/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SCIM_TOKEN}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'zed@example.com', externalId: 'zed', active: true }),
    });
    expect(res.status).toBe(201);
    const now = new Date().toISOString();
    const forged = {
      kind: 'user', id: 'forged-alice', principalId: 'alice', externalId: 'alice', userName: 'alice@example.com', active: false, displayName: null, name: null,
      emails: [], manager: null, identities: {}, created: now, lastModified: now, deleted: false,
    };
    await produce(topic.directory, await forgeries(topic.directory, key, forged));
    expect(await deadLetters('directory.trust', key, 3)).toHaveLength(3);
    expect(await refusedCount(topic.directory)).toBeGreaterThanOrEqual(3);
    // What `grantline directory show alice` reads: the file's alice, active.
    const file = join(work, 'grantline.yaml');
    writeStackConfig(options, file);
    const cli = openCli('directory', file);
    if ('exitCode' in cli) throw new Error('config did not load');
    const directory = await directoryInForce(cli);
    expect(directory.principal('alice')?.active).toBe(true);
  }, 120_000);
});
