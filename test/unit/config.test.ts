import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig, parseConfig, resolveConfigPath, Secret } from '../../src/config/index.js';
import { defineConnector, type ConnectorType } from '../../src/connector/contract.js';
import { SecretString } from '../../src/connector/secret.js';
import { connectorTypes } from '../../connectors/registry.js';

const privatePem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsaPem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'grantline-config-'));
  writeFileSync(join(dir, 'signing.pem'), privatePem);
  writeFileSync(join(dir, 'token.txt'), 'file-token-value\n');
});

/** A minimal valid config tree; tests override parts of it. */
function base(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kafka: { brokers: ['127.0.0.1:9092'] },
    catalog: { path: 'catalog.yaml' },
    directory: { path: 'directory.yaml' },
    signing: { activeKid: 'k1', keys: [{ kid: 'k1', privateKeyPem: '${file:signing.pem}' }] },
    trust: { internal: { activeKid: 'i1', keys: [{ kid: 'i1', secret: 'dGVzdC1pbnRlcm5hbC1tYWMta2V5LTMyLWJ5dGVzLSE=' }] } },
    policy: { version: '2026-01' },
    ...overrides,
  };
}

// A stand-in connector type with a secret, to check that entries are validated by their own schema.
const fakeType = defineConnector({
  type: 'fake',
  configSchema: z.strictObject({ baseUrl: z.url(), webhookSecret: SecretString }),
  kinds: { identities: [{ kind: 'fake-login', directoryField: 'email' }], evidence: [{ kind: 'fake-review', structured: true }] },
  create: () => {
    throw new Error('not used');
  },
});
const types: Record<string, ConnectorType> = { fake: fakeType as unknown as ConnectorType };

