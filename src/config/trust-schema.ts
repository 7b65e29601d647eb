import { z } from 'zod';
import { SecretString } from '../connector/secret.js';
import { decodeInternalSecret, INTERNAL_KID, MIN_INTERNAL_KEY_BYTES } from '../trust/internal.js';
import { ed25519PublicKey } from '../trust/signed.js';
import { nonEmpty } from './fields.js';

const InternalKey = z.strictObject({
  kid: nonEmpty.regex(INTERNAL_KID, 'must be 1-64 letters, digits, "_" or "-" (it travels in a message header)'),
  // Checked before it becomes a Secret, so the message can say what is wrong without the value.
  secret: z
    .string({ error: 'expected a secret string (use ${file:PATH} or ${env:NAME})' })
    .refine((s) => decodeInternalSecret(s) !== null, `must be base64 of at least ${MIN_INTERNAL_KEY_BYTES} random bytes (grantline keygen --internal writes one)`)
    .pipe(SecretString),
});

/** Keys of the MAC on grantline's internal topics: `activeKid` seals, every listed key verifies. */
const Internal = z
  .strictObject({
    activeKid: nonEmpty,
    keys: z.array(InternalKey).min(1, 'at least one internal key is needed'),
  })
  .superRefine((s, ctx) => {
    if (!s.keys.some((k) => k.kid === s.activeKid)) ctx.addIssue({ code: 'custom', path: ['activeKid'], message: `no key in trust.internal.keys has kid "${s.activeKid}"` });
    const seen = new Set<string>();
    s.keys.forEach((k, i) => {
      if (seen.has(k.kid)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'kid'], message: `kid "${k.kid}" is used more than once` });
      seen.add(k.kid);
    });
  });

function isEd25519Public(pem: string): boolean {
  try {
    ed25519PublicKey(pem, 'key');
    return true;
  } catch {
    return false;
  }
}

/** An Ed25519 public key in SPKI PEM (`-----BEGIN PUBLIC KEY-----`). */
export const Ed25519PublicPem = z.string({ error: 'expected an Ed25519 public key in PEM' }).refine(isEd25519Public, 'not an Ed25519 public key in PEM ("-----BEGIN PUBLIC KEY-----")');

/** Ids listed twice in one list are an error at the second one. */
function unique<T>(field: keyof T & string, what: string) {
  return (list: readonly T[], ctx: z.RefinementCtx): void => {
    const seen = new Set<unknown>();
    list.forEach((item, i) => {
      const id = item[field];
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: [i, field], message: `${what} "${String(id)}" is listed more than once` });
      seen.add(id);
    });
  };
}

/** People who may sign `grantline revoke`: their id is their directory principal id. */
const Operator = z.strictObject({ id: nonEmpty, publicKeyPem: Ed25519PublicPem });

/** A fulfillment adapter's result-signing key, for the one grant channel it serves (a kit adapter's `signingKey`). */
const Adapter = z.strictObject({
  channel: nonEmpty.regex(/^[A-Za-z0-9_-]+$/, 'a grant channel: letters, digits, "_" or "-"'),
  kid: nonEmpty,
  publicKeyPem: Ed25519PublicPem,
});

/** An HR or identity system writing offboardings to identity.lifecycle.v1: `id` is its kid and its events' `source`. */
const IdentityFeed = z.strictObject({ id: nonEmpty, publicKeyPem: Ed25519PublicPem });

/**
 * The `trust` section: who grantline believes, and the keys that prove it. `internal` is required
 * to serve (every grantline process holds it) and optional for the CLI, so an operator's machine
 * holds only the operator's own key.
 */
export const TrustSection = z
  .strictObject({
    internal: Internal.optional(),
    operators: z.array(Operator).default([]).superRefine(unique('id', 'operator')),
    adapters: z.array(Adapter).default([]).superRefine(unique('kid', 'adapter kid')),
    identityFeeds: z.array(IdentityFeed).default([]).superRefine(unique('id', 'identity feed')),
  })
  .prefault({});
export type TrustConfig = z.infer<typeof TrustSection>;
