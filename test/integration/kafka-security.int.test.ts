/**
 * grantline against the test broker's secured listeners (`dev/kafka/start.sh --secure`): a ticket
 * goes end to end over SCRAM-SHA-512 + TLS, over mTLS and over OAUTHBEARER (tokens from a local
 * token endpoint, checked by the broker's OIDC validator against its JWKS file); and `serve`
 * stops at once, in one line naming the broker and what failed, on a refused password, an
 * untrusted CA, a missing client certificate and a plaintext client on a TLS port, never printing
 * a secret.
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { startStack, startStubs, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket } from '../../dev/scenarios.js';
import { startOAuthStub, type OAuthStub } from '../../dev/stubs/oauth-stub.js';
import { parseConfig } from '../../src/config/index.js';
import { Jwks, verifyMessage } from '../../src/custody/index.js';
import { awaitKafka, checkKafka, createKafka, kafkaSettings, type Kafka } from '../../src/kafka/index.js';
import { consumeAll, randomTopicSuffix, testLogger } from './helpers/kafka.js';
import { grantline, makeStrangerCa, mtlsKafka, scramKafka, secure, serve, trustTestCa, type ServeRun } from './helpers/secure.js';
import { connectorTypes } from '../../connectors/registry.js';

const repo = resolve(import.meta.dirname, '../..');
let dir: string;
let stubs: Stubs;
const runs: ServeRun[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grantline-kafka-security-'));
  stubs = await startStubs();
});

afterEach(() => {
  for (const run of runs.splice(0)) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
});

afterAll(async () => {
  await stubs?.close();
});

/** A kafka client made from a `kafka` config section, as serve and the CLI make theirs. */
function clientFor(kafka: Record<string, unknown>, env: Record<string, string> = {}): Kafka {
  const config = parseConfig(
    { kafka, catalog: { path: 'c' }, directory: { path: 'd' }, signing: { activeKid: 'k', keys: [{ kid: 'k', privateKeyPem: '${file:examples/keys/dev-signing-key.pem}' }] }, trust: { internal: { activeKid: 'i1', keys: [{ kid: 'i1', secret: 'dGVzdC1pbnRlcm5hbC1tYWMta2V5LTMyLWJ5dGVzLSE=' }] } }, policy: { version: 'it' } },
    { connectorTypes, baseDir: repo, env: { ...process.env, ...env, KAFKA_BROKERS: '' } as Record<string, string>, source: 'test' },
  );
  return createKafka(kafkaSettings(config.kafka, { clientIdSuffix: '-it-reader' }), testLogger());
}

/**
 * Starts the stack with `kafka` merged into the example config, files a Jira ticket with two
 * approvals, and expects its signed grant on the pam topic, read back over the same listener.
 */
async function ticketEndToEnd(kafka: Record<string, unknown>, env: Record<string, string> = {}): Promise<void> {
  const prefix = `sec-${randomTopicSuffix()}.`;
  // The harness resolves ${env:…} from this process's environment.
  Object.assign(process.env, env);
  const stack = await startStack({ brokers: secure.plaintextBroker(), topicPrefix: prefix, stubs, edit: (tree) => Object.assign(tree.kafka as object, kafka) });
  try {
    const jwks = Jwks.parse(await (await fetch(`${stack.url}/.well-known/jwks.json`)).json());
    const issue = seedJiraTicket(stubs.jira, nhiDualApproval({ ttlHours: 2 }));
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);
    const reader = createKafka(kafkaSettings(stack.config.kafka, { clientIdSuffix: '-it-reader' }), testLogger());
    const grants = await consumeAll(reader, `${prefix}access.grants.pam.v1`, { until: (m) => (m.value ?? '').includes(issue.key), timeoutMs: 45_000 });
    const grant = grants.map((m) => JSON.parse(m.value ?? 'null') as Record<string, unknown>).find((g) => (g.source as { ticketKey?: string }).ticketKey === issue.key);
    expect(grant?.outcome).toBe('granted');
    expect(verifyMessage(grant, jwks).ok).toBe(true);
    expect(await checkKafka(reader, 5_000)).toEqual({ ok: true });
  } finally {
    await stack.stop();
    for (const name of Object.keys(env)) delete process.env[name];
  }
}