function issuesOf(fn: () => unknown): { path: string; problem: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('reports three mistakes at once, each with its path, in one error', () => {
    const file = join(dir, 'three.yaml');
    writeFileSync(
      file,
      [
        'kafka:',
        '  brokers: ["not a broker"]',
        'http:',
        '  port: 99999',
        'catalog: { path: catalog.yaml }',
        'directory: { path: directory.yaml }',
        'signing:',
        '  activeKid: k1',
        '  keys: [{ kid: k1, privateKeyPem: "${file:signing.pem}" }]',
        'trust: { internal: { activeKid: i1, keys: [{ kid: i1, secret: dGVzdC1pbnRlcm5hbC1tYWMta2V5LTMyLWJ5dGVzLSE= }] } }',
        '# policy section missing',
      ].join('\n'),
    );
    let error: unknown;
    try {
      loadConfig(file, {}, { connectorTypes });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('kafka.brokers[0]: expected host:port');
    expect(message).toContain('http.port: ');
    expect(message).toContain('policy: required');
    expect((error as ConfigError).issues.map((i) => i.path).sort()).toEqual(['http.port', 'kafka.brokers[0]', 'policy']);
  });

  it('applies defaults and resolves relative paths against the config directory', () => {
    const config = parseConfig(base(), { connectorTypes, baseDir: dir, env: {}, hostname: 'host-a' });
    expect(config.service).toEqual({ name: 'grantline', instanceId: 'host-a', shutdownTimeoutMs: 25_000 });
    expect(config.kafka).toEqual({ brokers: ['127.0.0.1:9092'], clientId: 'grantline', topicPrefix: '', partitions: 3 });
    expect(config.http).toEqual({
      host: '127.0.0.1',
      port: 8080,
      bodyLimitBytes: 1_048_576,
      timeouts: { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000 },
      refusals: { burst: 20, perMinute: 60, logIntervalMs: 60_000, maxClients: 10_000 },
      trustProxy: 0,
      readinessCacheMs: 5_000,
    });
    expect(config.catalog.path).toBe(join(dir, 'catalog.yaml'));
    expect(config.log.level).toBe('info');
    expect(config.connectors).toEqual([]);
    expect(config.pipeline.batchSize).toBe(100);
  });

  it('resolves ${env:} (with :- default) and ${file:} references; numbers from env are numbers', () => {
    const config = parseConfig(
      base({
        http: { port: '${env:PORT}', host: '${env:HOST:-0.0.0.0}' },
        service: { name: 'svc-${env:STAGE}' },
        connectors: [{ id: 'fake-1', type: 'fake', baseUrl: 'http://127.0.0.1:18080', webhookSecret: '${file:token.txt}' }],
      }),
      { baseDir: dir, env: { PORT: '9100', STAGE: 'dev' }, connectorTypes: types },
    );
    expect(config.http.port).toBe(9100);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.service.name).toBe('svc-dev');
    const secret = (config.connectors[0]?.config as { webhookSecret: Secret }).webhookSecret;
    expect(secret).toBeInstanceOf(Secret);
    expect(secret.reveal()).toBe('file-token-value');
  });

  it('refuses a connector type whose registered kinds the core cannot hold, naming each problem', () => {
    // Declared without defineConnector (which would throw at once), as a type built elsewhere could be.
    const odd = {
      type: 'odd',
      configSchema: z.looseObject({}),
      kinds: {
        identities: [{ kind: 'github-login', directoryField: 'githubLogin' }],
        evidence: [{ kind: 'jsm-approval', structured: false }, { kind: 'Review', structured: true }],
      },
      create: () => {
        throw new Error('not used');
      },
    } as unknown as ConnectorType;
    const issues = issuesOf(() => parseConfig(base({ connectors: [{ id: 'odd-1', type: 'odd' }] }), { baseDir: dir, env: {}, connectorTypes: { ...connectorTypes, odd } }));
    expect(issues.filter((i) => i.path === 'connectors[0].type').map((i) => i.problem).sort()).toEqual([
      'connector type "odd": evidence kind "Review" must match /^[a-z][a-z0-9_-]{0,63}$/',
      'connector type "odd": evidence kind "jsm-approval" is already registered by connector type jira with another meaning',
      'connector type "odd": identity kind "github-login" names directory field "githubLogin", which the directory does not have (known: jiraAccountId, jiraUsername, jiraUserKey, servicenowSysId, email)',
    ].sort());
  });

  it('names the missing variable and the unreadable file with the field path, and nothing else about them', () => {
    const issues = issuesOf(() =>
      parseConfig(
        base({
          signing: { activeKid: 'k1', keys: [{ kid: 'k1', privateKeyPem: '${file:missing.pem}' }] },
          connectors: [{ id: 'fake-1', type: 'fake', baseUrl: 'http://127.0.0.1:1', webhookSecret: '${env:FAKE_SECRET}' }],
        }),
        { baseDir: dir, env: {}, connectorTypes: types },
      ),
    );
    expect(issues).toEqual([
      { path: 'signing.keys[0].privateKeyPem', problem: 'cannot read file missing.pem (ENOENT)' },
      { path: 'connectors[0].webhookSecret', problem: 'environment variable FAKE_SECRET is not set' },
    ]);
  });

  it('never shows a secret in JSON.stringify, util.inspect or String of the config', () => {
    const config = parseConfig(
      base({ connectors: [{ id: 'fake-1', type: 'fake', baseUrl: 'http://127.0.0.1:1', webhookSecret: '${env:FAKE_SECRET}' }] }),
      { baseDir: dir, env: { FAKE_SECRET: 'sup3r-s3cret-webhook' }, connectorTypes: types },
    );
    const keyBody = privatePem.split('\n')[1] ?? '';
    expect(keyBody.length).toBeGreaterThan(20);
    for (const printed of [JSON.stringify(config), inspect(config, { depth: null }), String(config.signing.keys[0]?.privateKeyPem)]) {
      expect(printed).not.toContain('sup3r-s3cret-webhook');
      expect(printed).not.toContain(keyBody);
      expect(printed).toContain('[redacted]');
    }
    expect(config.signing.keys[0]?.privateKeyPem.reveal()).toBe(privatePem.replace(/\n$/, ''));
  });

  it('does not echo a rejected secret in the error message', () => {
    const error = (() => {
      try {
        parseConfig(base({ signing: { activeKid: 'k1', keys: [{ kid: 'k1', privateKeyPem: '${env:KEY}' }] } }), { connectorTypes, baseDir: dir, env: { KEY: rsaPem } });
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error.issues.map((i) => i.path)).toEqual(['signing.keys[0].privateKeyPem']);
    expect(error.message).toContain('Ed25519');
    expect(error.message).not.toContain(rsaPem.split('\n')[1] ?? 'x');
  });

  it('lets KAFKA_BROKERS override kafka.brokers, even when the file names none', () => {
    const env = { KAFKA_BROKERS: '10.0.0.1:9092, 10.0.0.2:9092' };
    expect(parseConfig(base(), { connectorTypes, baseDir: dir, env }).kafka.brokers).toEqual(['10.0.0.1:9092', '10.0.0.2:9092']);
    const withoutKafka = base();
    delete withoutKafka.kafka;
    expect(parseConfig(withoutKafka, { connectorTypes, baseDir: dir, env }).kafka.brokers).toEqual(['10.0.0.1:9092', '10.0.0.2:9092']);
    expect(issuesOf(() => parseConfig(withoutKafka, { connectorTypes, baseDir: dir, env: {} })).map((i) => i.path)).toEqual(['kafka']);
  });

  it('checks connector entries with their type schema, rejects unknown types listing the known ones, and duplicate ids', () => {
    const issues = issuesOf(() =>
      parseConfig(
        base({
          connectors: [
            { id: 'fake-1', type: 'fake', baseUrl: 'http://127.0.0.1:1', webhookSecret: 'x' },
            { id: 'fake-2', type: 'fake', baseUrl: 'not a url', webhookSecret: '' },
            { id: 'fake-1', type: 'jira2', anything: true },
            { id: 'Has Space', type: 'fake', baseUrl: 'http://127.0.0.1:1', webhookSecret: 'x' },
          ],
        }),
        { baseDir: dir, env: {}, connectorTypes: types },
      ),
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      'connectors[1].baseUrl',
      'connectors[1].webhookSecret',
      'connectors[2].id',
      'connectors[2].type',
      'connectors[3].id',
    ]);
    expect(issues.find((i) => i.path === 'connectors[2].type')?.problem).toBe('unknown connector type "jira2"; known types: fake');
    expect(issues.find((i) => i.path === 'connectors[2].id')?.problem).toContain('duplicate id "fake-1"');
  });

  it('names a misspelt or unknown key inside a Jira or ServiceNow connector, nested ones too, as path: unknown field', () => {
    // The registered connector types, as `grantline serve` validates them.
    const jira = {
      id: 'jira-main',
      type: 'jira',
      baseUrl: 'https://jira.example.com',
      deployment: 'cloud',
      auth: { kind: 'basic', email: 'bot@example.com', apiToken: 't' },
      webhook: { secret: 's' },
      projects: ['ACC'],
      fields: { entitlement: { fieldId: 'customfield_10100', options: { 'Prod DB read': 'db-prod-read' } } },
      approvals: { mode: 'jsm' },
    };
    const servicenow = {
      id: 'servicenow-main',
      type: 'servicenow',
      instanceUrl: 'https://acme.service-now.com',
      auth: { type: 'bearer', token: 't' },
      webhook: { basicAuth: { username: 'sn', password: 'p' } },
      mapping: {
        catalogItems: { '0f1e2d3c4b5a69788796a5b4c3d2e1f0': 'db-prod-read' },
        variables: { subject: 'subject', resource: 'resource', environment: 'environment', justification: 'why' },
      },
    };
    expect(parseConfig(base({ connectors: [jira, servicenow] }), { connectorTypes, baseDir: dir, env: {} }).connectors.map((c) => c.id)).toEqual(['jira-main', 'servicenow-main']);
    // Only the connector types the caller gives count: none given, none known.
    expect(issuesOf(() => parseConfig(base({ connectors: [jira] }), { connectorTypes: {}, baseDir: dir, env: {} }))).toEqual([
      { path: 'connectors[0].type', problem: 'unknown connector type "jira"; known types: (none registered)' },
    ]);

    const issues = issuesOf(() =>
      parseConfig(
        base({
          connectors: [
            { ...jira, webhok: {} },
            {
              ...jira,
              id: 'jira-2',
              webhook: { secret: 's', maxAge: 60 },
              auth: { kind: 'basic', email: 'bot@example.com', apiToken: 't', token: 'x' },
              fields: { entitlement: { fieldId: 'customfield_10100', option: {}, options: {} }, ttl: { fieldId: 'customfield_10102', units: 'hours' } },
              poll: { pagesize: 10 },
            },
            { ...servicenow, webhok: {}, mapping: { ...servicenow.mapping, variables: { ...servicenow.mapping.variables, subjct: 'x' } } },
          ],
        }),
        { connectorTypes, baseDir: dir, env: {} },
      ),
    );
    expect(issues.every((i) => i.problem === 'unknown field')).toBe(true);
    expect(issues.map((i) => i.path).sort()).toEqual([
      'connectors[0].webhok',
      'connectors[1].auth.token',
      'connectors[1].fields.entitlement.option',
      'connectors[1].fields.ttl.units',
      'connectors[1].poll.pagesize',
      'connectors[1].webhook.maxAge',
      'connectors[2].mapping.variables.subjct',
      'connectors[2].webhok',
    ]);
    // What `grantline serve` prints on stderr before exiting 2.
    expect(() => parseConfig(base({ connectors: [{ ...jira, webhok: {} }] }), { connectorTypes, baseDir: dir, env: {} })).toThrow(/\n {2}connectors\[0\]\.webhok: unknown field$/);
  });

  it('reports unknown fields, a wrong active kid and bad YAML', () => {
    const issues = issuesOf(() =>
      parseConfig(base({ http: { prot: 8080 }, signing: { activeKid: 'k9', keys: [{ kid: 'k1', privateKeyPem: '${file:signing.pem}' }] } }), {
        connectorTypes,
        baseDir: dir,
        env: {},
      }),
    );
    expect(issues).toEqual([
      { path: 'http.prot', problem: 'unknown field' },
      { path: 'signing.activeKid', problem: 'no key in signing.keys has kid "k9"' },
    ]);
    const bad = join(dir, 'bad.yaml');
    // A broken line holding an inline secret: the syntax error must say where, not what.
    writeFileSync(bad, 'kafka: { brokers: [127.0.0.1:9092] }\nhttp:\n  port: 8080\n   token: "inline-s3cret-value"\n  oops\n');
    const yamlIssues = issuesOf(() => loadConfig(bad, {}, { connectorTypes }));
    expect(yamlIssues.length).toBeGreaterThan(0);
    expect(yamlIssues.every((i) => i.path === '(yaml)')).toBe(true);
    expect(yamlIssues[0]?.problem).toMatch(/ at line \d+, column \d+$/);
    expect(JSON.stringify(yamlIssues)).not.toContain('inline-s3cret-value');
    expect(issuesOf(() => loadConfig(join(dir, 'absent.yaml'), {}, { connectorTypes }))).toEqual([{ path: '(file)', problem: 'cannot read config file (ENOENT)' }]);
  });

  it('validates every pipeline knob: a misspelt or out-of-range one is named, never read as NaN', () => {
    const issues = issuesOf(() =>
      parseConfig(base({ pipeline: { fetchConcurency: 8, revocationConfirmMs: 'soon', batchSize: 0, pollIntervalMs: 10 } }), { connectorTypes, baseDir: dir, env: {} }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(['pipeline.batchSize', 'pipeline.fetchConcurency', 'pipeline.pollIntervalMs', 'pipeline.revocationConfirmMs']);
    const ok = parseConfig(base({ pipeline: { pollIntervalMs: 0 } }), { connectorTypes, baseDir: dir, env: {} });
    expect(ok.pipeline).toMatchObject({ pollIntervalMs: 0, batchSize: 100, fetchConcurrency: 8, revocationConfirmMs: 900_000 });
  });

  it('finds the config file from --config, else GRANTLINE_CONFIG, else ./grantline.yaml', () => {
    expect(resolveConfigPath('a.yaml', { GRANTLINE_CONFIG: 'b.yaml' }, '/srv')).toBe('/srv/a.yaml');
    expect(resolveConfigPath(undefined, { GRANTLINE_CONFIG: 'b.yaml' }, '/srv')).toBe('/srv/b.yaml');
    expect(resolveConfigPath(undefined, {}, '/srv')).toBe('/srv/grantline.yaml');
  });
});
