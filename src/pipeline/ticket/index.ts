import type { TicketSnapshot } from '../../connector/contract.js';
import { pollDeliveryId, type DeliveryEvent, type TicketEvent, type TicketState } from '../../model/index.js';
import type { Output } from '../cloudevents.js';
import type { ProcessorPorts } from '../ports.js';
import { record, revokeByCommand } from './commands.js';
import { TicketContext, type TicketCounts } from './context.js';
import { isDuplicate } from './dedup.js';
import { evaluate } from './evaluate.js';

export type { Output } from '../cloudevents.js';
export { isActive, reduce, emptyState, nextVersion, retirable, storyOver, type TicketChange } from './state.js';
export { RECENT_IDS } from './dedup.js';

/** What processing one ticket's events in a batch produced. */
export interface TicketOutcome {
  readonly state: TicketState;
  /** True: the ticket is retired; its state is tombstoned instead of written. */
  readonly retired: boolean;
  readonly outputs: Output[];
  readonly counts: TicketCounts;
}

export interface TicketInput {
  readonly connectorId: string;
  readonly ticketId: string;
  readonly state: TicketState | null;
  /** This ticket's events of the batch, in offset order. */
  readonly events: readonly TicketEvent[];
  /** The authoritative ticket, fetched once for the batch when a new delivery needs it. */
  readonly snapshot: TicketSnapshot | null;
  readonly now: Date;
}

/**
 * Processes one ticket's events of a batch: deliveries (dedup, one evaluation against the fetched
 * snapshot) and commands (revoke, record). Pure apart from the injected ports: no Kafka, no HTTP.
 * State changes go through the reducer (`state.ts`), messages through the emitter (`emitter.ts`).
 * The caller publishes `outputs` and `state` in one transaction with the consumed offsets.
 */
export function processTicket(input: TicketInput, ports: ProcessorPorts): TicketOutcome {
  const ctx = new TicketContext(
    { connectorId: input.connectorId, ticketId: input.ticketId, state: input.state, snapshotKey: input.snapshot?.ticketKey ?? null, now: input.now },
    ports,
  );
  // A ticket with no state was never seen, or was retired. A command (a revoke, a record) is about a
  // story the ticket had, so with no state it can only be one read again after the retirement; and
  // a delivery of a closed ticket gives nothing: a closed ticket gets no new grant. Either way a
  // retired ticket's custody chain is not restarted by an old event read again.
  const events = input.state === null ? input.events.filter((e) => e.kind === 'delivery') : input.events;
  ctx.counts.duplicates += input.events.length - events.length;
  if (input.state === null && (events.length === 0 || (input.snapshot !== null && !openForDecision(ctx, input.snapshot)))) {
    ctx.counts.duplicates += events.length;
    return { state: ctx.state, retired: false, outputs: [], counts: ctx.counts };
  }
  let pendingDelivery: DeliveryEvent | null = null;
  for (const event of events) {
    if (isDuplicate(ctx.state, event)) {
      ctx.counts.duplicates += 1;
      continue;
    }
    switch (event.kind) {
      case 'delivery':
        ctx.apply({ type: 'delivery-seen', deliveryId: event.deliveryId });
        ctx.custody(
          'delivery.received',
          `${event.via}:${event.connectorId}`,
          {
            deliveryId: event.deliveryId,
            via: event.via,
            eventType: event.eventType,
            receivedAt: event.receivedAt,
            payloadSha256: event.payloadSha256,
            signatureVerified: event.signatureVerified,
          },
          { requestId: null, grantId: null },
        );
        pendingDelivery = event;
        break;
      case 'revoke':
        ctx.apply({ type: 'command-seen', commandId: event.commandId });
        revokeByCommand(ctx, event);
        break;
      case 'record':
        ctx.apply({ type: 'command-seen', commandId: event.commandId });
        record(ctx, event);
        break;
    }
  }
  if (pendingDelivery !== null && input.snapshot !== null) {
    // The snapshot is the ticket as of its `updated` time: the poller's sighting of that same time
    // would read the very same ticket again (after a webhook, about one read in four: issue 16).
    const { updatedAt } = input.snapshot;
    const sighting = updatedAt === undefined ? null : pollDeliveryId(input.ticketId, updatedAt);
    if (sighting !== null && !ctx.state.recentDeliveryIds.includes(sighting)) ctx.apply({ type: 'delivery-seen', deliveryId: sighting });
    evaluate(ctx, input.snapshot, pendingDelivery);
  }
  return { state: ctx.finalState(), retired: ctx.retired, outputs: ctx.emit.outputs, counts: ctx.counts };
}

function openForDecision(ctx: TicketContext, snapshot: TicketSnapshot): boolean {
  if (ctx.connector.isCancelled(snapshot)) return false;
  const mapped = ctx.connector.map(snapshot);
  return mapped.ok ? mapped.request.status.actionable : mapped.failure.actionable;
}
