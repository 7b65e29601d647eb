import { generateKeyPairSync, randomBytes } from 'node:crypto';

const ed25519Public = (): string => generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/keygen.js';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { Secret } from '../../src/connector/secret.js';
import { createKafka, kafkaSettings, topicNames } from '../../src/kafka/index.js';
import { PipelineRuntime } from '../../src/pipeline/runtime.js';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { EXAMPLE_CATALOG_PATH, EXAMPLE_DIRECTORY_PATH } from '../fixtures/requests/factory.js';
import { InternalKeyring, internalSealer, MAC_HEADER } from '../../src/trust/index.js';
import { connectorTypes } from '../../connectors/registry.js';

const secretA = randomBytes(32).toString('base64');
const secretB = randomBytes(32).toString('base64');
const TOPIC = 'p.grantline.ticket-state.v1';
const ring = InternalKeyring.load({ activeKid: 'a', keys: [{ kid: 'a', secret: new Secret(secretA) }] });

function sealed(topic: string, key: string, value: unknown, keyring = ring) {
  const text = JSON.stringify(value);
  return { key: Buffer.from(key), value: Buffer.from(text), headers: { [MAC_HEADER]: Buffer.from(keyring.seal(topic, key, text)) } };
}

describe('internal MAC', () => {
  it('is HMAC-SHA256 over the domain and the canonical { topic, key, value }: a fixed vector, so messages sealed by an older grantline still open', () => {
    const fixed = InternalKeyring.load({ activeKid: 'k1', keys: [{ kid: 'k1', secret: new Secret(Buffer.alloc(32, 7).toString('base64')) }] });
    // HMAC-SHA256(key, 'grantline.internal-mac.v1\n' + '{"key":"jira-main|10001","topic":"p.grantline.ticket-state.v1","value":{"a":1,"b":[true,null,"x"]}}')
    const header = 'v1.k1.Ae3HCoSgjAYQ-oE22nyjP_ZUVOJgc5GJAmJZ5R1o6Ww';
    expect(fixed.seal(TOPIC, 'jira-main|10001', '{ "b": [true, null, "x"], "a": 1 }')).toBe(header);
    const opened = fixed.open(TOPIC, { key: Buffer.from('jira-main|10001'), value: Buffer.from('{"a":1,"b":[true,null,"x"]}'), headers: { [MAC_HEADER]: Buffer.from(header) } });
    expect(opened).toEqual({ ok: true, value: { a: 1, b: [true, null, 'x'] }, kid: 'k1' });
  });

  it('opens what it sealed, whatever the key order or spacing of the JSON', () => {
    const msg = sealed(TOPIC, 'jira|ACC-1', { version: 3, grants: [{ id: 'g1' }] });
    expect(ring.open(TOPIC, msg)).toEqual({ ok: true, value: { version: 3, grants: [{ id: 'g1' }] }, kid: 'a' });
    // Same content re-serialized: canonical JSON makes it the same message.
    const respaced = { ...msg, value: Buffer.from('{ "grants": [ {"id":"g1"} ], "version": 3 }') };
    expect(ring.open(TOPIC, respaced).ok).toBe(true);
  });

  it('refuses a message without MAC, with changed content, under another key or topic, or sealed by an unknown or wrong key', () => {
    const msg = sealed(TOPIC, 'jira|ACC-1', { version: 3, grants: [{ id: 'g1' }] });
    expect(ring.open(TOPIC, { ...msg, headers: {} })).toMatchObject({ ok: false, reason: 'unsealed' });
    expect(ring.open(TOPIC, { ...msg, value: Buffer.from(JSON.stringify({ version: 4, grants: [] })) })).toMatchObject({ ok: false, reason: 'bad-mac' });
    expect(ring.open(TOPIC, { ...msg, key: Buffer.from('jira|ACC-2') })).toMatchObject({ ok: false, reason: 'bad-mac' });
    expect(ring.open('p.grantline.writeback.v1', msg)).toMatchObject({ ok: false, reason: 'bad-mac' });
    const other = InternalKeyring.load({ activeKid: 'b', keys: [{ kid: 'b', secret: secretB }] });
    expect(ring.open(TOPIC, sealed(TOPIC, 'jira|ACC-1', { version: 3 }, other))).toMatchObject({ ok: false, reason: 'unknown-key' });
    // The attacker's own secret under the genuine kid.
    const impostor = InternalKeyring.load({ activeKid: 'a', keys: [{ kid: 'a', secret: secretB }] });
    expect(ring.open(TOPIC, sealed(TOPIC, 'jira|ACC-1', { version: 3 }, impostor))).toMatchObject({ ok: false, reason: 'bad-mac' });
    expect(ring.open(TOPIC, { ...msg, headers: { [MAC_HEADER]: 'v1.a.short' } })).toMatchObject({ ok: false, reason: 'bad-mac' });
    expect(ring.open(TOPIC, { ...msg, value: Buffer.from('not json') })).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('seals tombstones too, bound to their key', () => {
    const header = ring.seal(TOPIC, 'k1', null);
    expect(ring.open(TOPIC, { key: 'k1', value: null, headers: { [MAC_HEADER]: header } })).toEqual({ ok: true, value: null, kid: 'a' });
    expect(ring.open(TOPIC, { key: 'k2', value: null, headers: { [MAC_HEADER]: header } })).toMatchObject({ ok: false, reason: 'bad-mac' });
  });

  it('rotates: the new key seals, the old one still verifies until it is removed', () => {
    const old = sealed(TOPIC, 'k', { v: 1 });
    const rotated = InternalKeyring.load({ activeKid: 'b', keys: [{ kid: 'b', secret: secretB }, { kid: 'a', secret: secretA }] });
    expect(rotated.open(TOPIC, old).ok).toBe(true);
    const fresh = sealed(TOPIC, 'k', { v: 2 }, rotated);
    expect(String(fresh.headers[MAC_HEADER])).toMatch(/^v1\.b\./);
    expect(ring.open(TOPIC, fresh)).toMatchObject({ ok: false, reason: 'unknown-key' });
    const retired = InternalKeyring.load({ activeKid: 'b', keys: [{ kid: 'b', secret: secretB }] });
    expect(retired.open(TOPIC, old)).toMatchObject({ ok: false, reason: 'unknown-key' });
  });

  it('seals only the internal topics a producer writes to', () => {
    const seal = internalSealer(ring, [TOPIC]);
    expect(seal(TOPIC, { key: 'k', value: '{"a":1}', headers: { x: 'y' } }).headers).toMatchObject({ x: 'y', [MAC_HEADER]: expect.stringMatching(/^v1\.a\./) });
    expect(seal('p.access.custody.v1', { key: 'k', value: '{"a":1}', headers: {} }).headers).toEqual({});
  });

  it('never shows a secret, and refuses short or non-base64 secrets naming only the kid', () => {
    expect(inspect(ring)).not.toContain(secretA);
    expect(JSON.stringify(ring)).not.toContain(secretA);
    expect(() => InternalKeyring.load({ activeKid: 'a', keys: [{ kid: 'a', secret: 'c2hvcnQ=' }] })).toThrow(/internal key "a": secret is not base64 of at least 32 bytes/);
    expect(() => InternalKeyring.load({ activeKid: 'z', keys: [{ kid: 'a', secret: secretA }] })).toThrow(/activeKid "z"/);
  });
});

describe('trust config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grantline-trust-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const base = (trust: unknown) => ({
    kafka: { brokers: ['127.0.0.1:9092'] },
    catalog: { path: 'c.yaml' },
    directory: { path: 'd.yaml' },
    signing: { activeKid: 'k1', keys: [{ kid: 'k1', privateKeyPem: `${'$'}{file:${join(import.meta.dirname, '../../examples/keys/dev-signing-key.pem')}}` }] },
    policy: { version: 'x' },
    ...(trust === undefined ? {} : { trust }),
  });
  it('is optional for the CLI (an operator holds no internal key); serve requires trust.internal (PipelineRuntime)', async () => {
    const config = parseConfig({ ...base(undefined), catalog: { path: EXAMPLE_CATALOG_PATH }, directory: { path: EXAMPLE_DIRECTORY_PATH } }, { connectorTypes, baseDir: dir });
    expect(config.trust).toEqual({ operators: [], adapters: [], identityFeeds: [] });
    const logger = pino({ level: 'silent' });
    const kafka = createKafka(kafkaSettings(config.kafka), logger);
    const error = await PipelineRuntime.create(config, logger, kafka, topicNames(''), new Registry(), {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([{ path: 'trust.internal', problem: expect.stringContaining('required to serve') }]);
  });

  const issues = (trust: unknown) => {
    try {
      parseConfig(base(trust), { connectorTypes, baseDir: dir });
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
    throw new Error('expected a ConfigError');
  };

  it('names every bad field by its path without the secret', () => {
    const bad = 'dG9vLXNob3J0';
    const err = issues({
      internal: { activeKid: 'nope', keys: [{ kid: 'a.b', secret: bad }, { kid: 'c', secret: secretA, extra: 1 }] },
      operators: [{ id: 'erin', publicKeyPem: 'not a key' }, { id: 'erin', publicKeyPem: ed25519Public() }],
    });
    expect(err.issues).toEqual(
      expect.arrayContaining([
        { path: 'trust.internal.keys[0].kid', problem: expect.stringContaining('letters, digits') },
        { path: 'trust.internal.keys[0].secret', problem: expect.stringContaining('at least 32 random bytes') },
        { path: 'trust.internal.keys[1].extra', problem: 'unknown field' },
        { path: 'trust.operators[0].publicKeyPem', problem: expect.stringContaining('not an Ed25519 public key') },
        { path: 'trust.operators[1].id', problem: 'operator "erin" is listed more than once' },
      ]),
    );
    expect(err.message).not.toContain(bad);
    expect(issues({ internal: { activeKid: 'nope', keys: [{ kid: 'c', secret: secretA }] } }).issues).toEqual([
      { path: 'trust.internal.activeKid', problem: 'no key in trust.internal.keys has kid "nope"' },
    ]);
  });

  it('takes the key grantline keygen --internal writes, and keygen never prints it', async () => {
    const out: string[] = [];
    expect(await run(['--internal', '--kid', 'int-1', '--out', dir], { out: (l) => out.push(l), err: () => {} })).toBe(0);
    const path = join(dir, 'int-1.key');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const secret = readFileSync(path, 'utf8').trim();
    expect(out.join('\n')).not.toContain(secret);
    expect(out.join('\n')).toContain(`secret: \${file:${path}}`);
    const config = parseConfig(base({ internal: { activeKid: 'int-1', keys: [{ kid: 'int-1', secret: `\${file:${path}}` }] } }), { connectorTypes, baseDir: dir });
    if (config.trust.internal === undefined) throw new Error('trust.internal was given');
    const keyring = InternalKeyring.load(config.trust.internal);
    expect(keyring.activeKid).toBe('int-1');
    expect(await run(['--internal', '--kid', 'a.b', '--out', dir], { out: () => {}, err: () => {} })).toBe(2);
  });
});
