/**
 * Signed inputs from outside grantline, on the real broker: a manual revoke must carry a
 * configured operator's signature in their own name; a fulfillment result the signature of an
 * adapter registered for the grant's channel; an offboarding the signature of a registered
 * identity feed naming itself. Forged ones change nothing a user can observe and are
 * dead-lettered (`processor.trust`, `lifecycle.trust`), alerted and counted; genuine ones work.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, startStubs, type Stack, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket } from '../../dev/scenarios.js';
import type { StubIssue } from '../../dev/stubs/jira-stub.js';
import { adapterTrust, freshKey } from '../../dev/signed-grants.js';
import { sign } from '../../src/custody/index.js';
import { createProducer } from '../../src/kafka/index.js';
import type { FulfillmentResult, IdentityLifecycleEvent, RevokeCommand } from '../../src/model/index.js';
import { signOperatorCommand } from '../../src/trust/index.js';
import { brokers, consumeAll, randomTopicSuffix, testKafka, type ConsumedMessage } from './helpers/kafka.js';

const prefix = `trust-signed-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-trust-signed-reader');
const topic = {
  pam: `${prefix}access.grants.pam.v1`,
  custody: `${prefix}access.custody.v1`,
  ticketEvents: `${prefix}grantline.ticket-events.v1`,
  fulfillment: `${prefix}access.fulfillment.results.v1`,
  lifecycle: `${prefix}identity.lifecycle.v1`,
  dlq: `${prefix}grantline.dlq.v1`,
  alerts: `${prefix}grantline.alerts.v1`,
};
const ERIN_KEY = createPrivateKey(readFileSync(join(import.meta.dirname, '../../examples/keys/dev-operator-erin.pem'), 'utf8'));
const pamAdapter = freshKey('pam-adapter-1');
const secretsAdapter = freshKey('secrets-adapter-1');
const stranger = freshKey('pam-adapter-1'); // the registered kid, someone else's key
const workday = freshKey('workday');

let stubs: Stubs;
let stack: Stack;
const data = (m: ConsumedMessage): Record<string, unknown> => JSON.parse(m.value ?? 'null') as Record<string, unknown>;

async function eventually(condition: () => Promise<boolean>, timeoutMs = 45_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
  return true;
}

async function produce(name: string, messages: { key: string; value: unknown }[]): Promise<void> {
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    await producer.send(name, messages.map((m) => ({ key: m.key, value: JSON.stringify(m.value) })));
  } finally {
    await producer.disconnect();
  }
}

async function deadLetters(stage: string, key: string, count: number): Promise<Record<string, unknown>[]> {
  let found: Record<string, unknown>[] = [];
  await eventually(async () => {
    found = (await consumeAll(kafka, topic.dlq, { timeoutMs: 1_500 })).map(data).filter((d) => d.stage === stage && (d.original as { key: string | null }).key === key);
    return found.length >= count;
  });
  return found;
}

const reasons = (letters: Record<string, unknown>[]): string[] => letters.map((d) => String(d.reason).split(':')[0] ?? '').sort();

async function refusedAlerts(key: string): Promise<number> {
  return (await consumeAll(kafka, topic.alerts, { timeoutMs: 1_500 })).map(data).filter((a) => a.kind === 'message.refused' && a.key === key).length;
}

async function grantFor(subject: string): Promise<{ issue: StubIssue; grantId: string }> {
  const issue = seedJiraTicket(stubs.jira, nhiDualApproval({ subject: { type: 'service_account', id: subject } }));
  expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);
  let grantId: string | undefined;
  await eventually(async () => {
    grantId = (await consumeAll(kafka, topic.pam, { timeoutMs: 1_500 })).map(data).find((g) => (g.source as { ticketKey?: string }).ticketKey === issue.key && g.outcome === 'granted')?.grantId as string | undefined;
    return grantId !== undefined;
  });
  if (grantId === undefined) throw new Error(`no grant for ${issue.key}`);
  return { issue, grantId };
}

async function revocationsOf(grantId: string): Promise<Record<string, unknown>[]> {
  return (await consumeAll(kafka, topic.pam, { timeoutMs: 1_500 })).map(data).filter((m) => m.grantId === grantId && m.revocationId !== undefined);
}

async function fulfillmentsRecorded(grantId: string): Promise<Record<string, unknown>[]> {
  return (await consumeAll(kafka, topic.custody, { timeoutMs: 1_500 })).map(data).filter((e) => e.kind === 'fulfillment.reported' && e.grantId === grantId);
}

beforeAll(async () => {
  stubs = await startStubs();
  stack = await startStack({
    brokers: brokers().join(','),
    topicPrefix: prefix,
    stubs,
    adapters: [adapterTrust('pam', pamAdapter), adapterTrust('secrets', secretsAdapter)],
    edit: (tree) => {
      (tree.trust as Record<string, unknown>).identityFeeds = [{ id: 'workday', publicKeyPem: adapterTrust('-', workday).publicKeyPem }];
    },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await stubs?.close();
});

describe('signed inputs', () => {
  it('manual revoke: unsigned, signed with the wrong key, or in another person\'s name revokes nothing; the operator\'s own signature does', async () => {
    const { issue, grantId } = await grantFor('svc-orders');
    const key = `jira-main|${issue.id}`;
    const command = (actor: string): RevokeCommand => ({
      kind: 'revoke', commandId: `manual:${grantId}:${randomBytes(4).toString('hex')}`, connectorId: 'jira-main', ticketId: issue.id, grantId, trigger: 'manual', reason: 'trust test', actor, requestedAt: new Date().toISOString(),
    });
    await produce(topic.ticketEvents, [
      { key, value: command('erin') },
      { key, value: signOperatorCommand(topic.ticketEvents, command('erin'), 'erin', createPrivateKey(freshKey('x').input.keys[0]?.privateKeyPem ?? '')) },
      { key, value: signOperatorCommand(topic.ticketEvents, command('alice'), 'erin', ERIN_KEY) },
    ]);
    expect(reasons(await deadLetters('processor.trust', key, 3))).toEqual(['bad-signature', 'not-authorized', 'unsigned']);
    expect(await refusedAlerts(key)).toBeGreaterThanOrEqual(3);
    expect(await revocationsOf(grantId)).toEqual([]);

    await produce(topic.ticketEvents, [{ key, value: signOperatorCommand(topic.ticketEvents, command('erin'), 'erin', ERIN_KEY) }]);
    let revocations: Record<string, unknown>[] = [];
    expect(await eventually(async () => (revocations = await revocationsOf(grantId)).length > 0)).toBe(true);
    expect(revocations[0]).toMatchObject({ trigger: 'manual', actor: 'erin' });
  }, 120_000);

  it('fulfillment results: unsigned, unknown-key or another channel\'s adapter are not recorded; the pam adapter\'s is', async () => {
    const { grantId } = await grantFor('svc-orders');
    const result = (reference: string): FulfillmentResult => ({ grantId, action: 'provision', status: 'provisioned', adapter: 'pam', reference, at: new Date().toISOString() });
    await produce(topic.fulfillment, [
      { key: grantId, value: result('unsigned') },
      { key: grantId, value: sign(result('stranger'), stranger.keys) },
      { key: grantId, value: sign(result('secrets'), secretsAdapter.keys) },
    ]);
    expect(reasons(await deadLetters('lifecycle.trust', grantId, 3))).toEqual(['bad-signature', 'not-authorized', 'unsigned']);
    expect(await refusedAlerts(grantId)).toBeGreaterThanOrEqual(3);
    expect(await fulfillmentsRecorded(grantId)).toEqual([]);

    await produce(topic.fulfillment, [{ key: grantId, value: sign(result('genuine'), pamAdapter.keys) }]);
    let recorded: Record<string, unknown>[] = [];
    expect(await eventually(async () => (recorded = await fulfillmentsRecorded(grantId)).length > 0)).toBe(true);
    expect(recorded.map((e) => (e.data as { reference: string }).reference)).toEqual(['genuine']);
  }, 120_000);

  it('offboarding: unsigned, unknown-feed or misattributed events revoke nothing; the feed\'s own does', async () => {
    const { grantId } = await grantFor('svc-orders');
    const event = (source: string): IdentityLifecycleEvent => ({ type: 'principal.offboarded', principalId: 'alice', at: new Date().toISOString(), source });
    await produce(topic.lifecycle, [
      { key: 'alice', value: event('workday') },
      { key: 'alice', value: sign(event('workday'), freshKey('okta').keys) },
      { key: 'alice', value: sign(event('okta'), workday.keys) },
    ]);
    expect(reasons(await deadLetters('lifecycle.trust', 'alice', 3))).toEqual(['not-authorized', 'unknown-key', 'unsigned']);
    expect(await revocationsOf(grantId)).toEqual([]);

    await produce(topic.lifecycle, [{ key: 'alice', value: sign(event('workday'), workday.keys) }]);
    expect(await eventually(async () => (await revocationsOf(grantId)).length > 0)).toBe(true);
  }, 120_000);
});
