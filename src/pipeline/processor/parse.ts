import type { InboundMessage } from '../../kafka/index.js';
import { PARTITION_COMMAND_KEY, PartitionCommand, TicketEvent, ticketKey } from '../../model/index.js';
import type { Opened } from '../../trust/index.js';

/** A ticket event read from `grantline.ticket-events.v1`, with where it came from. */
export interface ParsedEvent {
  readonly offset: string;
  readonly key: string;
  readonly event: TicketEvent;
  readonly message: InboundMessage;
}

/** A partition command read from `grantline.ticket-events.v1` (see `PARTITION_COMMAND_KEY`). */
export interface ParsedPartitionCommand {
  readonly offset: string;
  readonly command: PartitionCommand;
  readonly message: InboundMessage;
}

export type ParseResult =
  | { ok: true; parsed: ParsedEvent }
  | { ok: true; command: ParsedPartitionCommand }
  | { ok: false; reason: string; refused?: Extract<Opened, { ok: false }> };

function issues(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/**
 * The processor's read boundary: a message becomes a typed `TicketEvent` or `PartitionCommand`
 * here or is refused with a reason (for the DLQ). Nothing past this point sees bytes or untyped
 * JSON. `open` authenticates the message (its MAC, src/trust) and parses its JSON: a message it
 * refuses is never acted on.
 */
export function parseTicketEvent(message: InboundMessage, open: (message: InboundMessage) => Opened): ParseResult {
  const key = message.key?.toString('utf8');
  if (!key) return { ok: false, reason: 'message has no key' };
  if (message.value === null) return { ok: false, reason: 'message has no value' };
  const opened = open(message);
  if (!opened.ok) return { ok: false, reason: `${opened.reason}: ${opened.detail}`, refused: opened };
  const json = opened.value;
  if (key === PARTITION_COMMAND_KEY) {
    const command = PartitionCommand.safeParse(json);
    if (!command.success) return { ok: false, reason: `not a partition command: ${issues(command.error)}` };
    return { ok: true, command: { offset: message.offset, command: command.data, message } };
  }
  const result = TicketEvent.safeParse(json);
  if (!result.success) return { ok: false, reason: `not a ticket event: ${issues(result.error)}` };
  const event = result.data;
  if (key !== ticketKey(event.connectorId, event.ticketId)) {
    return { ok: false, reason: `key ${key} does not match the event's ticket ${ticketKey(event.connectorId, event.ticketId)}` };
  }
  return { ok: true, parsed: { offset: message.offset, key, event, message } };
}
