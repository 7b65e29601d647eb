import { z } from 'zod';
import { IsoDateTime } from './common.js';

/**
 * Records of `grantline.ticket-index.v1`, written by the owner of a ticket's partition in the same
 * transaction as the records they point at (src/pipeline/processor/commit.ts), sealed with
 * grantline's MAC. Kept forever, like the custody topic: evidence outlives the ticket's live state.
 *
 * - keyed by the ticket (`ticketKey(connectorId, ticketId)`, co-partitioned with its events): where
 *   one transaction put that ticket's custody events and signed messages;
 * - keyed `grant:<grantId>`: the ticket that issued a grant;
 * - keyed `name:<name>`: the ticket a human key (ACC-12) or a source ticket id names.
 */

/** Where one record of a ticket is, and what it is. */
export const IndexedRecord = z.object({
  topic: z.string().min(1),
  partition: z.number().int().nonnegative(),
  offset: z.string().regex(/^\d+$/),
  /** `custody` for a custody event; else the CloudEvent type of the signed message. */
  type: z.string().min(1),
  /** The custody event id, or the message's id (grant, revocation, amendment or rejection id). */
  id: z.string().min(1),
  grantId: z.string().min(1).nullable(),
});
export type IndexedRecord = z.infer<typeof IndexedRecord>;

const Ticket = { connectorId: z.string().min(1), ticketId: z.string().min(1) };

export const TicketIndexRecord = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ticket'), ...Ticket, ticketKey: z.string().min(1), writtenAt: IsoDateTime, records: z.array(IndexedRecord).min(1) }),
  z.object({ kind: z.literal('grant'), ...Ticket, grantId: z.string().min(1) }),
  z.object({ kind: z.literal('name'), ...Ticket, name: z.string().min(1) }),
]);
export type TicketIndexRecord = z.infer<typeof TicketIndexRecord>;

/** The index key of a grant's record. */
export function grantIndexKey(grantId: string): string {
  return `grant:${grantId}`;
}

/** The index key of a name's record (a ticket's human key, or its source id). */
export function nameIndexKey(name: string): string {
  return `name:${name}`;
}
