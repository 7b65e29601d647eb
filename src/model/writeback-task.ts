import { z } from 'zod';
import { IsoDateTime } from './common.js';
import { FulfillmentResult, Grant, Rejection, Revocation } from './decision.js';
import { PendingGrant } from './pending-grant.js';

/**
 * What the write-back worker is asked to do: write a signed decision, revocation or fulfillment
 * outcome on the ticket (the connector contract's `WriteBack`), write what a request awaiting
 * approval would grant, open the post-event review of a break-glass grant, or escalate an overdue
 * review with notes on both tickets.
 */
export const WritebackItem = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('decision'), decision: z.discriminatedUnion('outcome', [Grant, Rejection]) }),
  z.object({ kind: z.literal('revocation'), revocation: Revocation }),
  z.object({ kind: z.literal('fulfillment'), result: FulfillmentResult }),
  z.object({ kind: z.literal('open-review'), decision: Grant }),
  /** A break-glass review passed its deadline: a note on the ticket and on the review ticket, once. */
  z.object({
    kind: z.literal('review-overdue'),
    grantId: z.string().min(1),
    entitlementId: z.string().min(1),
    ticketKey: z.string().min(1),
    reviewDueAt: IsoDateTime,
    review: z.object({ ticketId: z.string().min(1), ticketKey: z.string().min(1), url: z.string() }).nullable(),
  }),
  /** A request that waits for approvals: what it would grant and who must approve (one note per content). */
  z.object({ kind: z.literal('pending'), pending: PendingGrant }),
]);
export type WritebackItem = z.infer<typeof WritebackItem>;

/** Work for the write-back worker on `grantline.writeback.v1`, written in the processor's transaction. */
export const WritebackTask = z.object({
  taskId: z.string().min(1),
  connectorId: z.string().min(1),
  ticketId: z.string().min(1),
  /** The ticket's key as the source names it (a Jira issue key): the write-back's scope is judged on it. */
  ticketKey: z.string().min(1),
  grantId: z.string().min(1).nullable(),
  requestId: z.string().min(1).nullable(),
  item: WritebackItem,
  idempotencyKey: z.string().min(1),
  createdAt: IsoDateTime,
  /**
   * The processor saw the ticket without a note of this key when it decided, and queued no other
   * task with it (the ticket's first decision): the note can only exist if this very task was
   * performed before, which the write-back worker rules out itself (first attempt, and not read
   * again after a crash or rebalance). Then it writes without reading the ticket for the marker.
   */
  noteAbsent: z.literal(true).optional(),
});
export type WritebackTask = z.infer<typeof WritebackTask>;
