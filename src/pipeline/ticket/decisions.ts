import type { BreakGlassHolding, CustodyEvent, EntitlementRequest, Grant, GrantAmendment, GrantDecision, Reason, RejectionDecision, Revocation, RevocationTrigger, TrackedGrant } from '../../model/index.js';
import { breakGlassHolder } from '../../policy/break-glass-limit.js';
import type { AmendedExpiry } from '../../policy/expiry.js';
import type { Origin, TicketContext } from './context.js';
import { decisionKey, pendingWriteBack } from './decide.js';

/** The break-glass holding of a tracked grant, held or (with `releasedAt`) given back. */
function holdingOf(ctx: TicketContext, grant: TrackedGrant, holder: string, releasedAt: string | null): BreakGlassHolding {
  const { connectorId, ticketId, ticketKey } = ctx.state;
  return { grantId: grant.grantId, holder, entitlementId: grant.entitlementId, ticket: { connectorId, ticketId, ticketKey }, expiresAt: grant.expiresAt, releasedAt };
}

/** The canonical request's digest for the decision's custody event, when the ticket mapped to one. */
function requestDigest(ctx: TicketContext, request: EntitlementRequest | null): { requestSha256?: string } {
  return request === null ? {} : { requestSha256: ctx.ports.custody.digest(request) };
}

/** Keeps the canonical request a decision was taken on, so it can be decided again (`grantline whatif`). */
function keepRequest(ctx: TicketContext, event: CustodyEvent, decision: GrantDecision | RejectionDecision, request: EntitlementRequest | null): void {
  if (request === null) return;
  ctx.emit.decisionRequest({
    decisionId: decision.outcome === 'granted' ? decision.grantId : decision.rejectionId,
    outcome: decision.outcome,
    reasons: decision.outcome === 'granted' ? [] : decision.reasons.map((r) => r.code),
    ttlSeconds: decision.outcome === 'granted' ? decision.ttlSeconds : null,
    decidedAt: decision.decidedAt,
    policy: decision.policy,
    ticket: event.ticket,
    custody: { eventId: event.eventId, seq: event.seq, hash: event.hash },
    requestSha256: ctx.ports.custody.digest(request),
    request,
  });
}

/** Issues a grant: custody, the signed `grant.issued`, the request it was decided on, tracking, and its write-backs. */
export function issue(ctx: TicketContext, decision: GrantDecision, request: EntitlementRequest, origin: Origin, snapshotSha256: string | null): void {
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
      ...requestDigest(ctx, request),
    },
    { requestId: decision.requestId, grantId: decision.grantId },
  );
  const grant: Grant = ports.signer.sign({ ...decision, custody: ctx.custodyBlock(event, origin, snapshotSha256) });
  const topic = ports.topics.grants(decision.entitlement.channel);
  ctx.emit.grantIssued(topic, grant);
  keepRequest(ctx, event, decision, request);
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
    ttlSeconds: grant.ttlSeconds,
    ...(grant.ttlStartsAt === 'fulfillment' ? { ttlStartsAt: 'fulfillment' as const } : {}),
  };
  ctx.apply({ type: 'grant-issued', grant: tracked });
  // Counted against the holder's break-glass limit by every processor, from this transaction on.
  if (holder !== null && tracked.breakGlass !== null) ctx.emit.breakGlassHolding(holdingOf(ctx, tracked, holder, null));
  ctx.writeback({ grantId: grant.grantId, requestId: grant.requestId, item: { kind: 'decision', decision: grant }, idempotencyKey: grant.grantId });
  if (tracked.breakGlass !== null) {
    ctx.writeback({ grantId: grant.grantId, requestId: grant.requestId, item: { kind: 'open-review', decision: grant }, idempotencyKey: `review:${grant.grantId}` });
  }
}

/**
 * Rejects: custody, the signed rejection, the request it was decided on (null: the ticket did not
 * map to one), and (when `writeBack`) a note on the ticket.
 */
export function reject(
  ctx: TicketContext,
  decision: RejectionDecision,
  request: EntitlementRequest | null,
  origin: Origin,
  snapshotSha256: string | null,
  inputSha256: string,
  writeBack: boolean,
): void {
  const { ports } = ctx;
  const event = ctx.custody(
    'decision.rejected',
    ports.decidedBy,
    { decisionSha256: ports.custody.digest(decision), reasons: decision.reasons.map((r: Reason) => r.code), policy: decision.policy, ...requestDigest(ctx, request) },
    { requestId: decision.requestId, grantId: null },
  );
  const rejection = ports.signer.sign({ ...decision, custody: ctx.custodyBlock(event, origin, snapshotSha256) });
  const id = decisionKey(decision, inputSha256);
  ctx.emit.rejected(rejection, id, ctx.state.ticketKey);
  keepRequest(ctx, event, decision, request);
  ctx.counts.rejected += 1;
  if (!writeBack) return;
  // A request that only waits for approvals gets one note saying what it would grant and who must
  // approve, keyed by that content: new approvals that still fall short write nothing again.
  const pending = pendingWriteBack(ports.policy, request, decision, ports.custody.digest);
  if (pending !== null) {
    ctx.writeback({ grantId: null, requestId: rejection.requestId, ...pending });
  } else {
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

/**
 * Moves a grant's expiry once its TTL starts at fulfillment: custody, the signed `grant.amended`
 * after the grant on its topic and key, the tracked expiry (the lifecycle expires at the new time),
 * and the break-glass holding's expiry.
 */
export function amend(ctx: TicketContext, grant: TrackedGrant, amended: AmendedExpiry, adapter: string, origin: Origin): void {
  const { ports } = ctx;
  const amendmentId = `am_${ctx.shortHash([grant.grantId, amended.expiresAt])}`;
  const body: Omit<GrantAmendment, 'custody' | 'signature'> = {
    outcome: 'amended',
    amendmentId,
    grantId: grant.grantId,
    requestId: grant.requestId,
    source: grant.source,
    subject: grant.subject,
    entitlementId: grant.entitlementId,
    reason: 'ttl-starts-at-fulfillment',
    provisionedAt: amended.provisionedAt,
    adapter,
    previousExpiresAt: amended.previousExpiresAt,
    expiresAt: amended.expiresAt,
    ttlSeconds: amended.ttlSeconds,
    amendedAt: ctx.nowIso,
  };
  const event = ctx.custody(
    'grant.amended',
    ports.decidedBy,
    { decisionSha256: ports.custody.digest(body), amendmentId, provisionedAt: amended.provisionedAt, previousExpiresAt: amended.previousExpiresAt, expiresAt: amended.expiresAt, adapter },
    { requestId: grant.requestId, grantId: grant.grantId },
  );
  const amendment: GrantAmendment = ports.signer.sign({ ...body, custody: ctx.custodyBlock(event, origin, null) });
  ctx.emit.grantAmended(grant.topic, amendment);
  ctx.apply({ type: 'grant-amended', grantId: grant.grantId, expiresAt: amended.expiresAt, at: ctx.nowIso });
  const holder = grant.breakGlass?.holder;
  if (holder !== undefined) ctx.emit.breakGlassHolding(holdingOf(ctx, { ...grant, expiresAt: amended.expiresAt }, holder, null));
}