describe('a ticket end to end over a secured listener', () => {
  it('SCRAM-SHA-512 over TLS (the service, its readiness probe and a reader all on the SASL_SSL port)', async () => {
    await ticketEndToEnd(scramKafka('scram-sha-512'));
  });

  it('mTLS: a client certificate signed by the CA the broker trusts', async () => {
    await ticketEndToEnd(mtlsKafka());
  });

  it('OAUTHBEARER: a token from the token endpoint, validated by the broker, fetched once and shared', async () => {
    let oauth: OAuthStub | undefined;
    try {
      oauth = await startOAuthStub({
        clientId: 'grantline-it',
        clientSecret: 'oauth-client-secret-it',
        signingKeyPem: secure.oauthSigningKey(),
        issuer: secure.oauthIssuer(),
        audience: secure.oauthAudience(),
      });
      const stub = oauth;
      await ticketEndToEnd({
        brokers: [secure.saslSslBroker()],
        ssl: trustTestCa(),
        sasl: { mechanism: 'oauthbearer', tokenEndpoint: stub.tokenEndpoint, clientId: 'grantline-it', clientSecret: '${env:GRANTLINE_IT_OAUTH_SECRET}', scope: 'kafka' },
      }, { GRANTLINE_IT_OAUTH_SECRET: 'oauth-client-secret-it' });
      // The service and the reader each fetched one token, reused for all of their connections.
      expect(stub.issued).toHaveLength(2);
    } finally {
      await oauth?.close();
    }
  });

  it('OAUTHBEARER: the broker refuses a token for another audience, and the start check says so', async () => {
    const oauth = await startOAuthStub({ clientId: 'c', clientSecret: 's', signingKeyPem: secure.oauthSigningKey(), issuer: secure.oauthIssuer(), audience: 'some-other-service' });
    try {
      const kafka = clientFor({ brokers: [secure.saslSslBroker()], ssl: trustTestCa(), sasl: { mechanism: 'oauthbearer', tokenEndpoint: oauth.tokenEndpoint, clientId: 'c', clientSecret: 's' } });
      // At once, not at the deadline: a refused token is not retried like an outage.
      await expect(awaitKafka(kafka, { deadlineMs: 60_000 })).rejects.toThrow(
        `kafka ${secure.saslSslBroker()}: SASL OAUTHBEARER authentication failed: the broker refused the token (invalid_token): check kafka.sasl.tokenEndpoint, clientId and scope, and the issuer and audience the broker expects`,
      );
    } finally {
      await oauth.close();
    }
  });

  it('SCRAM-SHA-256 and PLAIN on the same listener pass the start check', async () => {
    for (const mechanism of ['scram-sha-256', 'plain'] as const) {
      await expect(awaitKafka(clientFor(scramKafka(mechanism)), { deadlineMs: 15_000 })).resolves.toBeUndefined();
    }
  });
});

/** Writes a minimal serve config with these `kafka` fields; returns its path. */
function serveConfig(name: string, kafka: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringifyYaml({
      kafka: { topicPrefix: `it-sec-${randomBytes(3).toString('hex')}.`, partitions: 1, ...kafka },
      http: { host: '127.0.0.1', port: 0 },
      catalog: { path: join(repo, 'examples/catalog.yaml') },
      directory: { path: join(repo, 'examples/directory.yaml') },
      signing: { activeKid: 'dev-example-1', keys: [{ kid: 'dev-example-1', privateKeyPem: `\${file:${join(repo, 'examples/keys/dev-signing-key.pem')}}` }] },
      trust: {
        internal: { activeKid: 'i1', keys: [{ kid: 'i1', secret: 'dGVzdC1pbnRlcm5hbC1tYWMta2V5LTMyLWJ5dGVzLSE=' }] },
        operators: [{ id: 'erin', publicKeyPem: createPublicKey(readFileSync(join(repo, 'examples/keys/dev-operator-erin.pem'), 'utf8')).export({ type: 'spki', format: 'pem' }).toString() }],
      },
      policy: { version: 'it' },
    }),
  );
  return file;
}

