import { createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import type { z } from 'zod';
import { Grant, Rejection, Revocation } from '../model/index.js';
import { canonicalJson } from './canonical.js';
import { JWS_ALG, type Jwks, type SigningKeys } from './keys.js';

/** JWS `typ` of grantline messages, so a grantline signature is never mistaken for another token. */
export const JWS_TYP = 'grantline-message+jws';

/** The protected header of every grantline signature. */
export type GrantlineJwsHeader = { alg: typeof JWS_ALG; kid: string; typ: typeof JWS_TYP };

const B64URL = /^[A-Za-z0-9_-]*$/;

function b64url(data: Uint8Array | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * The bytes a grantline signature covers: the RFC 8785 canonical JSON of the message without its
 * `signature` member. Every other member, including ones a schema does not know, is covered.
 */
export function signingPayload(message: object): string {
  const { signature: _signature, ...rest } = message as Record<string, unknown>;
  return canonicalJson(rest);
}

/**
 * Signs a message body with the active key: a detached compact JWS (RFC 7515 Appendix F),
 * `<base64url protected header>..<base64url signature>`, EdDSA/Ed25519 (RFC 8037), over the
 * base64url of the RFC 8785 canonical JSON of `body` without `signature`.
 *
 * @throws Error when the body cannot be canonicalized (a bug in the caller).
 */
export function signMessage(body: object, keys: SigningKeys): string {
  const header: GrantlineJwsHeader = { alg: JWS_ALG, kid: keys.activeKid, typ: JWS_TYP };
  const encodedHeader = b64url(canonicalJson(header));
  const signingInput = `${encodedHeader}.${b64url(signingPayload(body))}`;
  // Ed25519 hashes internally; node:crypto takes `null` as the digest for it.
  const signature = edSign(null, Buffer.from(signingInput, 'ascii'), keys.activePrivateKey());
  return `${encodedHeader}..${b64url(signature)}`;
}

/**
 * Returns a copy of `unsigned` with `signature` set (replacing any signature it had). Fits the
 * processor's `SignerPort.sign`.
 */
export function sign<T extends object>(unsigned: T, keys: SigningKeys): T & { signature: string } {
  const { signature: _old, ...rest } = unsigned as T & { signature?: unknown };
  return { ...rest, signature: signMessage(rest, keys) } as T & { signature: string };
}

function refuse(name: string, error: z.ZodError): never {
  throw new Error(`refusing to sign an invalid ${name}: ${error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
}

const UnsignedGrant = Grant.omit({ signature: true });
const UnsignedRejection = Rejection.omit({ signature: true });
const UnsignedRevocation = Revocation.omit({ signature: true });

/**
 * Checks a grant against the `Grant` schema and signs it. Signs the parsed value, so members the
 * schema does not know are dropped rather than signed unseen.
 *
 * @throws Error when the grant does not match the schema (a bug in the caller).
 */
export function signGrant(unsigned: Omit<Grant, 'signature'>, keys: SigningKeys): Grant {
  const parsed = UnsignedGrant.safeParse(unsigned);
  return parsed.success ? sign(parsed.data, keys) : refuse('grant', parsed.error);
}

/** As `signGrant`, for a rejection. */
export function signRejection(unsigned: Omit<Rejection, 'signature'>, keys: SigningKeys): Rejection {
  const parsed = UnsignedRejection.safeParse(unsigned);
  return parsed.success ? sign(parsed.data, keys) : refuse('rejection', parsed.error);
}

/** As `signGrant`, for a revocation. */
export function signRevocation(unsigned: Omit<Revocation, 'signature'>, keys: SigningKeys): Revocation {
  const parsed = UnsignedRevocation.safeParse(unsigned);
  return parsed.success ? sign(parsed.data, keys) : refuse('revocation', parsed.error);
}

/** The outcome of checking a detached JWS: a literal result, each failure with its explanation. */
export type JwsVerdict =
  | { result: 'valid'; kid: string }
  | { result: 'malformed'; detail: string }
  | { result: 'unsupported-header'; kid: string | null; detail: string }
  | { result: 'unknown-kid'; kid: string; detail: string }
  | { result: 'bad-signature'; kid: string; detail: string };

function decodeHeader(encoded: string): Record<string, unknown> | null {
  try {
    const header: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && !Array.isArray(header) ? (header as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function importJwk(jwk: Jwks['keys'][number]): KeyObject | null {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') return null;
  if (jwk.alg !== undefined && jwk.alg !== JWS_ALG && jwk.alg !== 'Ed25519') return null;
  if (jwk.use !== undefined && jwk.use !== 'sig') return null;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
  } catch {
    return null;
  }
}

/**
 * Verifies a grantline detached JWS over `message` (its canonical JSON without `signature`) with the
 * keys of a JWK Set. Accepts only `alg: EdDSA`, `typ: grantline-message+jws`, a `kid`, and no
 * `crit` or unencoded-payload (`b64: false`) header, so a token made for another purpose never passes.
 */
export function verifyDetachedJws(jws: string, message: object, jwks: Jwks): JwsVerdict {
  const parts = jws.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) {
    return { result: 'malformed', detail: 'signature is not a compact JWS (three base64url parts separated by dots)' };
  }
  const [encodedHeader = '', embeddedPayload, encodedSignature = ''] = parts;
  if (embeddedPayload !== '') {
    return { result: 'malformed', detail: 'signature carries an embedded payload; grantline signatures are detached (`<header>..<signature>`)' };
  }
  const header = decodeHeader(encodedHeader);
  if (header === null) {
    return { result: 'malformed', detail: 'the JWS protected header is not base64url-encoded JSON object' };
  }
  const kid = typeof header['kid'] === 'string' && header['kid'] !== '' ? header['kid'] : null;
  if (header['alg'] !== JWS_ALG) {
    return { result: 'unsupported-header', kid, detail: `header alg is ${JSON.stringify(header['alg'])}; only "${JWS_ALG}" (Ed25519) is accepted` };
  }
  if (header['typ'] !== JWS_TYP) {
    return { result: 'unsupported-header', kid, detail: `header typ is ${JSON.stringify(header['typ'])}, not "${JWS_TYP}": this signature was made for something else` };
  }
  if (header['crit'] !== undefined || header['b64'] !== undefined) {
    return { result: 'unsupported-header', kid, detail: 'header carries "crit" or "b64", which grantline signatures never use' };
  }
  if (kid === null) {
    return { result: 'unsupported-header', kid, detail: 'header has no kid, so the signing key cannot be found' };
  }

  const candidates = jwks.keys.filter((k) => k.kid === kid).map(importJwk).filter((k): k is KeyObject => k !== null);
  if (candidates.length === 0) {
    const known = jwks.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string');
    return {
      result: 'unknown-kid',
      kid,
      detail: `no Ed25519 key with kid "${kid}" in the JWKS (it has: ${known.length > 0 ? known.join(', ') : 'no kids'}): signed by a key this verifier does not trust, or the JWKS is out of date`,
    };
  }

  const signature = Buffer.from(encodedSignature, 'base64url');
  let payload: string;
  try {
    payload = signingPayload(message);
  } catch (err) {
    return { result: 'malformed', detail: `the message cannot be canonicalized: ${err instanceof Error ? err.message : String(err)}` };
  }
  const signingInput = Buffer.from(`${encodedHeader}.${b64url(payload)}`, 'ascii');
  const valid = signature.length === 64 && candidates.some((key) => edVerify(null, signingInput, key, signature));
  return valid
    ? { result: 'valid', kid }
    : {
        result: 'bad-signature',
        kid,
        detail: `signature does not match: the message was altered after signing, or signed by another key than "${kid}"`,
      };
}
