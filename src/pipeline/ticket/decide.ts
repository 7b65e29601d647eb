import type { MapResult, MappingFailure } from '../../connector/contract.js';
import type { Decision, EntitlementRequest, PendingGrant } from '../../model/index.js';
import type { BreakGlassHoldings } from '../../policy/break-glass-limit.js';
import { unmappedRequestIdFor } from '../../policy/ids.js';
import { requestFromMapped } from '../../policy/request.js';
import { rejectionFromFailure } from '../../policy/rejection.js';
import type { PolicyPort } from '../ports.js';

/** A mapped ticket in the core's terms: the canonical request (the core's request id), or why it is not one. */
export type CanonicalMapped =
  | { readonly ok: true; readonly request: EntitlementRequest }
  | { readonly ok: false; readonly failure: MappingFailure };

/** What the processor decides for a mapped ticket, and under which request id. */
export interface TicketDecision {
  readonly requestId: string;
  readonly decision: Decision;
}

/** The core's rules over what a connector mapped: the request id and the approval-looking comments. */
export function canonicalMapped(result: MapResult): CanonicalMapped {
  return result.ok ? { ok: true, request: requestFromMapped(result.request) } : result;
}

/**
 * The processor's decision on a fetched and mapped ticket: the policy's answer for a request, or a
 * rejection with every mapping problem for a ticket that is not one. Pure: the processor records
 * and publishes what it returns, `grantline check` prints it. `digest` is the custody digest (ids
 * hash with it, so a redelivery decides with the same ids).
 */
export function decideMapped(
  policy: PolicyPort,
  mapped: CanonicalMapped,
  now: Date,
  digest: (value: unknown) => string,
  holdings: BreakGlassHoldings,
): TicketDecision {
  if (mapped.ok) return { requestId: mapped.request.requestId, decision: policy.decide(mapped.request, now, holdings) };
  const requestId = unmappedRequestIdFor(mapped.failure);
  const versions = policy.versions();
  const rejectionId = `rj_${digest([requestId, versions]).slice(0, 32)}`;
  return { requestId, decision: rejectionFromFailure(mapped.failure, { requestId, rejectionId }, versions, now) };
}

/**
 * The idempotency key of a decision's note on the ticket: a grant's id; for a rejection (also its
 * message's id) its id and the decision input, since the same rejection of a changed ticket is a
 * new message and a new note.
 */
export function decisionKey(decision: Decision, inputSha256: string): string {
  return decision.outcome === 'granted' ? decision.grantId : `${decision.rejectionId}:${inputSha256.slice(0, 12)}`;
}

/**
 * The note a request that only waits for approvals gets instead of its rejection: what it would
 * grant and who must approve, keyed by that content so approvals that still fall short write
 * nothing again. Null when the rejection itself is written. `digest`: the custody digest.
 */
export function pendingWriteBack(
  policy: PolicyPort,
  request: EntitlementRequest | null,
  decision: Decision,
  digest: (value: unknown) => string,
): { item: { kind: 'pending'; pending: PendingGrant }; idempotencyKey: string } | null {
  const pending = request === null ? null : (policy.pending?.(request, decision) ?? null);
  return pending === null ? null : { item: { kind: 'pending', pending }, idempotencyKey: `pending:${digest(pending).slice(0, 32)}` };
}
