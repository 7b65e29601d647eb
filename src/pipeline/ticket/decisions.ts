import type { BreakGlassHolding, Grant, GrantDecision, Reason, RejectionDecision, Revocation, RevocationTrigger, TrackedGrant } from '../../model/index.js';
import { breakGlassHolder } from '../../policy/break-glass-limit.js';
import type { Origin, TicketContext } from './context.js';
import { decisionKey } from './decide.js';

/** The break-glass holding of a tracked grant, held or (with `releasedAt`) given back. */
function holdingOf(ctx: TicketContext, grant: TrackedGrant, holder: string, releasedAt: string | null): BreakGlassHolding {
  const { connectorId, ticketId, ticketKey } = ctx.state;
  return { grantId: grant.grantId, holder, entitlementId: grant.entitlementId, ticket: { connectorId, ticketId, ticketKey }, expiresAt: grant.expiresAt, releasedAt };
}

/** Issues a grant: custody, the signed `grant.issued`, tracking, and its write-backs. */
export function issue(ctx: TicketContext, decision: GrantDecision, origin: Origin, snapshotSha256: string | null): void {
  const { ports } = ctx;
  const event = ctx.custody(
    'decision.granted',
    ports.decidedBy,
    {
      decisionSha256: ports.custody.digest(decision),
      entitlementId: decision.entitlementId,
      subject: decision.subject,
      approvals: decision.approvals.map((a) => ({ approver: a.approverPrincipalId, evidence: a.evidence, decidedAt: a.decidedAt })),
      ttlSeconds: decision.ttlSeconds,
      ttlSource: decision.ttlSource,
      expiresAt: decision.expiresAt,
      breakGlass: decision.breakGlass,
      policy: decision.policy,
    },
    { requestId: decision.requestId, grantId: decision.grantId },
  );
  const grant: Grant = ports.signer.sign({ ...decision, custody: ctx.custodyBlock(event, origin, snapshotSha256) });
  const topic = ports.topics.grants(decision.entitlement.channel);
  ctx.emit.grantIssued(topic, grant);
  ctx.counts.granted += 1;
  const holder = grant.breakGlass.active ? breakGlassHolder(grant.subject, grant.requester.principalId) : null;
  const tracked: TrackedGrant = {
    grantId: grant.grantId,
    requestId: grant.requestId,
    topic,
    source: grant.source,
    subject: grant.subject,
    subjectOwnerPrincipalId: grant.subjectOwnerPrincipalId,
    entitlementId: grant.entitlementId,
    expiresAt: grant.expiresAt,
    breakGlass: grant.breakGlass.active && grant.breakGlass.reviewDueAt !== null
      ? { reviewDueAt: grant.breakGlass.reviewDueAt, review: null, escalatedAt: null, ...(holder === null ? {} : { holder }) }
      : null,
    provisionedAt: null,
    revocation: null,
  };
  ctx.apply({ type: 'grant-issued', grant: tracked });
  // Counted against the holder's break-glass limit by every processor, from this transaction on.
  if (holder !== null && tracked.breakGlass !== null) ctx.emit.breakGlassHolding(holdingOf(ctx, tracked, holder, null));
  ctx.writeback({ grantId: grant.grantId, requestId: grant.requestId, item: { kind: 'decision', decision: grant }, idempotencyKey: grant.grantId });
  if (tracked.breakGlass !== null) {
    ctx.writeback({ grantId: grant.grantId, requestId: grant.requestId, item: { kind: 'open-review', decision: grant }, idempotencyKey: `review:${grant.grantId}` });
  }
}

/** Rejects: custody, the signed rejection, and (when `writeBack`) a note on the ticket. */
export function reject(ctx: TicketContext, decision: RejectionDecision, origin: Origin, snapshotSha256: string | null, inputSha256: string, writeBack: boolean): void {
  const { ports } = ctx;
  const event = ctx.custody(
    'decision.rejected',
    ports.decidedBy,
    { decisionSha256: ports.custody.digest(decision), reasons: decision.reasons.map((r: Reason) => r.code), policy: decision.policy },
    { requestId: decision.requestId, grantId: null },
  );
  const rejection = ports.signer.sign({ ...decision, custody: ctx.custodyBlock(event, origin, snapshotSha256) });
  const id = decisionKey(decision, inputSha256);
  ctx.emit.rejected(rejection, id, ctx.state.ticketKey);
  ctx.counts.rejected += 1;
  if (writeBack) {
    ctx.writeback({ grantId: null, requestId: rejection.requestId, item: { kind: 'decision', decision: rejection }, idempotencyKey: id });
  }
}

/** Revokes a grant: custody, the signed `grant.revoked` after the grant on its topic, tracking, and a write-back. */
export function revoke(ctx: TicketContext, grant: TrackedGrant, trigger: RevocationTrigger, reason: string, actor: string, origin: Origin, snapshotSha256: string | null): void {
  const { ports } = ctx;
  const revocationId = `rv_${ctx.shortHash([grant.grantId, trigger])}`;
  const body: Omit<Revocation, 'custody' | 'signature'> = {
    outcome: 'revoked',
    revocationId,
    grantId: grant.grantId,
    requestId: grant.requestId,
    source: grant.source,
    subject: grant.subject,
    entitlementId: grant.entitlementId,
    trigger,
    reason,
    actor,
    revokedAt: ctx.nowIso,
  };
  const event = ctx.custody(
    'grant.revoked',
    actor,
    { decisionSha256: ports.custody.digest(body), revocationId, trigger, reason, expiresAt: grant.expiresAt },
    { requestId: grant.requestId, grantId: grant.grantId },
  );
  const revocation: Revocation = ports.signer.sign({ ...body, custody: ctx.custodyBlock(event, origin, snapshotSha256) });
  ctx.emit.grantRevoked(grant.topic, grant.grantId, revocationId, revocation);
  const holder = grant.breakGlass?.holder;
  if (holder !== undefined) ctx.emit.breakGlassHolding(holdingOf(ctx, grant, holder, ctx.nowIso));
  ctx.counts.revoked += 1;
  ctx.apply({
    type: 'grant-revoked',
    grantId: grant.grantId,
    revocation: { revocationId, trigger, reason, actor, revokedAt: ctx.nowIso, confirmedAt: null, failedAt: null, overdueAlerts: 0, signed: JSON.stringify(revocation) },
  });
  ctx.writeback({ grantId: grant.grantId, requestId: grant.requestId, item: { kind: 'revocation', revocation }, idempotencyKey: revocationId });
}
