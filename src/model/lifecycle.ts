import { z } from 'zod';
import { IsoDateTime } from './common.js';
import { DetachedJws } from './decision.js';

/**
 * An identity event from HR or the identity provider, on `identity.lifecycle.v1`. An offboarded
 * principal's own grants, and every grant to a non-human identity they own, are revoked.
 */
export const IdentityLifecycleEvent = z.object({
  type: z.enum(['principal.offboarded', 'principal.deactivated']),
  principalId: z.string().min(1),
  at: IsoDateTime,
  /** Who reported it (`workday`, `okta`, `manual`; `scim` when grantline's SCIM endpoint wrote it). */
  source: z.string().min(1),
  /**
   * A detached JWS (EdDSA) over the RFC 8785 canonical JSON of the event without `signature`: by
   * grantline's key when its SCIM endpoint wrote the event, else by a feed registered in
   * `trust.identityFeeds` (kid = the feed's id = `source`). The lifecycle acts on no event without
   * one (src/trust/inputs.ts); optional in the schema so a refused event still parses.
   */
  signature: DetachedJws.optional(),
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

/**
 * An alert about the policy documents, on `grantline.alerts.v1` beside the lifecycle's: a new
 * version of the catalog or directory was refused (invalid on its own or against the other, or its
 * grant topic could not be created), so the version named in `inForce` still decides. Raised by
 * every process that read the refused version (`raisedBy`), once per distinct set of problems.
 */
export const PolicyAlert = z.object({
  alertId: z.string().min(1),
  kind: z.enum(['policy.reload.failed']),
  /** Every problem, each with its file and the path of the bad field (empty: the file itself). */
  problems: z
    .array(z.object({ document: z.enum(['catalog', 'directory']), file: z.string().min(1), path: z.string(), message: z.string().min(1) }))
    .min(1),
  /** Content versions of the catalog and directory still in force. */
  inForce: z.object({ catalogVersion: z.string().min(1), directoryVersion: z.string().min(1) }),
  /** `service@instance` of the process that refused the new version. */
  raisedBy: z.string().min(1),
  message: z.string().min(1),
  raisedAt: IsoDateTime,
});
export type PolicyAlert = z.infer<typeof PolicyAlert>;
