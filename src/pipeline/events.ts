import { z } from 'zod';
import {
  CustodyEventKind,
  IsoDateTime,
  RevocationTrigger,
  Sha256Hex,
  Subject,
  TicketSource,
} from '../model/index.js';

/**
 * Internal messages of the pipeline. Everything that changes a ticket's story goes through
 * `grantline.ticket-events.v1`, keyed by ticket, so that one processor (the partition owner) is the
 * single writer of that ticket's state and custody chain: webhook and poll deliveries, and commands
 * from the lifecycle role, the write-back worker and the CLI.
 */

/** Kafka key of everything about one ticket. */
export function ticketKey(connectorId: string, ticketId: string): string {
  return `${connectorId}|${ticketId}`;
}

/** A verified delivery from a source (webhook) or a change the poller saw. */
export const DeliveryEvent = z.object({
  kind: z.literal('delivery'),
  deliveryId: z.string().min(1),
  connectorId: z.string().min(1),
  ticketId: z.string().min(1),
  ticketKey: z.string().min(1).nullable(),
  eventType: z.string().min(1),
  via: z.enum(['webhook', 'poll']),
  receivedAt: IsoDateTime,
  payloadSha256: Sha256Hex,
  signatureVerified: z.boolean(),
  /** The verified raw body (UTF-8), kept as evidence; never trusted for decisions. Absent for polls. */
  payload: z.string().optional(),
});
export type DeliveryEvent = z.infer<typeof DeliveryEvent>;

/** Ask the ticket's processor to revoke one of its grants. Idempotent: a revoked grant stays revoked. */
export const RevokeCommand = z.object({
  kind: z.literal('revoke'),
  commandId: z.string().min(1),
  connectorId: z.string().min(1),
  ticketId: z.string().min(1),
  grantId: z.string().min(1),
  trigger: RevocationTrigger,
  reason: z.string().min(1),
  actor: z.string().min(1),
  requestedAt: IsoDateTime,
});
export type RevokeCommand = z.infer<typeof RevokeCommand>;

/** Ask the ticket's processor to append custody evidence (write-back done, fulfillment, review...). */
export const RecordCommand = z.object({
  kind: z.literal('record'),
  commandId: z.string().min(1),
  connectorId: z.string().min(1),
  ticketId: z.string().min(1),
  grantId: z.string().min(1).nullable(),
  requestId: z.string().min(1).nullable(),
  custodyKind: CustodyEventKind,
  actor: z.string().min(1),
  at: IsoDateTime,
  data: z.record(z.string(), z.unknown()),
});
export type RecordCommand = z.infer<typeof RecordCommand>;

export const TicketEvent = z.discriminatedUnion('kind', [DeliveryEvent, RevokeCommand, RecordCommand]);
export type TicketEvent = z.infer<typeof TicketEvent>;

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
    })
    .nullable(),
  provisionedAt: IsoDateTime.nullable(),
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
});
export type TicketState = z.infer<typeof TicketState>;

/** Work for the write-back worker: write on the ticket, or open a break-glass review. */
export const WritebackTask = z.object({
  taskId: z.string().min(1),
  connectorId: z.string().min(1),
  ticketId: z.string().min(1),
  grantId: z.string().min(1).nullable(),
  requestId: z.string().min(1).nullable(),
  /** A `WriteBack` item from the connector contract, or `{ kind: 'open-review', decision }`. */
  item: z.record(z.string(), z.unknown()),
  idempotencyKey: z.string().min(1),
  createdAt: IsoDateTime,
});
export type WritebackTask = z.infer<typeof WritebackTask>;
