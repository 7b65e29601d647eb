import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { CompactSign, createLocalJWKSet, flattenedVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  Ed25519Jwk,
  JWS_TYP,
  SigningKeysConfig,
  canonicalJson,
  loadSigningKeys,
  publicJwks,
  sealGrant,
  sign,
  signGrant,
  signMessage,
  verifyDetachedJws,
} from '../../src/custody/index.js';
import { Grant } from '../../src/model/index.js';
import { makeDecision, makeKey, makeOrigin, keysOf, T0 } from '../fixtures/custody/factory.js';

function signedGrant(keys = keysOf(makeKey('k-2025-01'))): Grant {
  return sealGrant(makeDecisionWithOrigin(), null, { eventId: 'ce_1', at: T0, actor: 'grantline/processor' }, keys).message;
}

function makeDecisionWithOrigin() {
  return { ...makeDecision(), custody: makeOrigin() };
}

describe('loadSigningKeys', () => {
  it('rejects a non-Ed25519 key, naming the kid and never the key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    let message = '';
    try {
      loadSigningKeys({ activeKid: 'ops-rsa', keys: [{ kid: 'ops-rsa', privateKeyPem: rsa }] });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/signing key "ops-rsa" is a rsa key; grantline signs with Ed25519 only/);
    const body = rsa.split('\n')[1]!;
    expect(message).not.toContain(body.slice(0, 20));
  });

  it('rejects unreadable PEM without quoting it', () => {
    const garbage = '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXRoYXQtaXMtbm90LWEta2V5\n-----END PRIVATE KEY-----\n';
    expect(() => loadSigningKeys({ activeKid: 'k', keys: [{ kid: 'k', privateKeyPem: garbage }] })).toThrow(
      /^signing key "k": privateKeyPem is not a readable PEM private key/,
    );
    try {
      loadSigningKeys({ activeKid: 'k', keys: [{ kid: 'k', privateKeyPem: garbage }] });
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('c2VjcmV0');
      expect((err as Error).cause).toBeUndefined();
    }
  });

  it('rejects an active kid without a private key, duplicate kids and a private key among retired ones', () => {
    const a = makeKey('a');
    const b = makeKey('b');
    expect(() => loadSigningKeys({ activeKid: 'b', keys: [{ kid: 'a', privateKeyPem: a.privateKeyPem }] })).toThrow(/activeKid "b" has no private key/);
    expect(() =>
      loadSigningKeys({ activeKid: 'a', keys: [{ kid: 'a', privateKeyPem: a.privateKeyPem }], retiredPublicKeys: [{ kid: 'a', publicKeyPem: b.publicKeyPem }] }),
    ).toThrow(/kid "a" is configured more than once/);
    expect(() =>
      loadSigningKeys({ activeKid: 'a', keys: [{ kid: 'a', privateKeyPem: a.privateKeyPem }], retiredPublicKeys: [{ kid: 'b', publicKeyPem: b.privateKeyPem }] }),
    ).toThrow(/retired public key "b" holds a private key/);
  });

  it('accepts the parsed config (private keys as Secrets) and never shows a key when printed', () => {
    const k = makeKey('k-2025-01');
    const config = SigningKeysConfig.parse({ activeKid: k.kid, keys: [{ kid: k.kid, privateKeyPem: k.privateKeyPem }] });
    const keys = loadSigningKeys(config);
    const keyBody = k.privateKeyPem.split('\n')[1]!;
    expect(keys.activeKid).toBe('k-2025-01');
    for (const shown of [inspect(keys), JSON.stringify({ keys }), inspect(config), JSON.stringify(config)]) {
      expect(shown).not.toContain(keyBody);
    }
  });
});

describe('publicJwks', () => {
  it('publishes every configured and retired key as an Ed25519 signing JWK, and nothing private', () => {
    const active = makeKey('k-2025-06');
    const retired = makeKey('k-2025-01');
    const jwks = publicJwks(keysOf(active, [retired]));
    expect(jwks.keys.map((k) => k.kid)).toEqual(['k-2025-06', 'k-2025-01']);
    for (const jwk of jwks.keys) {
      expect(Ed25519Jwk.parse(jwk)).toEqual(jwk);
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    }
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
  });
});

