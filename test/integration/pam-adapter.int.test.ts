import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdapter, type AdapterEvent, type AdapterHandle } from '../../adapters/kit/index.js';
import { examplePamTarget } from '../../examples/pam-adapter.js';
import { createProducer } from '../../src/kafka/index.js';
import { startStack, startStubs, type Stack, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket } from '../../dev/scenarios.js';
import { adapterTrust, freshKey } from '../../dev/signed-grants.js';
import { brokers, consumeAll, randomTopicSuffix, testKafka, testLogger } from './helpers/kafka.js';
import { until } from './helpers/wait.js';

const prefix = `adapter-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-adapter-it');
let stubs: Stubs;
let stack: Stack;
let adapter: AdapterHandle;
const target = examplePamTarget();
const events: AdapterEvent[] = [];

beforeAll(async () => {
  stubs = await startStubs();
  const key = freshKey('example-pam-it');
  // grantline acts only on results signed by an adapter registered for the channel.
  stack = await startStack({ brokers: brokers().join(','), topicPrefix: prefix, stubs, adapters: [adapterTrust('pam', key)] });
  adapter = await runAdapter({
    name: 'example-pam',
    channel: 'pam',
    brokers: brokers(),
    kafka: { topicPrefix: prefix },
    jwks: `${stack.url}/.well-known/jwks.json`,
    signingKey: key.input,
    target,
    logger: testLogger(),
    onEvent: (e) => events.push(e),
  });
});

afterAll(async () => {
  await adapter?.stop();
  await stack?.stop();
  await stubs?.close();
});

describe('the example PAM adapter (the kit and a 30-line target)', () => {
  it('provisions a verified grant, reports it, and grantline records the fulfillment on the ticket', async () => {
    const issue = seedJiraTicket(stubs.jira, nhiDualApproval());
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);
    expect(await until(() => events.some((e) => e.type === 'provisioned'))).toBe(true);
    const provisioned = events.find((e) => e.type === 'provisioned');
    const grantId = provisioned?.type === 'provisioned' ? provisioned.grantId : '';
    expect([...target.held.values()].map((h) => [h.privilege.key, h.grantIds])).toEqual([['svc-orders@db-orders-prod-readwrite', [grantId]]]);
    expect(await until(() => stubs.jira.state.comments(issue.id).some((c) => c.text.includes(`${grantId} provisioned`)))).toBe(true);
  });

  it('refuses a grant forged on the topic: nothing is provisioned or reported for it', async () => {
    const [original] = (await consumeAll(kafka, `${prefix}access.grants.pam.v1`, { timeoutMs: 2_000 })).filter((m) => m.value?.includes('"outcome":"granted"'));
    expect(original).toBeDefined();
    const grant = JSON.parse(original?.value ?? '{}') as Record<string, unknown>;
    // Someone with write access to the topic widens the grant and replays the signed headers.
    const forged = { ...grant, grantId: 'gr_forged', subject: { type: 'service_account', id: 'svc-orphan' }, ttlSeconds: 7 * 86400 };
    const producer = createProducer(kafka);
    await producer.connect();
    await producer.send(`${prefix}access.grants.pam.v1`, [{ key: 'gr_forged', value: JSON.stringify(forged), headers: original?.headers ?? {} }]);
    await producer.disconnect();

    expect(await until(() => events.some((e) => e.type === 'refused' && e.subject === 'gr_forged'))).toBe(true);
    const refusal = events.find((e) => e.type === 'refused' && e.subject === 'gr_forged');
    expect(refusal?.type === 'refused' && refusal.failed.map((c) => c.name)).toContain('signature-valid');
    await adapter.reconcileNow();
    expect([...target.held.keys()]).toEqual(['svc-orders@db-orders-prod-readwrite']);
    const results = (await consumeAll(kafka, `${prefix}access.fulfillment.results.v1`, { timeoutMs: 2_000 })).map((m) => JSON.parse(m.value ?? '{}') as { grantId: string });
    expect(results.filter((r) => r.grantId === 'gr_forged')).toEqual([]);
  });
});
