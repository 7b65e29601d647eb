import { pollDeliveryId, type RecordCommand, type RevokeCommand } from '../../model/index.js';
import { amendedExpiry } from '../../policy/expiry.js';
import type { TicketContext } from './context.js';
import { retirable } from './state.js';
import { amend, revoke } from './decisions.js';
import { isActive } from './state.js';

/** Revokes a grant a command names; unknown or already revoked: nothing (revoking is idempotent). */
export function revokeByCommand(ctx: TicketContext, command: RevokeCommand): void {
  const grant = ctx.state.grants.find((g) => g.grantId === command.grantId);
  if (!grant || !isActive(grant)) return;
  revoke(
    ctx,
    grant,
    command.trigger,
    command.reason,
    command.actor,
    {
      deliveryId: command.commandId,
      via: command.trigger === 'manual' ? 'cli' : 'lifecycle',
      payloadSha256: ctx.ports.custody.digest(command),
      // Only a manual revoke is signed (by its operator); it is processed only once verified.
      signatureVerified: command.authorization !== undefined,
    },
    null,
  );
}

/** Appends evidence sent by another role and applies what it means to the tracked grant. */
export function record(ctx: TicketContext, command: RecordCommand): void {
  if (command.custodyKind === 'ticket.retired') {
    // Only a ticket still closed with nothing pending is retired; a late ask after it reopened or
    // got a new grant is a no-op.
    if (!retirable(ctx.state)) return;
    ctx.custody('ticket.retired', command.actor, command.data, { requestId: null, grantId: null });
    ctx.retire();
    return;
  }
  ctx.custody(command.custodyKind, command.actor, command.data, { requestId: command.requestId, grantId: command.grantId });
  // A note written is no longer pending, whether or not its grant is still tracked (a rejection's has none; a pruned one's is gone).
  if (command.custodyKind === 'ticket.written-back') ctx.apply({ type: 'writeback-written', idempotencyKey: command.data.idempotencyKey });
  if (command.custodyKind === 'ticket.written-back' && command.data.ticketUpdatedAt !== undefined) {
    // Our note moved the ticket's `updated` to this time: the poller's sighting of the ticket at
    // exactly this time is the note's echo, taken as already seen (no fetch). A later change moves
    // `updated` again and is fetched (issue 16; the limit is in docs/architecture.md).
    ctx.apply({ type: 'delivery-seen', deliveryId: pollDeliveryId(ctx.input.ticketId, command.data.ticketUpdatedAt) });
  }
  const grant = command.grantId === null ? undefined : ctx.state.grants.find((g) => g.grantId === command.grantId);
  if (!grant) return;
  const grantId = grant.grantId;
  switch (command.custodyKind) {
    case 'fulfillment.reported': {
      const result = command.data;
      if (result.status === 'provisioned') ctx.apply({ type: 'grant-provisioned', grantId, at: command.at });
      const amended = result.action === 'provision' && result.status === 'provisioned' ? amendedExpiry(grant, result.at, ctx.input.now) : null;
      if (amended !== null) {
        const origin = { deliveryId: command.commandId, via: 'lifecycle' as const, payloadSha256: ctx.ports.custody.digest(command), signatureVerified: false };
        amend(ctx, grant, amended, result.adapter, origin);
      }
      if (grant.revocation !== null && result.action === 'revoke' && result.status !== 'provisioned') {
        ctx.apply({ type: 'revocation-reported', grantId, status: result.status, at: command.at });
      }
      ctx.writeback({ grantId, requestId: grant.requestId, item: { kind: 'fulfillment', result }, idempotencyKey: `fulfillment:${command.commandId}` });
      break;
    }
    case 'revocation.overdue':
      if (grant.revocation !== null && grant.revocation.confirmedAt === null) {
        // Re-send the very same signed revocation: adapters treat a known revocationId as done.
        ctx.emit.grantRevoked(grant.topic, grantId, grant.revocation.revocationId, JSON.parse(grant.revocation.signed));
        ctx.apply({ type: 'revocation-resent', grantId, at: command.at });
      }
      break;
    case 'review.opened':
      if (grant.breakGlass !== null) {
        const { ticketId, ticketKey, url } = command.data;
        ctx.apply({ type: 'review-opened', grantId, review: { ticketId, ticketKey, url } });
      }
      break;
    case 'review.closed':
      if (grant.breakGlass?.review) ctx.apply({ type: 'review-closed', grantId, outcome: command.data.outcome });
      break;
    case 'review.overdue': {
      const bg = grant.breakGlass;
      if (bg === null) break;
      // Escalated once: the notes go out with the first escalation, never again for the same review.
      if (bg.escalatedAt === null) {
        const review = bg.review === null ? null : { ticketId: bg.review.ticketId, ticketKey: bg.review.ticketKey, url: bg.review.url };
        const item = { kind: 'review-overdue' as const, grantId, entitlementId: grant.entitlementId, ticketKey: ctx.state.ticketKey, reviewDueAt: bg.reviewDueAt, review };
        ctx.writeback({ grantId, requestId: grant.requestId, item, idempotencyKey: `review-overdue:${grantId}` });
      }
      ctx.apply({ type: 'review-escalated', grantId, at: command.at });
      break;
    }
    case 'ticket.written-back':
      break;
  }
  // The custody event above already changed the state; pruning keeps it small.
  ctx.apply({ type: 'pruned' });
}
