import type { RecordCommand, RevokeCommand } from '../../model/index.js';
import type { TicketContext } from './context.js';
import { revoke } from './decisions.js';
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
  ctx.custody(command.custodyKind, command.actor, command.data, { requestId: command.requestId, grantId: command.grantId });
  const grant = command.grantId === null ? undefined : ctx.state.grants.find((g) => g.grantId === command.grantId);
  if (!grant) return;
  const grantId = grant.grantId;
  switch (command.custodyKind) {
    case 'fulfillment.reported': {
      const result = command.data;
      if (result.status === 'provisioned') ctx.apply({ type: 'grant-provisioned', grantId, at: command.at });
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
    case 'review.overdue':
      if (grant.breakGlass !== null) ctx.apply({ type: 'review-escalated', grantId, at: command.at });
      break;
    case 'ticket.written-back':
      break;
  }
  // The custody event above already changed the state; pruning keeps it small.
  ctx.apply({ type: 'pruned' });
}
