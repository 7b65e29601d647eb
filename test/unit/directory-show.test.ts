/**
 * `grantline directory show` without SCIM: every fact is the file's, and the command needs no
 * broker (the config's broker is never contacted). With SCIM, see scim-offboarding.int.test.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as directory } from '../../src/cli/commands/directory.js';
import { EXAMPLE_CATALOG_PATH, EXAMPLE_DIRECTORY_PATH } from '../fixtures/requests/factory.js';
import { captureCli, type CliOutcome } from '../fixtures/cli.js';

let dir: string;
let config: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'grantline-directory-show-'));
  writeFileSync(join(dir, 'signing.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  config = join(dir, 'grantline.yaml');
  writeFileSync(
    config,
    [
      'kafka: { brokers: ["127.0.0.1:1"] }',
      `catalog: { path: ${EXAMPLE_CATALOG_PATH} }`,
      `directory: { path: ${EXAMPLE_DIRECTORY_PATH} }`,
      'signing: { activeKid: t-1, keys: [{ kid: t-1, privateKeyPem: "${file:signing.pem}" }] }',
      'trust: { internal: { activeKid: i1, keys: [{ kid: i1, secret: dGVzdC1pbnRlcm5hbC1tYWMta2V5LTMyLWJ5dGVzLSE= }] } }',
      'policy: { version: t }',
    ].join('\n'),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(argv: string[]): Promise<CliOutcome> {
  return captureCli(directory, [...argv, '--config', config]);
}

describe('grantline directory show', () => {
  it('prints a person\'s facts, groups and NHIs, each from the file', async () => {
    const bob = await cli(['show', 'bob']);
    expect(bob.code).toBe(0);
    expect(bob.stdout).toMatch(/^bob: a person/);
    expect(bob.stdout).toMatch(/active\s+true\s+file/);
    expect(bob.stdout).toMatch(/jiraAccountId\s+a7dcc13a56eec540b8e04fe8\s+file/);
    expect(bob.stdout).toMatch(/groups\s+data-platform-owners \(file\)/);
    expect(bob.stdout).toContain("not provisioned by the identity provider: every fact is the file's");
    const alice = await cli(['show', 'alice', '--json']);
    expect(JSON.parse(alice.stdout)).toMatchObject({ kind: 'principal', id: 'alice', owns: [{ id: 'svc-orders' }], scim: null });
  });

  it('prints an NHI with its owner, and exits 1 for an unknown id and 2 for bad usage', async () => {
    expect((await cli(['show', 'svc-orphan'])).stdout).toContain('owner          mallory (NOT active: requests for it are refused)');
    const unknown = await cli(['show', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('nobody: nobody is known by this id');
    expect((await cli(['list'])).code).toBe(2);
    expect((await cli(['show'])).code).toBe(2);
  });
});
