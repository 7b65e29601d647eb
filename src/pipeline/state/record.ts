import type { InboundMessage } from '../../kafka/index.js';
import { TicketState, ticketKey } from '../../model/index.js';
import type { Opened } from '../../trust/index.js';

/** What one record of `grantline.ticket-state.v1` says. */
export type StateRecord =
  | { kind: 'state'; key: string; state: TicketState }
  /** A retired ticket (null value): whatever was held for the key is dropped. */
  | { kind: 'tombstone'; key: string }
  | { kind: 'invalid'; reason: string }
  /** Not sealed by grantline (src/trust): never applied; `open` has reported it. */
  | { kind: 'refused'; reason: string };

/**
 * The one read boundary of the ticket-state topic: every record read back (a partition's restore)
 * becomes a typed state, a tombstone, or a reason it was refused. Nothing else parses these bytes.
 * `open` authenticates the record (grantline's MAC, src/trust) and parses its JSON.
 */
export function readStateRecord(message: InboundMessage, open: (message: InboundMessage) => Opened): StateRecord {
  const key = message.key?.toString('utf8');
  if (!key) return { kind: 'invalid', reason: 'record has no key' };
  const opened = open(message);
  if (!opened.ok) return { kind: 'refused', reason: `${opened.reason}: ${opened.detail}` };
  if (message.value === null) return { kind: 'tombstone', key };
  const json = opened.value;
  const result = TicketState.safeParse(json);
  if (!result.success) return { kind: 'invalid', reason: `not a ticket state: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
  const own = ticketKey(result.data.connectorId, result.data.ticketId);
  if (own !== key) return { kind: 'invalid', reason: `key ${key} does not match the state's ticket ${own}` };
  return { kind: 'state', key, state: result.data };
}

/** The record the processor writes for a ticket's new state, in its transaction. */
export function encodeStateRecord(key: string, state: TicketState): { key: string; value: string; headers: Record<string, string> } {
  return { key, value: JSON.stringify(state), headers: {} };
}
