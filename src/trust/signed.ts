import { createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../custody/canonical.js';

/**
 * Ed25519 signatures of people and systems outside grantline: operators signing `grantline revoke`,
 * fulfillment adapters signing their results, identity feeds signing offboardings. A signature
 * covers the RFC 8785 canonical JSON of `{ purpose, topic, body }` (the body without its signature
 * member), so it verifies only for that purpose, on that topic, for exactly that content. Pure.
 */

/** What a signature is for; part of what is signed, so one purpose's signature never passes for another's. */
export type SignaturePurpose = 'operator-command' | 'fulfillment-result' | 'identity-event';

const DOMAIN = 'grantline.signed.v1\n';

/** The bytes signed for `body` (its `exclude` member left out) on `topic`. */
export function signedBytes(purpose: SignaturePurpose, topic: string, body: Record<string, unknown>, exclude: string): Buffer {
  const { [exclude]: _signature, ...rest } = body;
  return Buffer.from(DOMAIN + canonicalJson({ purpose, topic, body: rest }), 'utf8');
}

/** base64url Ed25519 signature of `body` without its `exclude` member. */
export function signBody(purpose: SignaturePurpose, topic: string, body: Record<string, unknown>, exclude: string, privateKey: KeyObject): string {
  return edSign(null, signedBytes(purpose, topic, body, exclude), privateKey).toString('base64url');
}

/** Whether `signature` (base64url) is `key`'s signature of `body` without its `exclude` member. Never throws. */
export function verifyBody(purpose: SignaturePurpose, topic: string, body: Record<string, unknown>, exclude: string, signature: string, key: KeyObject): boolean {
  if (!/^[A-Za-z0-9_-]{86}$/.test(signature)) return false;
  try {
    return edVerify(null, signedBytes(purpose, topic, body, exclude), key, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/** An Ed25519 public key from PEM; throws naming `what` (a public key is no secret, but is not quoted either). */
export function ed25519PublicKey(pem: string, what: string): KeyObject {
  if (pem.includes('PRIVATE KEY')) throw new Error(`${what}: holds a private key; list only the public key`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new Error(`${what}: not a readable PEM public key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${what}: not an Ed25519 key`);
  return key;
}
