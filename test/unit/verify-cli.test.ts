import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, type VerifyIo } from '../../src/cli/commands/verify.js';
import { publicJwks, sealGrant } from '../../src/custody/index.js';
import { T0, keysOf, makeChain, makeKey, makeUnsealedGrant } from '../fixtures/custody/factory.js';

const dir = mkdtempSync(join(tmpdir(), 'grantline-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keys = keysOf(makeKey('k-cli'));
const before = makeChain(2);
const { message: grant, event } = sealGrant(makeUnsealedGrant(), before.at(-1)!, { eventId: 'ce_d', at: T0, actor: 'grantline/processor' }, keys);

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

const jwksFile = file('jwks.json', publicJwks(keys));
const grantFile = file('grant.json', grant);
const AT = ['--at', '2025-03-01T10:00:00Z'];

function capture(fetchImpl: VerifyIo['fetch'] = () => Promise.reject(new Error('no network in this test'))) {
  const out: string[] = [];
  const err: string[] = [];
  const io: VerifyIo = { out: (l) => out.push(l), err: (l) => err.push(l), fetch: fetchImpl };
  return { io, out, err };
}

describe('grantline verify', () => {
  it('exits 0 and ticks every check for a valid grant', async () => {
    const { io, out } = capture();
    expect(await run([grantFile, '--jwks', jwksFile, ...AT], io)).toBe(0);
    expect(out.filter((l) => l.startsWith('✔')).length).toBe(9);
    expect(out.some((l) => l.startsWith('✘'))).toBe(false);
    expect(out.at(-1)).toBe('VALID: grant gr_0001 passed all 9 checks');
  });

  it('exits 1 and explains the failure for an altered grant', async () => {
    const altered = file('altered.json', { ...grant, ttlSeconds: 86400, expiresAt: '2025-03-02T09:00:00.000Z' });
    const { io, out } = capture();
    expect(await run([altered, '--jwks', jwksFile, ...AT], io)).toBe(1);
    expect(out.find((l) => l.startsWith('✘'))).toMatch(
      /^✘ signature-valid +signature does not match: the message was altered after signing, or signed by another key than "k-cli"$/,
    );
    expect(out.at(-1)).toBe('INVALID: grant gr_0001 failed 1 of 9 checks (signature-valid)');
  });

  it('exits 1 for an expired grant with --at after expiresAt', async () => {
    const { io, out } = capture();
    expect(await run([grantFile, '--jwks', jwksFile, '--at', '2025-03-02T00:00:00Z'], io)).toBe(1);
    expect(out.at(-1)).toMatch(/\(not-expired\)$/);
  });

  it('reads a Kafka dump { headers, value } whose value is a JSON string', async () => {
    const dump = file('dump.json', { headers: { ce_type: 'grant.issued', ce_id: grant.grantId }, key: grant.grantId, value: JSON.stringify(grant) });
    const { io } = capture();
    expect(await run([dump, '--jwks', jwksFile, ...AT], io)).toBe(0);
  });

  it('checks the custody chain from a JSON-lines dump given with --custody', async () => {
    const lines = [...before, event].map((e) => JSON.stringify({ headers: {}, value: JSON.stringify(e) })).join('\n');
    const good = file('custody.jsonl', `${lines}\n`);
    const { io, out } = capture();
    expect(await run([grantFile, '--jwks', jwksFile, '--custody', good, ...AT], io)).toBe(0);
    expect(out.some((l) => l.startsWith('✔ custody-chain'))).toBe(true);

    const gap = file('custody-gap.json', [before[0], event]);
    const second = capture();
    expect(await run([grantFile, '--jwks', jwksFile, '--custody', gap, ...AT], second.io)).toBe(1);
    expect(second.out.find((l) => l.startsWith('✘ custody-chain'))).toMatch(/seq 1 is missing/);
  });

  it('fetches the JWKS from a URL', async () => {
    const urls: string[] = [];
    const { io } = capture(async (url) => {
      urls.push(String(url));
      return new Response(JSON.stringify(publicJwks(keys)), { status: 200, headers: { 'content-type': 'application/json' } });
    });
    expect(await run([grantFile, '--jwks', 'http://grantline.internal:8080/.well-known/jwks.json', ...AT], io)).toBe(0);
    expect(urls).toEqual(['http://grantline.internal:8080/.well-known/jwks.json']);
  });

  it('uses the local grantline JWKS URL by default', async () => {
    const urls: string[] = [];
    const { io } = capture(async (url) => {
      urls.push(String(url));
      return new Response(JSON.stringify(publicJwks(keys)));
    });
    expect(await run([grantFile, ...AT], io)).toBe(0);
    expect(urls).toEqual(['http://127.0.0.1:8080/.well-known/jwks.json']);
  });

  it.each([
    ['no message file', () => [], /expected exactly one message file/],
    ['a missing message file', () => [join(dir, 'nope.json'), '--jwks', jwksFile], /cannot read message file .*nope.json \(ENOENT\)/],
    ['a message that is not JSON', () => [file('bad.json', '{"outcome": '), '--jwks', jwksFile], /message file .*bad.json is not JSON/],
    ['a JWKS file that is not a JWK Set', () => [grantFile, '--jwks', file('notjwks.json', { keys: 'none' })], /is not a JWK Set/],
    ['a bad --at', () => [grantFile, '--jwks', jwksFile, '--at', 'tomorrow'], /--at tomorrow is not an ISO 8601 time/],
    ['an unknown option', () => [grantFile, '--jwsk', jwksFile], /Unknown option '--jwsk'/],
  ])('exits 2 on %s', async (_what, argv, message) => {
    const { io, err } = capture();
    expect(await run(argv(), io)).toBe(2);
    expect(err.join('\n')).toMatch(message);
  });

  it('exits 2 when the JWKS URL answers with an error', async () => {
    const { io, err } = capture(async () => new Response('nope', { status: 404 }));
    expect(await run([grantFile, '--jwks', 'https://keys.example/jwks.json'], io)).toBe(2);
    expect(err.join('\n')).toMatch(/cannot fetch the JWKS from https:\/\/keys.example\/jwks.json: HTTP 404/);
  });
});
