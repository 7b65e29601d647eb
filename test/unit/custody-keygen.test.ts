import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, type KeygenIo } from '../../src/cli/commands/keygen.js';
import { Ed25519Jwk, loadSigningKeys, publicJwks, signMessage, verifyDetachedJws } from '../../src/custody/index.js';

const dir = mkdtempSync(join(tmpdir(), 'grantline-keygen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: KeygenIo = { out: (l) => out.push(l), err: (l) => err.push(l) };
  return { io, out, err };
}

describe('grantline keygen', () => {
  it('writes an owner-only Ed25519 key, prints config and public JWK, and never prints the private key', async () => {
    const { io, out } = capture();
    const keyDir = join(dir, 'keys');
    expect(await run(['--kid', 'prod-2025-06', '--out', keyDir], io)).toBe(0);

    const path = join(keyDir, 'prod-2025-06.pem');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const pem = readFileSync(path, 'utf8');
    const printed = out.join('\n');
    expect(printed).not.toContain('PRIVATE KEY');
    expect(printed).not.toContain(pem.split('\n')[1]!);
    expect(printed).toContain(`privateKeyPem: \${file:${path}}`);
    expect(printed).toContain('activeKid: prod-2025-06');

    // The printed JWK is the public half of the key in the file: what the file signs, it verifies.
    const jwk = Ed25519Jwk.parse(JSON.parse(out.at(-1)!));
    const keys = loadSigningKeys({ activeKid: 'prod-2025-06', keys: [{ kid: 'prod-2025-06', privateKeyPem: pem }] });
    expect(publicJwks(keys).keys).toEqual([jwk]);
    expect(verifyDetachedJws(signMessage({ a: 1 }, keys), { a: 1 }, { keys: [jwk] })).toEqual({ result: 'valid', kid: 'prod-2025-06' });
  });

  it('refuses to overwrite an existing key', async () => {
    expect(await run(['--kid', 'once', '--out', dir], capture().io)).toBe(0);
    const before = readFileSync(join(dir, 'once.pem'), 'utf8');
    const { io, err } = capture();
    expect(await run(['--kid', 'once', '--out', dir], io)).toBe(1);
    expect(err.join('\n')).toMatch(/once.pem already exists/);
    expect(readFileSync(join(dir, 'once.pem'), 'utf8')).toBe(before);
  });

  it.each([[[]], [['--kid', '../escape']], [['--kid', '.hidden']], [['--kid', 'a/b']]])('exits 2 for a missing or path-like kid %j', async (argv) => {
    const { io, err } = capture();
    expect(await run(argv, io)).toBe(2);
    expect(err.join('\n')).toMatch(/--kid is required/);
  });
});
