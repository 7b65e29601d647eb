/**
 * `grantline revoke --actor` must name an active directory principal: the actor is signed into a
 * genuine `grant.revoked` and its custody. The check runs before anything talks to Kafka, so these
 * run without a broker (the config's broker is never contacted).
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkActivePrincipal } from '../../src/catalog/index.js';
import { run as revoke } from '../../src/cli/commands/revoke.js';
import { EXAMPLE_CATALOG_PATH, EXAMPLE_DIRECTORY_PATH, exampleDirectory } from '../fixtures/requests/factory.js';
import { captureCli, type CliOutcome } from '../fixtures/cli.js';

const ERIN_KEY = join(import.meta.dirname, '../../examples/keys/dev-operator-erin.pem');
const ERIN_PUBLIC = createPublicKey(readFileSync(ERIN_KEY, 'utf8')).export({ type: 'spki', format: 'pem' }).toString();

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
      // erin is an operator (the example's DEV ONLY key); an operator's machine holds no internal key.
        `trust: { operators: [{ id: erin, publicKeyPem: "${ERIN_PUBLIC.replace(/\n/g, '\\n')}" }] }`,
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

  function cli(argv: string[], configFile = config, key = ERIN_KEY): Promise<CliOutcome> {
    return captureCli(revoke, [...argv, '--key', key, '--config', configFile]);
  }

  it.each([
    ['without --key', () => captureCli(revoke, ['gr_anything', '--reason', 'r', '--actor', 'erin', '--config', config]), '--key is required'],
    ['for an active principal who is not an operator', () => cli(['gr_anything', '--reason', 'r', '--actor', 'alice']), '--actor "alice" is not in trust.operators'],
    ['with a key that is not the operator\'s', () => cli(['gr_anything', '--reason', 'r', '--actor', 'erin'], config, join(dir, 'signing.pem')), 'is not the key trust.operators lists for "erin"'],
  ])('refuses %s with exit 2 before anything talks to Kafka', async (_name, run, message) => {
    const result = await run();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

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