/** Runs serve with a config that cannot connect; expects exit 1 and exactly one stderr line. */
async function refusedStart(name: string, kafka: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Promise<{ line: string; all: string }> {
  const run = serve(serveConfig(name, kafka), env);
  runs.push(run);
  // The bound the issue sets for a refused start, not a timing assertion: a hang is the failure.
  const code = await run.exitWithin(30_000);
  expect(code, `serve did not stop:\n${run.stderr()}\n${run.stdout()}`).toBe(1);
  const lines = run.stderr().split('\n').filter((l) => l.trim() !== '');
  expect(lines, run.stderr()).toHaveLength(1);
  return { line: lines[0] ?? '', all: run.stdout() + run.stderr() };
}

describe('serve refuses a connection it cannot use, in one line, without a secret', () => {
  it('a wrong password', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const { line, all } = await refusedStart(
      'wrong-password',
      { ...scramKafka('scram-sha-512'), sasl: { mechanism: 'scram-sha-512', username: secure.username(), password: '${env:GRANTLINE_IT_WRONG_PASSWORD}' } },
      { ...process.env, GRANTLINE_IT_WRONG_PASSWORD: wrong },
    );
    expect(line).toBe(`grantline serve: failed to start (kafka-topics): kafka ${secure.saslSslBroker()}: SASL authentication failed (check kafka.sasl.username/password)`);
    expect(all).not.toContain(wrong);
    expect(all).not.toContain(secure.password());
  });

  it('a CA that did not sign the broker certificate', async () => {
    const { line, all } = await refusedStart('untrusted-ca', { ...scramKafka('scram-sha-512'), ssl: { ca: `\${file:${makeStrangerCa(dir)}}` } });
    expect(line).toMatch(new RegExp(`^grantline serve: failed to start \\(kafka-topics\\): kafka ${secure.saslSslBroker()}: TLS: certificate not trusted \\(kafka.ssl.ca\\) \\[[A-Z_]+\\]$`));
    expect(all).not.toContain(secure.password());
  });

  it('an mTLS listener and no client certificate', async () => {
    const { line } = await refusedStart('no-client-cert', { brokers: [secure.mtlsBroker()], ssl: trustTestCa() });
    expect(line).toBe(`grantline serve: failed to start (kafka-topics): kafka ${secure.mtlsBroker()}: TLS: the broker requires a client certificate (kafka.ssl.cert and kafka.ssl.key)`);
  });

  it('a plaintext client on the TLS port', async () => {
    const { line } = await refusedStart('plaintext-on-tls', { brokers: [secure.saslSslBroker()] });
    expect(line).toBe(`grantline serve: failed to start (kafka-topics): kafka ${secure.saslSslBroker()}: connection closed during handshake: is this a TLS listener? (kafka.ssl is not set)`);
  });
});

describe('the CLI commands that read Kafka say why they cannot, in one line, without a secret', () => {
  it.each([
    ['evidence', ['evidence', '--ticket', 'ACC-1']],
    ['revoke', ['revoke', 'gr_unknown', '--reason', 'test', '--actor', 'erin', '--key', join(repo, 'examples/keys/dev-operator-erin.pem')]],
  ])('%s with a wrong password exits 1', async (command, args) => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const config = serveConfig(`cli-${command}`, {
      ...scramKafka('scram-sha-512'),
      sasl: { mechanism: 'scram-sha-512', username: secure.username(), password: '${env:GRANTLINE_IT_WRONG_PASSWORD}' },
    });
    const run = grantline([...args, '--config', config], { ...process.env, GRANTLINE_IT_WRONG_PASSWORD: wrong });
    runs.push(run);
    expect(await run.exitWithin(30_000), run.stderr()).toBe(1);
    const lines = run.stderr().split('\n').filter((l) => l.trim() !== '');
    expect(lines, run.stderr()).toEqual([`grantline ${command}: kafka ${secure.saslSslBroker()}: SASL authentication failed (check kafka.sasl.username/password)`]);
    expect(run.stdout() + run.stderr()).not.toContain(wrong);
  });
});
