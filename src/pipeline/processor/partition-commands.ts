import { ticketKey, type RecordCommand, type RevokeCommand, type TicketState } from '../../model/index.js';
import { CE_TYPES, encodeCloudEvent, type Output } from '../cloudevents.js';
import { grantsEndedBy, record } from '../lifecycle/plan.js';
import type { ParsedPartitionCommand } from './parse.js';

/** This partition's tickets as the chunk leaves them: what the chunk decided over what was held. */
export interface PartitionView {
  /** Every ticket of the partition. */
  tickets(): Iterable<TicketState>;
  /** The ticket holding a grant, if it is on this partition. */
  ticketOfGrant(grantId: string): TicketState | undefined;
}

/**
 * What the owner of a partition does with a partition command: the revocations an offboarding asks
 * for on this partition's tickets, and the record of an adapter's report when the grant is held
 * here (another partition's owner records it otherwise). Each becomes a command on the ticket's key,
 * published in the chunk's transaction and decided like any other; their ids are deterministic, so
 * a command read again asks for nothing new.
 */
export function planPartitionCommands(commands: readonly ParsedPartitionCommand[], view: PartitionView, ticketEvents: string, now: Date): Output[] {
  const out: (RevokeCommand | RecordCommand)[] = [];
  for (const { command } of commands) {
    if (command.kind === 'principal-offboarded') {
      out.push(...grantsEndedBy(view.tickets(), command.event, now));
      continue;
    }
    const state = view.ticketOfGrant(command.result.grantId);
    const grant = state?.grants.find((g) => g.grantId === command.result.grantId);
    if (state === undefined || grant === undefined) continue;
    out.push(record(state, grant, 'fulfillment.reported', command.commandId, { ...command.result }, now));
  }
  return out.map((c) => ({
    topic: ticketEvents,
    message: encodeCloudEvent(ticketKey(c.connectorId, c.ticketId), { id: c.commandId, source: 'urn:grantline:processor', type: CE_TYPES.ticketEvent, time: now.toISOString() }, c),
  }));
}
