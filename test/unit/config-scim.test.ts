import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, Secret } from '../../src/config/index.js';
import { connectorTypes } from '../../connectors/registry.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'grantline-config-scim-'));
  writeFileSync(join(dir, 'signing.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
});

const TOKEN = 'Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OWFiY2RlZmdoaWo=';

function parse(scim: unknown, env: Record<string, string> = {}) {
  return parseConfig(
    {
      kafka: { brokers: ['127.0.0.1:9092'] },
      catalog: { path: 'catalog.yaml' },
      directory: { path: 'directory.yaml' },
      signing: { activeKid: 'k1', keys: [{ kid: 'k1', privateKeyPem: '${file:signing.pem}' }] },
      trust: { internal: { activeKid: 'i1', keys: [{ kid: 'i1', secret: 'dGVzdC1pbnRlcm5hbC1tYWMta2V5LTMyLWJ5dGVzLSE=' }] } },
      policy: { version: 'v1' },
      ...(scim === undefined ? {} : { scim }),
    },
    { connectorTypes, baseDir: dir, env },
  );
}

function issuesOf(scim: unknown, env: Record<string, string> = {}): string[] {
  try {
    parse(scim, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.problem}`);
  }
  throw new Error('expected a ConfigError');
}

describe('scim config', () => {
  it('is off unless enabled', () => {
    expect(parse(undefined).scim).toEqual({ enabled: false });
  });

  it('holds the bearer token, from the environment, as a Secret that never prints', () => {
    const config = parse({ enabled: true, bearerToken: '${env:SCIM_TOKEN}' }, { SCIM_TOKEN: TOKEN });
    expect(config.scim.bearerToken).toBeInstanceOf(Secret);
    expect(config.scim.bearerToken?.reveal()).toBe(TOKEN);
    expect(JSON.stringify(config)).not.toContain(TOKEN);
    expect(inspect(config, { depth: 10 })).not.toContain(TOKEN);
  });

  it('names every bad field with its path, and never the token', () => {
    expect(issuesOf({ enabled: true })).toEqual(['scim.bearerToken: required when scim.enabled is true']);
    const short = issuesOf({ enabled: 'yes', bearerToken: 'short-secret', bearer: 1 });
    expect(short).toEqual(expect.arrayContaining(['scim.bearer: unknown field', 'scim.enabled: expected true or false', expect.stringMatching(/^scim\.bearerToken: must be at least 32 characters/)]));
    expect(short.join('\n')).not.toContain('short-secret');
  });
});
