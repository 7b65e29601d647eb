import { ticketKey, type RecordCommand, type RevokeCommand, type TicketState } from '../../model/index.js';
import { CE_TYPES, encodeCloudEvent, type Output } from '../cloudevents.js';
import { grantsEndedBy, record } from '../lifecycle/plan.js';
import type { InboundMessage } from '../../kafka/index.js';
import type { Refused } from '../refusals.js';
import type { ParsedPartitionCommand } from './parse.js';

/** How the owner checks an adapter's report against the grant it names (src/trust, via the runtime). */
export interface PartitionCommandTrust {
  /** Whether an adapter registered for `channel` may report on a grant published on `grantTopic`. */
  serves(channel: string | undefined, grantTopic: string): boolean;
  /** The DLQ record and alert of a refused report, published in the chunk's transaction. */
  refuse(topic: string, partition: number, message: InboundMessage, refused: Refused): Output[];
}

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
export function planPartitionCommands(
  commands: readonly ParsedPartitionCommand[],
  view: PartitionView,
  ticketEvents: string,
  now: Date,
  trust: PartitionCommandTrust,
): Output[] {
  const out: (RevokeCommand | RecordCommand)[] = [];
  const refused: Output[] = [];
  for (const { command } of commands) {
    if (command.kind === 'principal-offboarded') {
      out.push(...grantsEndedBy(view.tickets(), command.event, now));
      continue;
    }
    const state = view.ticketOfGrant(command.result.grantId);
    const grant = state?.grants.find((g) => g.grantId === command.result.grantId);
    if (state === undefined || grant === undefined) continue;
    if (!trust.serves(command.signerChannel ?? undefined, grant.topic)) {
      // A genuine adapter of another channel reporting on this grant: refused, never recorded.
      const { origin } = command;
      const message = { key: origin.key === null ? null : Buffer.from(origin.key), value: Buffer.from(JSON.stringify(command.result)), offset: origin.offset };
      const detail = `an adapter of channel ${String(command.signerChannel)} reported on grant ${grant.grantId} of ${grant.topic}`;
      refused.push(...trust.refuse(origin.topic, origin.partition, message, { ok: false, reason: 'not-authorized', detail }));
      continue;
    }
    out.push(record(state, grant, 'fulfillment.reported', command.commandId, { ...command.result }, now));
  }
  return refused.concat(out.map((c) => ({
    topic: ticketEvents,
    message: encodeCloudEvent(ticketKey(c.connectorId, c.ticketId), { id: c.commandId, source: 'urn:grantline:processor', type: CE_TYPES.ticketEvent, time: now.toISOString() }, c),
  })));
}
