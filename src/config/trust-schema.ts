import { z } from 'zod';
import { SecretString } from '../connector/secret.js';
import { decodeInternalSecret, INTERNAL_KID, MIN_INTERNAL_KEY_BYTES } from '../trust/internal.js';
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

/** The `trust` section: who grantline believes, and the keys that prove it. */
export const TrustSection = z.strictObject({
  internal: Internal,
});
export type TrustConfig = z.infer<typeof TrustSection>;
