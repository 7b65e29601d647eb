import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { connectorTypes } from '../../connectors/registry.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'grantline-config-http-'));
  writeFileSync(join(dir, 'signing.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
});

function parse(http: unknown) {
  return parseConfig(
    {
      kafka: { brokers: ['127.0.0.1:9092'] },
      catalog: { path: 'catalog.yaml' },
      directory: { path: 'directory.yaml' },
      signing: { activeKid: 'k1', keys: [{ kid: 'k1', privateKeyPem: '${file:signing.pem}' }] },
      policy: { version: '2026-01' },
      http,
    },
    { connectorTypes, baseDir: dir, env: {} },
  );
}

function issuesOf(http: unknown): { path: string; problem: string }[] {
  try {
    parse(http);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('http config', () => {
  it('takes timeouts, refusal limits and trusted proxies', () => {
    const http = parse({ timeouts: { headersMs: 5_000 }, refusals: { burst: 5, perMinute: '30' }, trustProxy: ['10.0.0.0/8'] }).http;
    expect(http.timeouts).toEqual({ headersMs: 5_000, requestMs: 30_000, keepAliveMs: 5_000 });
    expect(http.refusals).toMatchObject({ burst: 5, perMinute: 30 });
    expect(http.trustProxy).toEqual(['10.0.0.0/8']);
  });

  it('names every bad field with its path', () => {
    expect(issuesOf({ timeouts: { headersMs: 40_000, requestMs: 20_000, keepAlive: 1 }, refusals: { burst: 0, perMinute: 'lots' }, trustProxy: 'yes' })).toEqual([
      { path: 'http.timeouts.keepAlive', problem: 'unknown field' },
      { path: 'http.timeouts.headersMs', problem: 'must be at most requestMs (20000)' },
      { path: 'http.refusals.burst', problem: 'must be at least 1' },
      { path: 'http.refusals.perMinute', problem: expect.stringMatching(/number/) as unknown as string },
      { path: 'http.trustProxy', problem: 'expected a number of proxy hops or a list of proxy addresses' },
    ]);
  });

  it('http.admin: a second listener; its metrics token is a Secret, never shown in errors', () => {
    const token = 'admin-metrics-token-0123456789abcdefghij';
    const http = parse({ admin: { port: 9090, metricsToken: token } }).http;
    expect(http.admin?.host).toBe('127.0.0.1');
    expect(http.admin?.metricsToken?.reveal()).toBe(token);
    expect(JSON.stringify(http)).not.toContain(token);
    expect(http.readinessCacheMs).toBe(5_000);
    const issues = issuesOf({ port: 8080, admin: { port: 8080, metricsToken: 'short-secret-value' }, readinessCacheMs: -1 });
    expect(issues).toEqual([
      { path: 'http.admin.metricsToken', problem: 'must be at least 32 characters (for example `openssl rand -base64 32`)' },
      { path: 'http.readinessCacheMs', problem: 'must be at least 0' },
      { path: 'http.admin.port', problem: 'must differ from http.port (8080)' },
    ]);
    expect(JSON.stringify(issues)).not.toContain('short-secret-value');
    expect(issuesOf({ port: 8080, admin: { port: 8080 } })).toEqual([{ path: 'http.admin.port', problem: 'must differ from http.port (8080)' }]);
    expect(issuesOf({ admin: { host: '0.0.0.0' } })).toEqual([{ path: 'http.admin.port', problem: 'required' }]);
  });
});
