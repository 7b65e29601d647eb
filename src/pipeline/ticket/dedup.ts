import type { TicketEvent, TicketState } from '../../model/index.js';

/** How many delivery ids and command ids a ticket remembers: the duplicate window. */
export const RECENT_IDS = 64;

/** Appends an id to a recent-ids window, dropping the oldest beyond `RECENT_IDS`. */
export function pushRecent(list: readonly string[], id: string): string[] {
  const next = [...list, id];
  return next.length > RECENT_IDS ? next.slice(next.length - RECENT_IDS) : next;
}

/** Whether the ticket has already taken this delivery or command (a redelivery or a repeated command). */
export function isDuplicate(state: TicketState, event: TicketEvent): boolean {
  return event.kind === 'delivery' ? state.recentDeliveryIds.includes(event.deliveryId) : state.recentCommandIds.includes(event.commandId);
}
