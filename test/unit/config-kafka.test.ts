import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, Secret } from '../../src/config/index.js';
import { grantlineTopicSpecs, kafkaSettings, topicNames } from '../../src/kafka/index.js';
import { connectorTypes } from '../../connectors/registry.js';

// Test certificates made per run with openssl (as dev/kafka/secure-material.sh does), never kept.
let dir: string;
const pem = (name: string) => readFileSync(join(dir, name), 'utf8');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'grantline-config-kafka-'));
  writeFileSync(join(dir, 'signing.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test CA');
  openssl('req', '-x509', ...ec, '-keyout', 'client.key', '-out', 'client.pem', '-days', '1', '-subj', '/CN=client');
  writeFileSync(join(dir, 'other.key'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'encrypted.key'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }));
  writeFileSync(join(dir, 'not-pem.txt'), 'hello\n');
});

function tree(kafka: Record<string, unknown>): Record<string, unknown> {
  return {
    kafka: { brokers: ['127.0.0.1:9093'], ...kafka },
    catalog: { path: 'catalog.yaml' },
    directory: { path: 'directory.yaml' },
    signing: { activeKid: 'k1', keys: [{ kid: 'k1', privateKeyPem: '${file:signing.pem}' }] },
    trust: { internal: { activeKid: 'i1', keys: [{ kid: 'i1', secret: 'dGVzdC1pbnRlcm5hbC1tYWMta2V5LTMyLWJ5dGVzLSE=' }] } },
    policy: { version: 'v1' },
  };
}

const parse = (kafka: Record<string, unknown>, env: Record<string, string> = {}) => parseConfig(tree(kafka), { connectorTypes, baseDir: dir, env });

