import type { TicketSnapshot } from '../../connector/contract.js';
import type { DeliveryEvent } from '../../model/index.js';
import { legacyGrantIsFor } from '../../policy/ids.js';
import { writesBackRejection } from '../../policy/rejection.js';
import { revocationTriggerFor, supersededBy } from '../../policy/revocation.js';
import type { Origin, TicketContext } from './context.js';
import { canonicalMapped, decideMapped } from './decide.js';
import { issue, reject, revoke } from './decisions.js';
import { isActive } from './state.js';

/** Maps and decides the fetched ticket once, after this batch's new deliveries of it. */
export function evaluate(ctx: TicketContext, snapshot: TicketSnapshot, delivery: DeliveryEvent): void {
  const { ports } = ctx;
  const connector = ctx.connector;
  const snapshotSha256 = ports.custody.digest(snapshot.raw);
  ctx.custody('ticket.fetched', ports.decidedBy, { snapshotSha256, fetchedAt: snapshot.fetchedAt, ticketKey: snapshot.ticketKey }, { requestId: null, grantId: null });
  const origin: Origin = {
    deliveryId: delivery.deliveryId,
    via: delivery.via,
    payloadSha256: delivery.payloadSha256,
    signatureVerified: delivery.signatureVerified,
  };

  if (connector.isCancelled(snapshot)) {
    if (!ctx.state.closedAt) ctx.apply({ type: 'source-status', closedAt: ctx.nowIso });
    for (const grant of ctx.state.grants.filter(isActive)) {
      revoke(ctx, grant, 'ticket-cancelled', `ticket ${snapshot.ticketKey} was cancelled in the source system`, ports.decidedBy, origin, snapshotSha256);
    }
    return;
  }

  const result = connector.map(snapshot);
  // The request id and which comments look like approvals are the core's rules, the same for every source.
  const mapped = canonicalMapped(result);
  const open = mapped.ok ? mapped.request.status.actionable : mapped.failure.actionable;
  if (open && ctx.state.closedAt) ctx.apply({ type: 'source-status', closedAt: null });
  if (!open && !ctx.state.closedAt) ctx.apply({ type: 'source-status', closedAt: ctx.nowIso });
  const inputSha256 = ports.custody.digest(mapped);
  if (ctx.state.lastDecision?.inputSha256 === inputSha256) {
    // A comment, a label, a redelivery: nothing the decision depends on has changed.
    ctx.counts.unchanged += 1;
    return;
  }
  // Pure, so taken here: the custody event below records the request id it gives.
  const { requestId, decision } = decideMapped(ports.policy, mapped, ctx.input.now, ports.custody.digest, ports.breakGlass);
  if (mapped.ok) {
    // A live grant issued under an older id form keeps standing for the same request (README, "Upgrading").
    for (const grant of ctx.state.grants) {
      if (legacyGrantIsFor(grant, mapped.request, ctx.state.lastDecision)) ctx.apply({ type: 'request-id-adopted', grantId: grant.grantId, requestId });
    }
  }
  ctx.custody(
    'request.mapped',
    ports.decidedBy,
    // The requester as the directory resolved them, and as the source named them, and whoever filed
    // the ticket for them: who asked, and who typed it in, is evidence.
    mapped.ok
      ? {
          requestId,
          requester: mapped.request.requester,
          filer: mapped.request.filer,
          entitlementId: mapped.request.entitlementId,
          subject: mapped.request.subject,
          breakGlass: mapped.request.breakGlass,
          ...(mapped.request.ttlSeconds === undefined ? {} : { ttlSecondsRequested: mapped.request.ttlSeconds }),
          changes: mapped.request.changes,
          approvals: mapped.request.approvals.map((a) => a.evidence),
        }
      : { requestId, requester: mapped.failure.requester, reasons: mapped.failure.reasons.map((r) => r.code) },
    { requestId, grantId: null },
  );

  const request = mapped.ok ? mapped.request : null;
  const active = ctx.state.grants.filter(isActive);
  // The ticket's first decision queues its first write-backs: a note with their key is on the
  // ticket only if the fetched comments show it (a retired ticket reopened), so the write-back
  // worker need not read the ticket for it. Later decisions may repeat a key that is still queued.
  // (A throw below discards this context altogether: the events go to the DLQ.)
  ctx.notesOnTicket = ctx.state.lastDecision === null && result.ok ? result.request.comments.map((c) => c.text) : null;
  if (decision.outcome === 'granted') {
    const { same, superseded } = supersededBy(active, decision.requestId);
    if (request === null) throw new Error('invariant broken: a grant without a mapped request');
    if (same) {
      // Already granted for exactly this request (say, a third approval arrived): no second grant.
      ctx.counts.unchanged += 1;
    } else {
      for (const grant of superseded) {
        revoke(ctx, grant, 'superseded', `the request on ${snapshot.ticketKey} changed; grant ${decision.grantId} replaces this one`, ports.decidedBy, origin, snapshotSha256);
      }
      issue(ctx, decision, request, origin, snapshotSha256);
    }
  } else {
    for (const grant of active) {
      const trigger = revocationTriggerFor(grant, decision);
      if (trigger !== null) revoke(ctx, grant, trigger, decision.reasons.map((r) => r.message).join(' '), ports.decidedBy, origin, snapshotSha256);
    }
    const actionable = mapped.ok ? mapped.request.status.actionable : mapped.failure.actionable;
    reject(ctx, decision, request, origin, snapshotSha256, inputSha256, writesBackRejection(actionable, active.length));
  }
  ctx.notesOnTicket = null;
  ctx.apply({
    type: 'decided',
    lastDecision: {
      inputSha256,
      requestId,
      outcome: decision.outcome,
      decisionId: decision.outcome === 'granted' ? decision.grantId : decision.rejectionId,
      decidedAt: ctx.nowIso,
    },
  });
}