describe('signMessage', () => {
  it('makes a detached compact JWS whose header names EdDSA, the kid and the grantline typ', () => {
    const keys = keysOf(makeKey('k1'));
    const jws = signMessage({ hello: 'world' }, keys);
    expect(jws).toMatch(/^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]{86}$/);
    const header = JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString('utf8')) as unknown;
    expect(header).toEqual({ alg: 'EdDSA', kid: 'k1', typ: JWS_TYP });
  });

  it('signs the canonical JSON without `signature`: key order and an old signature do not matter', () => {
    const keys = keysOf(makeKey('k1'));
    const jwks = publicJwks(keys);
    const jws = signMessage({ b: 2, a: 1 }, keys);
    expect(verifyDetachedJws(jws, { a: 1, b: 2, signature: 'whatever' }, jwks)).toEqual({ result: 'valid', kid: 'k1' });
    expect(verifyDetachedJws(jws, { a: 1, b: 3 }, jwks)).toMatchObject({ result: 'bad-signature', kid: 'k1' });
  });

  it('is a standard detached JWS: jose verifies it against our JWKS', async () => {
    const keys = keysOf(makeKey('k1'));
    const grant = signedGrant(keys);
    const [protectedHeader, , signature] = grant.signature.split('.') as [string, string, string];
    const { signature: _s, ...body } = grant;
    const result = await flattenedVerify(
      { protected: protectedHeader, payload: Buffer.from(canonicalJson(body)).toString('base64url'), signature },
      createLocalJWKSet(publicJwks(keys)),
      { algorithms: ['EdDSA'] },
    );
    expect(JSON.parse(new TextDecoder().decode(result.payload))).toEqual(body);
  });

  it('accepts a signature made by jose with the same key and header', async () => {
    const k = makeKey('k1');
    const keys = keysOf(k);
    const message = { ...signedGrant(keys), signature: undefined };
    const privateKey = createPrivateKey(k.privateKeyPem);
    const compact = await new CompactSign(new TextEncoder().encode(canonicalJson(message)))
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: JWS_TYP })
      .sign(privateKey);
    const [h, , s] = compact.split('.');
    expect(verifyDetachedJws(`${h}..${s}`, message, publicJwks(keys))).toEqual({ result: 'valid', kid: 'k1' });
    // And the JWK we publish imports in jose as an Ed25519 key.
    await expect(importJWK(publicJwks(keys).keys[0]!, 'EdDSA')).resolves.toBeDefined();
  });
});

describe('signGrant / sign', () => {
  it('returns a grant that passes the Grant schema', () => {
    expect(Grant.safeParse(signedGrant()).success).toBe(true);
  });

  it('refuses to sign a grant that does not match the schema', () => {
    const keys = keysOf(makeKey('k1'));
    const bad = { ...signedGrant(keys), ttlSeconds: -5 };
    expect(() => signGrant(bad, keys)).toThrow(/refusing to sign an invalid grant: ttlSeconds/);
  });

  it('replaces an existing signature instead of signing it', () => {
    const keys = keysOf(makeKey('k1'));
    const once = sign({ a: 1 }, keys);
    const twice = sign(once, keys);
    expect(twice.signature).toBe(once.signature);
  });
});

describe('verifyDetachedJws refuses', () => {
  const keys = keysOf(makeKey('k1'));
  const jwks = publicJwks(keys);
  const body = { a: 1 };
  const good = signMessage(body, keys);
  const [, , sig] = good.split('.') as [string, string, string];
  const header = (h: object) => Buffer.from(JSON.stringify(h)).toString('base64url');

  it.each([
    ['alg none', { alg: 'none', kid: 'k1', typ: JWS_TYP }, /alg is "none"/],
    ['HS256', { alg: 'HS256', kid: 'k1', typ: JWS_TYP }, /only "EdDSA"/],
    ['another typ', { alg: 'EdDSA', kid: 'k1', typ: 'JWT' }, /made for something else/],
    ['crit', { alg: 'EdDSA', kid: 'k1', typ: JWS_TYP, crit: ['b64'], b64: false }, /"crit" or "b64"/],
    ['no kid', { alg: 'EdDSA', typ: JWS_TYP }, /no kid/],
  ])('a header with %s', (_what, h, detail) => {
    const verdict = verifyDetachedJws(`${header(h)}..${sig}`, body, jwks);
    expect(verdict.result).toBe('unsupported-header');
    expect(verdict).toMatchObject({ detail: expect.stringMatching(detail) });
  });

  it('a JWS with an embedded payload, or that is not a JWS', () => {
    const embedded = good.replace('..', `.${Buffer.from('{"a":1}').toString('base64url')}.`);
    expect(verifyDetachedJws(embedded, body, jwks)).toMatchObject({ result: 'malformed', detail: expect.stringMatching(/embedded payload/) });
    expect(verifyDetachedJws('not a jws', body, jwks)).toMatchObject({ result: 'malformed' });
  });

  it('a kid the JWKS does not have, naming the kids it has', () => {
    const other = keysOf(makeKey('k-other'));
    expect(verifyDetachedJws(signMessage(body, other), body, jwks)).toMatchObject({
      result: 'unknown-kid',
      detail: expect.stringMatching(/no Ed25519 key with kid "k-other" in the JWKS \(it has: k1\)/),
    });
  });

  it('a signature by another key that reuses a known kid', () => {
    const impostor = keysOf(makeKey('k1'));
    expect(verifyDetachedJws(signMessage(body, impostor), body, jwks)).toMatchObject({ result: 'bad-signature', kid: 'k1' });
  });

  it('a truncated signature', () => {
    expect(verifyDetachedJws(good.slice(0, -4), body, jwks)).toMatchObject({ result: 'bad-signature' });
  });
});
