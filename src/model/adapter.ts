import { z } from 'zod';
import { IsoDateTime } from './common.js';

/**
 * An alert a fulfillment adapter (built with the adapter kit, `adapters/kit`) raises on
 * `grantline.alerts.v1`, beside grantline's own lifecycle and policy alerts:
 *
 * - `adapter.message.refused`: a message on the grant topic did not verify (forged, altered,
 *   signed by an unknown key, on the wrong key or channel); nothing was provisioned for it.
 * - `adapter.drift`: privilege on a resource the adapter manages that no active grant explains
 *   (granted by hand, outside the system of record); `action` says whether the adapter revoked it.
 * - `adapter.fulfillment.failed`: the target refused a provision or a revocation; the adapter
 *   keeps trying on every reconcile.
 */
export const AdapterAlert = z.object({
  alertId: z.string().min(1),
  kind: z.enum(['adapter.message.refused', 'adapter.drift', 'adapter.fulfillment.failed']),
  /** The adapter's name, as in its fulfillment results. */
  adapter: z.string().min(1),
  /** The grant topic the adapter reads. */
  topic: z.string().min(1),
  /**
   * What the alert is about, also its Kafka key: the grant id, or for a drift the privilege's key,
   * or for a message without a usable grant id `<partition>:<offset>` on `topic`.
   */
  subject: z.string().min(1),
  grantId: z.string().min(1).nullable(),
  /** For `adapter.message.refused`: every check that failed, in words. */
  failedChecks: z.array(z.object({ name: z.string().min(1), detail: z.string() })).optional(),
  /** For `adapter.drift`: the privilege no active grant explains. */
  privilege: z.object({ key: z.string().min(1), description: z.string().min(1) }).optional(),
  /** For `adapter.drift`: `revoked` (onDrift: revoke), `reported` (onDrift: alert), or `kept` (outside the mapping; never touched). */
  action: z.enum(['revoked', 'reported', 'kept', 'revoke-failed']).optional(),
  message: z.string().min(1),
  raisedAt: IsoDateTime,
});
export type AdapterAlert = z.infer<typeof AdapterAlert>;
