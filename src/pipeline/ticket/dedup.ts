import { pollDeliveryId, type TicketEvent, type TicketState } from '../../model/index.js';

/** How many delivery ids and command ids a ticket remembers: the duplicate window. */
export const RECENT_IDS = 64;

/** Appends an id to a recent-ids window, dropping the oldest beyond `RECENT_IDS`. */
export function pushRecent(list: readonly string[], id: string): string[] {
  const next = [...list, id];
  return next.length > RECENT_IDS ? next.slice(next.length - RECENT_IDS) : next;
}

/**
 * Whether the ticket has already taken this delivery or command (a redelivery or a repeated
 * command). A delivery whose verified payload states the ticket's update time is also taken when
 * the ticket was already read at that time (the sighting `pollDeliveryId` the processor marks for
 * each read, and for each note it wrote): reading it again would give the same ticket (issue 16).
 * The only home of this rule: the prefetch asks it before reading the source.
 */
export function isDuplicate(state: TicketState, event: TicketEvent): boolean {
  if (event.kind !== 'delivery') return state.recentCommandIds.includes(event.commandId);
  const seen = state.recentDeliveryIds;
  return seen.includes(event.deliveryId) || (event.sourceUpdatedAt !== undefined && seen.includes(pollDeliveryId(event.ticketId, event.sourceUpdatedAt)));
}
