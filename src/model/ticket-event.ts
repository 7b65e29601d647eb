import { z } from 'zod';
import { IsoDateTime, Sha256Hex } from './common.js';
import { FulfillmentResult, RevocationTrigger } from './decision.js';
import { IdentityLifecycleEvent } from './lifecycle.js';

/**
 * Messages on `grantline.ticket-events.v1`. Everything that changes a ticket's story goes through
 * that topic, keyed by ticket, so that one processor (the partition owner) is the single writer of
 * the ticket's state and custody chain: webhook and poll deliveries, and commands from the
 * lifecycle role, the write-back worker and the CLI. Parsed with these schemas at the processor's
 * read boundary (`src/pipeline/processor/parse.ts`).
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

/**
 * The delivery id of the poller's sighting of a ticket at its `updated` time (ISO): the same
 * sighting always gets the same id, so the processor takes it once. The processor also marks the
 * sighting its own note caused as seen (`ticketUpdatedAt` of `ticket.written-back`).
 */
export function pollDeliveryId(ticketId: string, updatedAt: string): string {
  return `poll:${ticketId}:${updatedAt}`;
}

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
  /**
   * A manual revoke's operator signature (`grantline revoke --key`): Ed25519 over the command
   * without this member (src/trust/operators.ts). Required for trigger `manual`.
   */
  authorization: z.object({ operator: z.string().min(1), signature: z.string().min(1) }).optional(),
});
export type RevokeCommand = z.infer<typeof RevokeCommand>;

/** What every record command carries besides its kind-specific evidence. */
const RecordBase = {
  kind: z.literal('record'),
  commandId: z.string().min(1),
  connectorId: z.string().min(1),
  ticketId: z.string().min(1),
  grantId: z.string().min(1).nullable(),
  requestId: z.string().min(1).nullable(),
  actor: z.string().min(1),
  at: IsoDateTime,
};

/** The write-back worker wrote the decision, revocation or fulfillment note on the ticket. */
export const WrittenBackRecord = z.object({
  ...RecordBase,
  custodyKind: z.literal('ticket.written-back'),
  data: z.object({
    kind: z.string().min(1),
    recordId: z.string(),
    written: z.boolean(),
    idempotencyKey: z.string().min(1),
    /** The ticket's `updated` time the note set, when the source said (`WriteBackResult.ticketUpdatedAt`). */
    ticketUpdatedAt: IsoDateTime.optional(),
  }),
});

/** The write-back worker opened the post-event review ticket of a break-glass grant. */
export const ReviewOpenedRecord = z.object({
  ...RecordBase,
  custodyKind: z.literal('review.opened'),
  data: z.object({ ticketId: z.string().min(1), ticketKey: z.string().min(1), url: z.string(), noteRecordId: z.string() }),
});

/** The lifecycle read a review ticket closed in its source (`closedAt` as the source gave it). */
export const ReviewClosedRecord = z.object({
  ...RecordBase,
  custodyKind: z.literal('review.closed'),
  data: z.object({ review: z.string().min(1), outcome: z.string().nullable(), closedAt: z.string().nullable() }),
});

/** An adapter reported a grant provisioned, revoked or failed (`access.fulfillment.results.v1`). */
export const FulfillmentRecord = z.object({
  ...RecordBase,
  custodyKind: z.literal('fulfillment.reported'),
  data: FulfillmentResult,
});

/** No adapter confirmed a revocation in time (or one failed): re-send it and count the alert. */
export const RevocationOverdueRecord = z.object({
  ...RecordBase,
  custodyKind: z.literal('revocation.overdue'),
  data: z.object({ revocationId: z.string().min(1), attempt: z.number().int().positive(), message: z.string().min(1) }),
});

/** A break-glass review passed its deadline without being closed. */
export const ReviewOverdueRecord = z.object({
  ...RecordBase,
  custodyKind: z.literal('review.overdue'),
  data: z.object({ reviewDueAt: IsoDateTime, review: z.string().nullable(), message: z.string().min(1) }),
});

/**
 * The ticket is closed and nothing is pending: its state is tombstoned after this custody event
 * (the owner's lifecycle asks once `pipeline.retireAfterMs` has passed since `closedAt`).
 */
export const RetiredRecord = z.object({
  ...RecordBase,
  custodyKind: z.literal('ticket.retired'),
  data: z.object({ closedAt: IsoDateTime, retireAfterMs: z.number().int().nonnegative() }),
});

/**
 * Ask the ticket's processor to append custody evidence (write-back done, fulfillment, review...).
 * One member per custody kind, each with its own evidence: the processor switches on `custodyKind`
 * and reads typed data.
 */
export const RecordCommand = z.discriminatedUnion('custodyKind', [
  WrittenBackRecord,
  ReviewOpenedRecord,
  ReviewClosedRecord,
  FulfillmentRecord,
  RevocationOverdueRecord,
  ReviewOverdueRecord,
  RetiredRecord,
]);
export type RecordCommand = z.infer<typeof RecordCommand>;
/** The custody kinds another role can ask the processor to record. */
export type RecordKind = RecordCommand['custodyKind'];
/** The evidence a record command of one kind carries. */
export type RecordData<K extends RecordKind> = Extract<RecordCommand, { custodyKind: K }>['data'];

/** Builds a record command of one kind, its evidence typed by the kind. */
export function recordCommand<K extends RecordKind>(
  base: Omit<RecordCommand, 'kind' | 'custodyKind' | 'data'>,
  custodyKind: K,
  data: RecordData<K>,
): RecordCommand {
  return { kind: 'record', ...base, custodyKind, data } as Extract<RecordCommand, { custodyKind: K }>;
}

export const TicketEvent = z.discriminatedUnion('kind', [DeliveryEvent, RevokeCommand, RecordCommand]);
export type TicketEvent = z.infer<typeof TicketEvent>;


/**
 * Key of a partition command: an event that concerns whichever tickets of one partition it
 * matches, written by the lifecycle role to every partition of the ticket-events topic (explicit
 * partition), so each partition's owner acts on its own tickets and no process looks at all of them.
 */
export const PARTITION_COMMAND_KEY = 'grantline:partition-command';

/** A principal was offboarded: its owner revokes the grants of this partition it ends. */
export const OffboardedCommand = z.object({
  kind: z.literal('principal-offboarded'),
  /** The same in every partition's copy (derived from where the identity event was read). */
  commandId: z.string().min(1),
  event: IdentityLifecycleEvent,
});

/** An adapter reported on a grant: the owner of the partition holding the grant records it. */
export const FulfillmentCommand = z.object({
  kind: z.literal('fulfillment-reported'),
  commandId: z.string().min(1),
  result: FulfillmentResult,
  /**
   * The channel the result's verified signer is registered for (src/trust): only the owner knows
   * the grant's channel, so it checks the two agree. Where the result was read, for its refusal.
   */
  signerChannel: z.string().nullable(),
  origin: z.object({ topic: z.string().min(1), partition: z.number().int().min(0), offset: z.string().min(1), key: z.string().nullable() }),
});

export const PartitionCommand = z.discriminatedUnion('kind', [OffboardedCommand, FulfillmentCommand]);
export type PartitionCommand = z.infer<typeof PartitionCommand>;
