import { z } from 'zod';
import { IsoDateTime, Sha256Hex, TicketSource } from './common.js';
import { Subject } from './request.js';
import { RevocationTrigger } from './decision.js';

/** A grant the processor issued for a ticket, as long as it matters to the lifecycle. */
export const TrackedGrant = z.object({
  grantId: z.string().min(1),
  requestId: z.string().min(1),
  topic: z.string().min(1),
  source: TicketSource,
  subject: Subject,
  subjectOwnerPrincipalId: z.string().min(1).nullable(),
  entitlementId: z.string().min(1),
  expiresAt: IsoDateTime,
  breakGlass: z
    .object({
      reviewDueAt: IsoDateTime,
      review: z
        .object({ ticketId: z.string(), ticketKey: z.string(), url: z.string(), closed: z.boolean(), outcome: z.string().nullable() })
        .nullable(),
      escalatedAt: IsoDateTime.nullable(),
      /** Who holds it for the per-person limit (`grantline.break-glass.v1`); absent on grants issued before the limit existed. */
      holder: z.string().min(1).optional(),
    })
    .nullable(),
  provisionedAt: IsoDateTime.nullable(),
  /** The grant's TTL, and `fulfillment` when it counts from the adapter's provisioning (absent on older states). */
  ttlSeconds: z.number().int().positive().optional(),
  ttlStartsAt: z.literal('fulfillment').optional(),
  /** When the expiry was amended (`grant.amended`); it is amended once. */
  amendedAt: IsoDateTime.optional(),
  revocation: z
    .object({
      revocationId: z.string().min(1),
      trigger: RevocationTrigger,
      reason: z.string().min(1),
      actor: z.string().min(1),
      revokedAt: IsoDateTime,
      confirmedAt: IsoDateTime.nullable(),
      failedAt: IsoDateTime.nullable(),
      overdueAlerts: z.number().int().nonnegative(),
      /** When the last overdue alert was recorded; the next one is due a full confirmation period later. */
      lastOverdueAt: IsoDateTime.optional(),
      /** The signed `grant.revoked` message, re-sent as it was while no adapter confirms it. */
      signed: z.string().min(1),
    })
    .nullable(),
});
export type TrackedGrant = z.infer<typeof TrackedGrant>;

/**
 * Per-ticket decision state, kept in the compacted `grantline.ticket-state.v1` topic (co-partitioned
 * with the events: same key, same partition count) and restored from it after a restart or rebalance.
 */
export const TicketState = z.object({
  connectorId: z.string().min(1),
  ticketId: z.string().min(1),
  ticketKey: z.string().min(1),
  /** Grows by one with every write; a reader keeps the highest it saw. */
  version: z.number().int().nonnegative(),
  recentDeliveryIds: z.array(z.string()),
  recentCommandIds: z.array(z.string()),
  /** Hash of everything the last decision depended on; equal hash, no new decision. */
  lastDecision: z
    .object({
      inputSha256: Sha256Hex,
      requestId: z.string().min(1),
      outcome: z.enum(['granted', 'rejected']),
      decisionId: z.string().min(1),
      decidedAt: IsoDateTime,
    })
    .nullable(),
  grants: z.array(TrackedGrant),
  custodyHead: z.object({ seq: z.number().int().nonnegative(), hash: Sha256Hex }).nullable(),
  /**
   * When the processor first saw the source ticket closed (not open for a decision); null or absent
   * while it is open. A closed ticket with nothing pending is retired `pipeline.retireAfterMs` later.
   */
  closedAt: IsoDateTime.nullable().optional(),
  /**
   * Idempotency keys of the notes queued for the source ticket (write-back tasks that end in a
   * `ticket.written-back` record) and not yet written; absent when none. A ticket is not retired
   * while one is pending: its record would otherwise arrive for a ticket with no custody head.
   */
  pendingWritebacks: z.array(z.string().min(1)).optional(),
});
export type TicketState = z.infer<typeof TicketState>;

