/**
 * The PostgreSQL adapter's config: one strict parse that names every bad field with its path and
 * never a secret, and the process exits 2 on it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../adapters/postgres/main.js';
import { parsePostgresAdapterConfig } from '../../adapters/postgres/config.js';
import { ConfigError } from '../../src/config/index.js';
import { freshKey } from '../../dev/signed-grants.js';

const key = freshKey('pg-adapter-1').input;

function valid(): Record<string, unknown> {
  return {
    adapter: { name: 'postgres-orders', channel: 'pam', onDrift: 'revoke' },
    jwks: 'http://127.0.0.1:8080/.well-known/jwks.json',
    signingKey: key,
    kafka: { brokers: ['127.0.0.1:9092'] },
    postgres: {
      connection: { database: 'orders', user: 'grantline_adapter', password: 'hunter2-very-secret' },
      entitlements: { 'db-orders-prod-readwrite': 'orders_rw' },
      subjects: { 'svc-orders': 'svc_orders' },
    },
  };
}

function problems(tree: unknown): string[] {
  try {
    parsePostgresAdapterConfig(tree, { baseDir: '/', env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.problem}`);
    throw err;
  }
  return [];
}

describe('the PostgreSQL adapter config', () => {
  it('parses a valid config with its defaults, the password a Secret', () => {
    const config = parsePostgresAdapterConfig(valid(), { baseDir: '/', env: {} });
    expect(config.postgres.connection).toMatchObject({ host: '127.0.0.1', port: 5432, database: 'orders' });
    expect(String(config.postgres.connection.password)).not.toContain('hunter2');
    expect(config.postgres.bookkeepingSchema).toBe('grantline_adapter');
    expect(config.adapter).toEqual({ name: 'postgres-orders', channel: 'pam', onDrift: 'revoke', reconcileIntervalMs: 30_000 });
  });

  it('names every bad field with its path at once, never a value', () => {
    const tree = valid() as { adapter: Record<string, unknown>; postgres: { connection: Record<string, unknown>; [k: string]: unknown }; [k: string]: unknown };
    tree.adapter.onDrift = 'ignore';
    tree.adapter.channel = 'PAM';
    tree.postgres.connection.port = 70_000;
    tree.postgres.connection.passwd = 'hunter2-very-secret';
    tree.postgres.entitlements = { 'db-orders-prod-readwrite': 'orders_rw', 'db-long': 'x'.repeat(64) };
    tree.postgres.subjects = { 'svc-orders': 'orders_rw' };
    tree.jwks = 'file:///etc/jwks.json';
    delete tree.kafka;
    const found = problems(tree);
    expect(found).toEqual(
      expect.arrayContaining([
        'adapter.channel: lowercase letters, digits and "-"',
        'adapter.onDrift: expected alert or revoke',
        "jwks: expected an http(s) URL of grantline's /.well-known/jwks.json",
        'kafka: required',
        'postgres.connection.passwd: unknown field',
        'postgres.connection.port: must be at most 65535',
        'postgres.entitlements.db-long: PostgreSQL role names have at most 63 bytes',
      ]),
    );
    expect(found.join('\n')).not.toContain('hunter2');
    expect(problems({ ...valid(), postgres: { ...(valid().postgres as object), subjects: { 'svc-orders': 'orders_rw' } } })).toEqual([
      "postgres.subjects.svc-orders: role orders_rw is also an entitlement's group role; a role is one or the other",
    ]);
    expect(problems({ ...valid(), postgres: { ...(valid().postgres as object), subjects: {} } })).toEqual(['postgres.subjects: map at least one subject id']);
  });

  it('makes the process exit 2 with the problems on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-adapter-config-'));
    const file = join(dir, 'adapter.yaml');
    writeFileSync(file, 'adapter: { channel: pam, colour: blue }\n');
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stderr.write;
    try {
      expect(await main(['--config', file])).toBe(2);
    } finally {
      process.stderr.write = original;
    }
    expect(written.join('')).toContain('adapter.colour: unknown field');
    expect(written.join('')).toContain('postgres: required');
  });
});
