import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { z } from 'zod';
import type { Secret } from '../connector/secret.js';
import { SecretString } from '../connector/secret.js';

/** JWS `alg` of every grantline signature (RFC 8037: EdDSA with an Ed25519 key). */
export const JWS_ALG = 'EdDSA';

/**
 * Signing-key configuration: the kid that signs now, its Ed25519 PKCS#8 PEM private keys, and the
 * public keys of retired kids so that messages they signed still verify after a rotation.
 * Private keys become `Secret`s on parsing and so never print.
 */
export const SigningKeysConfig = z.object({
  activeKid: z.string().min(1),
  keys: z.array(z.object({ kid: z.string().min(1), privateKeyPem: SecretString })).min(1),
  retiredPublicKeys: z.array(z.object({ kid: z.string().min(1), publicKeyPem: z.string().min(1) })).default([]),
});
export type SigningKeysConfig = z.infer<typeof SigningKeysConfig>;

/** What `loadSigningKeys` accepts: the parsed config, or the same shape with plain PEM strings (tests, tools). */
export type SigningKeysInput = {
  activeKid: string;
  keys: readonly { kid: string; privateKeyPem: string | Secret }[];
  retiredPublicKeys?: readonly { kid: string; publicKeyPem: string }[] | undefined;
};

/** An Ed25519 public key as a JWK (RFC 8037), as published in the JWKS. */
export const Ed25519Jwk = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected the base64url encoding of a 32-byte Ed25519 public key'),
  kid: z.string().min(1),
  alg: z.literal(JWS_ALG),
  use: z.literal('sig'),
});
export type Ed25519Jwk = z.infer<typeof Ed25519Jwk>;

/**
 * A JWK Set as a verifier receives it. Lenient on purpose: a set may carry other key types, which
 * verification ignores; only entries that are Ed25519 keys are ever used.
 */
export const Jwks = z.object({
  keys: z.array(
    z.looseObject({
      kty: z.string(),
      kid: z.string().optional(),
      crv: z.string().optional(),
      x: z.string().optional(),
      alg: z.string().optional(),
      use: z.string().optional(),
    }),
  ),
});
export type Jwks = z.infer<typeof Jwks>;

/** The exact document served at `/.well-known/jwks.json`. */
export type PublicJwks = { keys: Ed25519Jwk[] };

/** The JWK of an Ed25519 public key (or of the public half of a private key). */
export function ed25519Jwk(key: KeyObject, kid: string): Ed25519Jwk {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new Error(`key "${kid}" is not an Ed25519 key`);
  }
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid, alg: JWS_ALG, use: 'sig' };
}

/**
 * Loaded signing keys. Holds the active private key without exposing it: printing, inspecting or
 * serializing a `SigningKeys` shows only kids. Build it with `loadSigningKeys`.
 */
export class SigningKeys {
  readonly #activeKid: string;
  readonly #activeKey: KeyObject;
  readonly #publicKeys: ReadonlyMap<string, KeyObject>;

  /** @internal use `loadSigningKeys`, which checks every key. */
  constructor(activeKid: string, activeKey: KeyObject, publicKeys: ReadonlyMap<string, KeyObject>) {
    this.#activeKid = activeKid;
    this.#activeKey = activeKey;
    this.#publicKeys = publicKeys;
  }

  /** The kid that signs new messages. */
  get activeKid(): string {
    return this.#activeKid;
  }

  /** Every kid whose public key is published: the configured private keys' and the retired ones. */
  get kids(): string[] {
    return [...this.#publicKeys.keys()];
  }

  /** @internal the active private key, for `signMessage` only. */
  activePrivateKey(): KeyObject {
    return this.#activeKey;
  }

  /** @internal public keys by kid, for `publicJwks`. */
  publicKeys(): ReadonlyMap<string, KeyObject> {
    return this.#publicKeys;
  }

  toJSON(): { activeKid: string; kids: string[] } {
    return { activeKid: this.#activeKid, kids: this.kids };
  }

  [inspect.custom](): string {
    return `SigningKeys(active=${this.#activeKid}, kids=[${this.kids.join(', ')}])`;
  }
}

function reveal(pem: string | Secret): string {
  return typeof pem === 'string' ? pem : pem.reveal();
}

/**
 * Loads and checks signing keys from config. Every key must be Ed25519; kids must be unique across
 * private and retired keys; the active kid must have a private key. Run at startup: a bad key is a
 * configuration error.
 *
 * @throws Error naming the offending kid (never the key material).
 */
export function loadSigningKeys(input: SigningKeysInput): SigningKeys {
  const publicKeys = new Map<string, KeyObject>();
  const privateKeys = new Map<string, KeyObject>();
  const claim = (kid: string): void => {
    if (publicKeys.has(kid)) {
      throw new Error(`signing key kid "${kid}" is configured more than once; every kid must be unique`);
    }
  };

  for (const { kid, privateKeyPem } of input.keys) {
    claim(kid);
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: reveal(privateKeyPem), format: 'pem' });
    } catch {
      // The parser's error is dropped on purpose: it may quote the input, and the input is a secret.
      throw new Error(`signing key "${kid}": privateKeyPem is not a readable PEM private key (expected Ed25519 PKCS#8 "BEGIN PRIVATE KEY")`);
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new Error(`signing key "${kid}" is a ${key.asymmetricKeyType ?? 'unknown'} key; grantline signs with Ed25519 only (generate one with \`grantline keygen --kid ${kid}\`)`);
    }
    privateKeys.set(kid, key);
    publicKeys.set(kid, createPublicKey(key));
  }

  for (const { kid, publicKeyPem } of input.retiredPublicKeys ?? []) {
    claim(kid);
    // createPublicKey would quietly derive a public key from a private one; refuse instead, since a
    // private key in this non-secret field is a leak waiting to happen.
    if (publicKeyPem.includes('PRIVATE KEY')) {
      throw new Error(`retired public key "${kid}" holds a private key; list only the public key of a retired kid`);
    }
    let key: KeyObject;
    try {
      key = createPublicKey({ key: publicKeyPem, format: 'pem' });
    } catch {
      throw new Error(`retired public key "${kid}": publicKeyPem is not a readable PEM public key (expected Ed25519 SPKI "BEGIN PUBLIC KEY")`);
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new Error(`retired public key "${kid}" is a ${key.asymmetricKeyType ?? 'unknown'} key; grantline verifies Ed25519 only`);
    }
    publicKeys.set(kid, key);
  }

  const active = privateKeys.get(input.activeKid);
  if (active === undefined) {
    const known = [...privateKeys.keys()].join(', ') || 'none';
    throw new Error(`activeKid "${input.activeKid}" has no private key in keys (configured: ${known})`);
  }
  return new SigningKeys(input.activeKid, active, publicKeys);
}

/**
 * The public JWK Set: every configured key's public half plus the retired public keys, so messages
 * signed before a rotation still verify. This is the body of `GET /.well-known/jwks.json`.
 */
export function publicJwks(keys: SigningKeys): PublicJwks {
  return { keys: [...keys.publicKeys()].map(([kid, key]) => ed25519Jwk(key, kid)) };
}
