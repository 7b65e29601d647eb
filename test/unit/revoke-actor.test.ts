/**
 * `grantline revoke --actor` must name an active directory principal: the actor is signed into a
 * genuine `grant.revoked` and its custody. The check runs before anything talks to Kafka, so these
 * run without a broker (the config's broker is never contacted).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkActivePrincipal } from '../../src/catalog/index.js';
import { run as revoke } from '../../src/cli/commands/revoke.js';
import { EXAMPLE_CATALOG_PATH, EXAMPLE_DIRECTORY_PATH, exampleDirectory } from '../fixtures/requests/factory.js';
import { captureCli, type CliOutcome } from '../fixtures/cli.js';

describe('checkActivePrincipal', () => {
  const directory = exampleDirectory();

  it('accepts an active principal', () => {
    expect(checkActivePrincipal(directory, 'erin')).toMatchObject({ ok: true, principal: { id: 'erin', active: true } });
  });

  it.each([
    ['nobody', 'unknown', '"nobody" is not a principal in the directory'],
    ['mallory', 'inactive', '"mallory" (Mallory Moss) is not active in the directory'],
    // A non-human identity is not a person who can act.
    ['svc-orders', 'unknown', '"svc-orders" is not a principal in the directory'],
  ])('refuses %s (%s)', (id, problem, message) => {
    expect(checkActivePrincipal(directory, id)).toEqual({ ok: false, problem, message });
  });
});

describe('grantline revoke --actor', () => {
  let dir: string;
  let config: string;

  function writeConfig(file: string, directoryPath: string): string {
    writeFileSync(
      file,
      [
        // Port 1: nothing listens there; the refusal must come before any connection.
        'kafka: { brokers: ["127.0.0.1:1"] }',
        `catalog: { path: ${EXAMPLE_CATALOG_PATH} }`,
        `directory: { path: ${directoryPath} }`,
        'signing: { activeKid: t-1, keys: [{ kid: t-1, privateKeyPem: "${file:signing.pem}" }] }',
      'trust: { internal: { activeKid: i1, keys: [{ kid: i1, secret: dGVzdC1pbnRlcm5hbC1tYWMta2V5LTMyLWJ5dGVzLSE= }] } }',
        'policy: { version: t }',
      ].join('\n'),
    );
    return file;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'grantline-revoke-'));
    writeFileSync(join(dir, 'signing.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    config = writeConfig(join(dir, 'grantline.yaml'), EXAMPLE_DIRECTORY_PATH);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function cli(argv: string[], configFile = config): Promise<CliOutcome> {
    return captureCli(revoke, [...argv, '--config', configFile]);
  }

  it.each([
    ['someone not in the directory', 'nobody', '--actor "nobody" is not a principal in the directory'],
    ['an inactive principal', 'mallory', '--actor "mallory" (Mallory Moss) is not active in the directory'],
  ])('refuses %s with exit 2 and says why', async (_name, actor, message) => {
    const result = await cli(['gr_anything', '--reason', 'incident over', '--actor', actor]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('refuses with exit 2 when the directory cannot be read to check the actor', async () => {
    const missing = join(dir, 'missing.yaml');
    const result = await cli(['gr_anything', '--reason', 'r', '--actor', 'erin'], writeConfig(join(dir, 'no-directory.yaml'), missing));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot check --actor against directory.path: cannot read ${missing} (ENOENT)`);
  });
});
