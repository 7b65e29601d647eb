/**
 * Least-privilege Kafka ACLs enforced by a real broker. Starts its own broker (never the shared
 * one) with `start.sh --acls`: StandardAuthorizer, no ACL means no access, one SCRAM principal per
 * role. The ACLs come from `grantline acls --apply`, run as the PLAINTEXT super user; then the
 * pipeline runs with each role under its own principal, and an adapter principal that writes where
 * it may not is refused by the broker.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackConfig, startStack, startStubs, writeStackConfig, type Stack, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket } from '../../dev/scenarios.js';
import { run as aclsCli } from '../../src/cli/commands/acls.js';
import { run as revokeCli } from '../../src/cli/commands/revoke.js';
import { adapterGroupPrefix, createKafka, createProducer, kafkaSettings, TopicTail, topicNames, type Kafka } from '../../src/kafka/index.js';
import { testLogger } from './helpers/kafka.js';
import { until } from './helpers/wait.js';

const run = promisify(execFile);
const KAFKA_DIR = fileURLToPath(new URL('../../dev/kafka/', import.meta.url));
/** This test's own ports: the PLAINTEXT listener, then controller, SASL_SSL and mTLS. */
const FIRST_PORT = Number(process.env.GRANTLINE_ACL_TEST_PORT ?? 19210);

const prefix = `acl-${randomBytes(4).toString('hex')}.`;
const t = topicNames(prefix);
const ADAPTER = 'pg-orders';
const users = { ingress: secret(), processor: secret(), lifecycle: secret(), operator: secret(), feed: secret(), adapter: secret() };

function secret(): string {
  return randomBytes(12).toString('hex');
}

let data = '';
let port = 0;
let stubs: Stubs | undefined;
const stacks: Stack[] = [];
const clients: { stop: () => Promise<void> }[] = [];

/** Starts the broker on the first free block of four ports from FIRST_PORT; start.sh keeps the chosen ones with the data dir. */
async function startBroker(): Promise<void> {
  for (let base = FIRST_PORT; base < FIRST_PORT + 80; base += 10) {
    data = mkdtempSync(join(tmpdir(), 'grantline-acls-kafka.'));
    ['controller', 'sasl-ssl', 'mtls'].forEach((name, i) => writeFileSync(join(data, `${name}.port`), String(base + 1 + i)));
    const scram = Object.entries(users).flatMap(([name, pw]) => ['--scram-user', `${name}:${pw}`]);
    try {
      await run(join(KAFKA_DIR, 'start.sh'), ['--port', String(base), '--data', data, '--acls', ...scram], { timeout: 100_000 });
      port = base;
      return;
    } catch (err) {
      rmSync(data, { recursive: true, force: true });
      if ((err as { code?: unknown }).code !== 3) throw err;
    }
  }
  throw new Error('no free ports for the ACL test broker');
}

/** The `kafka` config section of a role's principal on the SASL_SSL listener. */
function asPrincipal(name: keyof typeof users): (tree: Record<string, unknown>) => void {
  return (tree) => {
    tree.kafka = {
      ...(tree.kafka as Record<string, unknown>),
      brokers: [`127.0.0.1:${port + 2}`],
      ssl: { ca: `\${file:${join(data, 'secure', 'ca.pem')}}` },
      sasl: { mechanism: 'scram-sha-512', username: name, password: users[name] },
    };
  };
}

/** A client connected as the role's principal, made from the config as grantline makes its own. */
function principalKafka(name: keyof typeof users): Kafka {
  if (!stubs) throw new Error('stubs not started');
  const config = stackConfig({ brokers: `127.0.0.1:${port + 2}`, topicPrefix: prefix, stubs, edit: asPrincipal(name) });
  return createKafka(kafkaSettings(config.kafka), testLogger());
}

beforeAll(async () => {
  await startBroker();
  stubs = await startStubs();
  // As an operator would: `grantline acls --apply`, connected as the PLAINTEXT super user.
  const adminConfig = join(data, 'admin.yaml');
  writeStackConfig({ brokers: `127.0.0.1:${port}`, topicPrefix: prefix, stubs }, adminConfig);
  const errors: string[] = [];
  const io = { out: () => undefined, err: (line: string) => errors.push(line) };
  const roles = [
    ['--role', 'ingress', '--principal', 'ingress'],
    ['--role', 'processor', '--principal', 'User:processor'],
    ['--role', 'lifecycle', '--principal', 'lifecycle'],
    ['--role', 'operator', '--principal', 'operator'],
    ['--role', 'identity-feed', '--principal', 'feed'],
    ['--role', 'adapter', '--channel', 'pam', '--adapter-name', ADAPTER, '--principal', 'adapter'],
  ];
  const codes = await withoutSharedBroker(() => Promise.all(roles.map((args) => aclsCli([...args, '--config', adminConfig, '--apply'], io))));
  expect(codes, errors.join('\n')).toEqual(roles.map(() => 0));
});

/** Runs a CLI command with KAFKA_BROKERS (the shared test broker, which would override the config's brokers) unset. */
async function withoutSharedBroker<T>(action: () => Promise<T>): Promise<T> {
  const shared = process.env.KAFKA_BROKERS;
  delete process.env.KAFKA_BROKERS;
  try {
    return await action();
  } finally {
    process.env.KAFKA_BROKERS = shared;
  }
}

