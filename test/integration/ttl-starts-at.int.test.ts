/**
 * `ttlStartsAt: fulfillment` on the real broker: an adapter's `provisioned` report makes grantline
 * publish a signed `grant.amended` after the grant; the lifecycle expires the grant at the amended
 * time (not the decision's), and `grantline evidence` shows both times. Topics under a prefix of
 * their own; the pipeline's clock is moved forward by the test.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startStack, startStubs, writeStackConfig, type Stack, type StackOptions, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket } from '../../dev/scenarios.js';
import { run as evidence } from '../../src/cli/commands/evidence.js';
import { createProducer, type InboundMessage } from '../../src/kafka/index.js';
import type { FulfillmentResult } from '../../src/model/index.js';
import { loadSigningKeys, sign } from '../../src/custody/index.js';
import { CE_TYPES } from '../../src/pipeline/cloudevents.js';
import { TopicTail } from '../../src/pipeline/state-view.js';
import { brokers, randomTopicSuffix, testKafka } from './helpers/kafka.js';

const EXAMPLES = resolve(fileURLToPath(new URL('../../examples/', import.meta.url)));
const prefix = `tsf-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-ttl-reader');
const work = mkdtempSync(join(tmpdir(), 'grantline-ttl-'));
const catalogFile = join(work, 'catalog.yaml');
const configFile = join(work, 'grantline.yaml');
const pam = `${prefix}access.grants.pam.v1`;
const fulfillment = `${prefix}access.fulfillment.results.v1`;

let offsetMs = 0;
const clock = (): Date => new Date(Date.now() + offsetMs);
const setClock = (at: number): void => {
  offsetMs = Math.max(offsetMs, at - Date.now());
};

interface Seen {
  type: string;
  value: Record<string, unknown>;
}
const seen: Seen[] = [];
let tail: TopicTail;
let stubs: Stubs;
let stack: Stack;

async function waitFor(match: (s: Seen) => boolean, timeoutMs = 30_000): Promise<Seen | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = seen.find(match);
    if (found || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  const catalog = parseYaml(readFileSync(join(EXAMPLES, 'catalog.yaml'), 'utf8')) as { entitlements: Record<string, unknown>[] };
  const entry = catalog.entitlements.find((e) => e.id === 'db-orders-prod-readwrite');
  if (!entry) throw new Error('the example catalog changed');
  entry.ttlStartsAt = 'fulfillment';
  writeFileSync(catalogFile, stringifyYaml(catalog));
  stubs = await startStubs();
  const options: StackOptions = {
    brokers: brokers().join(','),
    topicPrefix: prefix,
    stubs,
    clock,
    pipeline: { lifecycleTickMs: 200 },
    edit: (tree) => {
      tree.catalog = { path: catalogFile };
    },
  };
  writeStackConfig(options, configFile);
  stack = await startStack(options);
  tail = new TopicTail(kafka, pam, (m: InboundMessage) => {
    seen.push({ type: m.headers?.ce_type?.toString() ?? '', value: JSON.parse(m.value?.toString('utf8') ?? '{}') as Record<string, unknown> });
  });
  await tail.start();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await tail?.stop();
  await stubs?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('ttlStartsAt: fulfillment on the real broker', () => {
  it('amends the expiry when the adapter reports provisioned, expires at the amended time, and evidence shows both', async () => {
    const issue = seedJiraTicket(stubs.jira, nhiDualApproval({ ttlHours: 1 }));
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);
    const grant = await waitFor((s) => s.type === CE_TYPES.grantIssued && (s.value.source as { ticketKey: string }).ticketKey === issue.key);
    if (!grant) throw new Error('no grant');
    const grantId = String(grant.value.grantId);
    expect(grant.value.ttlStartsAt).toBe('fulfillment');
    const decidedExpiry = Date.parse(String(grant.value.expiresAt));

    // The adapter provisions 20 minutes after the decision.
    const provisionedAt = Date.parse(String(grant.value.validFrom)) + 20 * 60_000;
    setClock(provisionedAt);
    const result: FulfillmentResult = { grantId, action: 'provision', status: 'provisioned', adapter: 'cyberark-pam', reference: 'sess-7', at: new Date(provisionedAt).toISOString() };
    const producer = createProducer(kafka);
    await producer.connect();
    // Signed by the pam adapter's key, which the example config registers (trust.adapters).
    const adapterKey = loadSigningKeys({ activeKid: 'example-pam-1', keys: [{ kid: 'example-pam-1', privateKeyPem: readFileSync(fileURLToPath(new URL('../../examples/keys/dev-adapter-pam.pem', import.meta.url)), 'utf8') }] });
    await producer.send(fulfillment, [{ key: grantId, value: JSON.stringify(sign(result, adapterKey)), headers: {} }]);
    await producer.disconnect();

    const amended = await waitFor((s) => s.type === CE_TYPES.grantAmended && s.value.grantId === grantId);
    expect(amended?.value).toMatchObject({ previousExpiresAt: grant.value.expiresAt, provisionedAt: new Date(provisionedAt).toISOString(), expiresAt: new Date(provisionedAt + 3600_000).toISOString() });

    // Past the decision-time expiry, before the amended one: still in force.
    setClock(decidedExpiry + 60_000);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(seen.filter((s) => s.type === CE_TYPES.grantRevoked && s.value.grantId === grantId)).toEqual([]);

    setClock(provisionedAt + 3600_000 + 1_000);
    const revoked = await waitFor((s) => s.type === CE_TYPES.grantRevoked && s.value.grantId === grantId);
    expect(revoked?.value.trigger).toBe('ttl-expired');

    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    let code: number;
    try {
      code = await evidence(['--grant', grantId, '--config', configFile]);
    } finally {
      log.mockRestore();
    }
    const text = out.join('\n');
    expect(text).toContain(`expires ${String(grant.value.expiresAt)}`);
    expect(text).toContain(`expiry moved from ${String(grant.value.expiresAt)} to ${new Date(provisionedAt + 3600_000).toISOString()}`);
    expect(text).toMatch(/✔ amendment am_/);
    expect(code).toBe(0);
  }, 180_000);
});