function issuesOf(kafka: Record<string, unknown>, env: Record<string, string> = {}): string[] {
  try {
    parse(kafka, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.problem}`);
  }
  throw new Error('expected a ConfigError');
}

describe('kafka.ssl', () => {
  it('takes true as TLS with the public CAs, and false or nothing as plaintext', () => {
    expect(parse({ ssl: true }).kafka.ssl).toEqual({ rejectUnauthorized: true });
    expect(parse({ ssl: false }).kafka.ssl).toBeUndefined();
    expect(parse({}).kafka.ssl).toBeUndefined();
  });

  it('reads the CA, the client certificate and key from files; the key becomes a Secret that never prints', () => {
    const config = parse({ ssl: { ca: '${file:ca.pem}', cert: '${file:client.pem}', key: '${file:client.key}', servername: 'kafka.internal' } });
    const ssl = config.kafka.ssl;
    expect(ssl?.ca).toBe(pem('ca.pem').trimEnd());
    expect(ssl?.cert).toBe(pem('client.pem').trimEnd());
    expect(ssl?.key).toBeInstanceOf(Secret);
    expect(ssl?.key?.reveal()).toBe(pem('client.key').trimEnd());
    expect(ssl?.rejectUnauthorized).toBe(true);
    const keyBody = pem('client.key').split('\n')[1] ?? '';
    expect(JSON.stringify(config) + inspect(config, { depth: null })).not.toContain(keyBody);
  });

  it('names every bad PEM field with its path', () => {
    expect(issuesOf({ ssl: { ca: '${file:not-pem.txt}', cert: '${file:client.key}', key: '${file:client.pem}' } })).toEqual([
      'kafka.ssl.ca: not a PEM certificate: expected PEM certificates ("-----BEGIN CERTIFICATE-----"; use ${file:PATH})',
      'kafka.ssl.cert: not a PEM certificate: expected PEM certificates ("-----BEGIN CERTIFICATE-----"; use ${file:PATH})',
      'kafka.ssl.key: not a PEM private key ("-----BEGIN PRIVATE KEY-----", PKCS#8, or PKCS#1 RSA / SEC1 EC)',
    ]);
  });

  it('wants the certificate and its key together, and matching', () => {
    expect(issuesOf({ ssl: { cert: '${file:client.pem}' } })).toEqual(['kafka.ssl.key: required when kafka.ssl.cert is set (the client certificate needs its private key)']);
    expect(issuesOf({ ssl: { key: '${file:client.key}' } })).toEqual(['kafka.ssl.cert: required when kafka.ssl.key is set (the private key needs its client certificate)']);
    expect(issuesOf({ ssl: { cert: '${file:client.pem}', key: '${file:other.key}' } })).toEqual(['kafka.ssl.key: does not belong to kafka.ssl.cert (the first certificate)']);
    expect(issuesOf({ ssl: { cert: '${file:client.pem}', key: '${file:encrypted.key}' } })).toEqual([
      'kafka.ssl.key: an encrypted private key is not supported; give the key unencrypted (kept in a file only grantline can read)',
    ]);
  });

  it('refuses unknown fields and non-boolean values', () => {
    expect(issuesOf({ ssl: { ca: '${file:ca.pem}', verify: false } })).toEqual(['kafka.ssl.verify: unknown field']);
    expect(issuesOf({ ssl: 'yes' })).toEqual(['kafka.ssl: expected true, false or { ca, cert, key, rejectUnauthorized, servername }']);
  });
});

describe('kafka.sasl', () => {
  it('takes SCRAM with the password as a Secret from the environment', () => {
    const config = parse({ ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'grantline', password: '${env:KAFKA_PASSWORD}' } }, { KAFKA_PASSWORD: 'pw-from-env' });
    expect(config.kafka.sasl).toMatchObject({ mechanism: 'scram-sha-512', username: 'grantline' });
    const sasl = config.kafka.sasl as { password: Secret };
    expect(sasl.password.reveal()).toBe('pw-from-env');
    expect(JSON.stringify(config)).not.toContain('pw-from-env');
  });

  it('takes OAUTHBEARER client credentials, with Basic client authentication by default', () => {
    const config = parse({
      ssl: true,
      sasl: { mechanism: 'oauthbearer', tokenEndpoint: 'https://idp.example.com/oauth2/token', clientId: 'grantline', clientSecret: 'shh', scope: 'kafka', extensions: { logicalCluster: 'lkc-abc', identityPoolId: 'pool-1' } },
    });
    expect(config.kafka.sasl).toMatchObject({ mechanism: 'oauthbearer', clientAuth: 'basic', scope: 'kafka', extensions: { logicalCluster: 'lkc-abc', identityPoolId: 'pool-1' } });
  });

  it('names each bad SASL field with its path', () => {
    expect(issuesOf({ ssl: true, sasl: { mechanism: 'gssapi' } })).toEqual(['kafka.sasl.mechanism: expected plain, scram-sha-256, scram-sha-512 or oauthbearer']);
    expect(issuesOf({ ssl: true, sasl: { mechanism: 'plain', username: 'u' } })).toEqual(['kafka.sasl.password: expected a secret string (use ${env:NAME} or ${file:PATH})']);
    expect(
      issuesOf({ ssl: true, sasl: { mechanism: 'oauthbearer', tokenEndpoint: 'http://idp.example.com/token', clientId: 'c', clientSecret: 's', extensions: { auth: 'x', 'bad-name': 'y' } } }),
    ).toEqual([
      'kafka.sasl.tokenEndpoint: expected an https:// URL (plain http:// only on 127.0.0.1/localhost: the client secret is sent to it)',
      'kafka.sasl.extensions.auth: "auth" is reserved',
      'kafka.sasl.extensions.bad-name: an extension name is letters only',
    ]);
  });

  it('refuses SASL without TLS unless allowPlaintextSasl says it is a local test broker', () => {
    const sasl = { mechanism: 'plain', username: 'u', password: 'p' };
    expect(issuesOf({ sasl })).toEqual([
      'kafka.ssl: required when kafka.sasl is set: SASL over plaintext exposes the credentials or the session (set kafka.allowPlaintextSasl: true only for a local test broker)',
    ]);
    expect(parse({ sasl, allowPlaintextSasl: true }).kafka.sasl?.mechanism).toBe('plain');
  });
});

describe('kafka replication', () => {
  it('takes replicationFactor and minInsyncReplicas, and refuses a minimum above the replicas', () => {
    expect(parse({ replicationFactor: '3', minInsyncReplicas: 2 }).kafka).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(issuesOf({ replicationFactor: 2, minInsyncReplicas: 3 })).toEqual(['kafka.minInsyncReplicas: must be at most kafka.replicationFactor (2), or no write could ever be acknowledged']);
    expect(issuesOf({ replicationFactor: 0 })).toEqual(['kafka.replicationFactor: must be at least 1']);
  });

  it('leaves both to the broker when absent', () => {
    const { kafka } = parse({});
    expect(kafka.replicationFactor).toBeUndefined();
    expect(kafka.minInsyncReplicas).toBeUndefined();
  });
});

describe('kafka.decisionRequestRetentionMs', () => {
  it('sets the retention of the decided requests topic; -1 keeps them forever; 400 days when absent', () => {
    const names = topicNames('');
    const retentionOf = (config: ReturnType<typeof parse>) =>
      grantlineTopicSpecs(names, [], 1, config.kafka.decisionRequestRetentionMs === undefined ? {} : { decisionRequestRetentionMs: config.kafka.decisionRequestRetentionMs }).find(
        (s) => s.topic === names.decisionRequests,
      )?.retentionMs;
    expect(retentionOf(parse({ decisionRequestRetentionMs: '2592000000' }))).toBe(2_592_000_000);
    expect(retentionOf(parse({ decisionRequestRetentionMs: -1 }))).toBe(-1);
    expect(retentionOf(parse({}))).toBe(400 * 86_400_000);
  });

  it('refuses a retention that would delete requests before anyone could replay them', () => {
    expect(issuesOf({ decisionRequestRetentionMs: 0 })).toEqual(['kafka.decisionRequestRetentionMs: must be -1 (kept forever) or at least 3600000 (an hour)']);
    expect(issuesOf({ decisionRequestRetentionMs: -5 })).toEqual(['kafka.decisionRequestRetentionMs: must be -1 (kept forever) or at least 3600000 (an hour)']);
  });
});

describe('kafkaSettings', () => {
  it('carries brokers, TLS, SASL and replication from the config, so every command connects the same way', () => {
    const config = parse({ ssl: { ca: '${file:ca.pem}' }, sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' }, replicationFactor: 3, clientId: 'gl' });
    const settings = kafkaSettings(config.kafka, { clientIdSuffix: '-cli' });
    expect(settings).toMatchObject({ brokers: ['127.0.0.1:9093'], clientId: 'gl-cli', topicPrefix: '', partitions: 3, replicationFactor: 3 });
    expect(settings.ssl).toBe(config.kafka.ssl);
    expect(settings.sasl).toBe(config.kafka.sasl);
  });
});