afterAll(async () => {
  for (const c of clients) await c.stop().catch(() => undefined);
  for (const s of stacks.reverse()) await s.stop().catch(() => undefined);
  await stubs?.close();
  if (port !== 0) await run(join(KAFKA_DIR, 'stop.sh'), ['--port', String(port), '--data', data], { timeout: 60_000 }).catch(() => undefined);
  rmSync(join(KAFKA_DIR, 'run', 'ports', String(port)), { force: true });
  if (data !== '') rmSync(data, { recursive: true, force: true });
});

describe('Kafka ACLs per role on a broker that enforces them', () => {
  it('runs the happy path with only the ACLs of each role: ingress writes, the processor grants in a transaction, the adapter reads, the operator revokes', async () => {
    if (!stubs) throw new Error('stubs not started');
    // Ingress starts first and creates every topic, as a fresh deployment does.
    const ingress = await startStack({ brokers: `127.0.0.1:${port + 2}`, topicPrefix: prefix, stubs, roles: ['ingress'], instanceId: 'ingress-1', pipeline: { pollIntervalMs: 0 }, edit: asPrincipal('ingress') });
    stacks.push(ingress);
    stacks.push(await startStack({ brokers: `127.0.0.1:${port + 2}`, topicPrefix: prefix, stubs, roles: ['processor'], instanceId: 'processor-1', edit: asPrincipal('processor') }));
    const lifecycle = await startStack({ brokers: `127.0.0.1:${port + 2}`, topicPrefix: prefix, stubs, roles: ['lifecycle'], instanceId: 'lifecycle-1', edit: asPrincipal('lifecycle') });
    stacks.push(lifecycle);

    const issue = seedJiraTicket(stubs.jira, nhiDualApproval({ ttlHours: 2 }));
    const res = await post(`${ingress.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(ingress.config)));
    expect(res.status).toBe(202);

    // The adapter reads its channel's grant topic with its own consumer groups.
    const grants: Record<string, unknown>[] = [];
    const tail = new TopicTail(principalKafka('adapter'), t.grants('pam'), (m) => grants.push(JSON.parse(m.value?.toString() ?? 'null') as Record<string, unknown>), adapterGroupPrefix(prefix, ADAPTER));
    clients.push(tail);
    await tail.start();
    await until(() => grants.some((g) => (g.source as { ticketKey?: string }).ticketKey === issue.key), 40_000);
    const grant = grants.find((g) => (g.source as { ticketKey?: string }).ticketKey === issue.key);
    expect(grant?.outcome).toBe('granted');
    expect(grant?.entitlementId).toBe('db-orders-prod-readwrite');

    // An operator revokes it with `grantline revoke` under its own principal; the adapter sees the revocation.
    const operatorConfig = join(data, 'operator.yaml');
    writeStackConfig({ brokers: `127.0.0.1:${port + 2}`, topicPrefix: prefix, stubs, edit: asPrincipal('operator') }, operatorConfig);
    const grantId = String(grant?.grantId);
    expect(await withoutSharedBroker(() => revokeCli([grantId, '--reason', 'ACL test', '--actor', 'erin', '--key', fileURLToPath(new URL('../../examples/keys/dev-operator-erin.pem', import.meta.url)), '--config', operatorConfig]))).toBe(0);
    await until(() => grants.some((g) => g.grantId === grantId && g.outcome === 'revoked'), 20_000);
    expect(grants.filter((g) => g.grantId === grantId).map((g) => g.outcome)).toEqual(['granted', 'revoked']);
    // The lifecycle role runs under its own principal all along.
    expect((await fetch(`${lifecycle.url}/readyz`)).status).toBe(200);
  });

  it('lets an identity feed append identity events and nothing else', async () => {
    const producer = createProducer(principalKafka('feed'));
    clients.push({ stop: () => producer.disconnect() });
    await producer.connect();
    // An event for nobody grantline knows: the lifecycle role reads it and finds no grant to revoke.
    await producer.send(t.lifecycle, [{ key: 'nobody', value: '{}' }]);
    const refused = await producer.send(t.ticketEvents, [{ key: 'jira-main|ACC-1', value: '{}' }]).then(
      () => null,
      (err: unknown) => err as { message?: string },
    );
    expect(refused?.message).toBe('Not authorized to access topics: [Topic authorization failed]');
  });

  it('refuses an adapter principal that writes a ticket event or a ticket state; its own results topic stays open to it', async () => {
    const producer = createProducer(principalKafka('adapter'));
    clients.push({ stop: () => producer.disconnect() });
    await producer.connect();
    // Allowed: its fulfillment report (the refusals below are the ACLs, not a broken connection).
    await producer.send(t.fulfillmentResults, [{ key: 'gr_x', value: '{}' }]);
    for (const topic of [t.ticketEvents, t.ticketState]) {
      const refused = await producer.send(topic, [{ key: 'jira-main|ACC-1', value: '{"forged":true}' }]).then(
        () => null,
        (err: unknown) => err as { retriable?: boolean; message?: string },
      );
      expect(refused, topic).not.toBeNull();
      // kafkajs gives up at once (not retriable) with the broker's TOPIC_AUTHORIZATION_FAILED text.
      expect(refused?.message, topic).toBe('Not authorized to access topics: [Topic authorization failed]');
      expect(refused?.retriable, topic).toBe(false);
    }
  });
});
