import { z } from 'zod';
import { IsoDateTime } from './common.js';

/**
 * One break-glass grant as the per-person limit counts it: a record of the compacted
 * `grantline.break-glass.v1` topic, keyed by grant id. The processor that issues a break-glass grant
 * writes it (in the same transaction as the grant) and writes it again with `releasedAt` when the
 * grant is revoked; every processor reads the whole topic, so the count spans tickets on every
 * partition and instance.
 */
export const BreakGlassHolding = z.object({
  grantId: z.string().min(1),
  /** Who holds the access: the human subject, or for a non-human identity the person who invoked it. */
  holder: z.string().min(1),
  entitlementId: z.string().min(1),
  ticket: z.object({ connectorId: z.string().min(1), ticketId: z.string().min(1), ticketKey: z.string().min(1) }),
  expiresAt: IsoDateTime,
  /** When the grant was revoked; a released holding no longer counts. */
  releasedAt: IsoDateTime.nullable(),
});
export type BreakGlassHolding = z.infer<typeof BreakGlassHolding>;
