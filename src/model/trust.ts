import { z } from 'zod';
import { IsoDateTime } from './common.js';

/**
 * An alert grantline raises on `grantline.alerts.v1` when it refused to act on a message it read:
 * on an internal topic the message's MAC was missing, made with an unknown key or did not match
 * (forged, altered, or replayed under another key); on a signed input topic the signature was
 * missing, unknown or wrong, or its signer may not say what it said. The message went to the DLQ.
 * Its id is the message's position, so every process that reads the same refused message raises
 * the same alert.
 */
export const TrustAlert = z.object({
  alertId: z.string().min(1),
  kind: z.enum(['message.refused']),
  /** The DLQ stage: `<reader>.trust` (`processor.trust`, `state.trust`, `writeback.trust`, ...). */
  stage: z.string().min(1),
  /** Stable code: unsealed, unknown-key, bad-mac, malformed, unsigned, bad-signature, not-authorized, out-of-scope. */
  reason: z.string().min(1),
  topic: z.string().min(1),
  partition: z.number().int().nonnegative(),
  offset: z.string().min(1),
  key: z.string().nullable(),
  /** `service@instance` of the process that refused it. */
  raisedBy: z.string().min(1),
  message: z.string().min(1),
  raisedAt: IsoDateTime,
});
export type TrustAlert = z.infer<typeof TrustAlert>;
