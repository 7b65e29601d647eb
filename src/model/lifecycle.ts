import { z } from 'zod';
import { IsoDateTime } from './common.js';

/**
 * An identity event from HR or the identity provider, on `identity.lifecycle.v1`. An offboarded
 * principal's own grants, and every grant to a non-human identity they own, are revoked.
 */
export const IdentityLifecycleEvent = z.object({
  type: z.enum(['principal.offboarded', 'principal.deactivated']),
  principalId: z.string().min(1),
  at: IsoDateTime,
  /** Who reported it (`workday`, `okta`, `manual`). */
  source: z.string().min(1),
});
export type IdentityLifecycleEvent = z.infer<typeof IdentityLifecycleEvent>;

/** An alert the lifecycle role raises, on `grantline.alerts.v1`, for on-call and audit. */
export const LifecycleAlert = z.object({
  alertId: z.string().min(1),
  kind: z.enum(['revocation.overdue', 'revocation.failed', 'review.overdue']),
  grantId: z.string().min(1),
  ticket: z.object({ connectorId: z.string().min(1), ticketId: z.string().min(1), ticketKey: z.string().min(1) }),
  message: z.string().min(1),
  raisedAt: IsoDateTime,
});
export type LifecycleAlert = z.infer<typeof LifecycleAlert>;
