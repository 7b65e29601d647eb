import type { ReasonCode, RejectionDecision, RevocationTrigger } from '../model/index.js';

/**
 * When a grant a ticket already has must end because of what the ticket now says. The lifecycle's
 * triggers (expiry, offboarding, overdue confirmations) are scheduled elsewhere; these are the
 * rules the processor applies when it decides a ticket again.
 */

/** Reasons that only say the ticket is closed: a closed ticket does not take back a grant it already gave. */
const CLOSED_ONLY: ReadonlySet<ReasonCode> = new Set(['TICKET_NOT_ACTIONABLE']);
const APPROVAL_REASONS: ReadonlySet<ReasonCode> = new Set([
  'INSUFFICIENT_APPROVALS',
  'APPROVAL_REJECTED',
  'APPROVAL_STALE',
  'APPROVER_NOT_AUTHORIZED',
  'SELF_APPROVAL',
  'APPROVAL_NOT_STRUCTURED',
]);
const OWNER_REASONS: ReadonlySet<ReasonCode> = new Set(['OWNER_INACTIVE', 'OWNER_MISSING']);

/**
 * Which trigger, if any, a new rejection of the ticket means for a grant it already has: another
 * request supersedes it; a withdrawn approval or an inactive owner ends it; a ticket that is only
 * closed leaves it in force (its TTL ends it).
 */
export function revocationTriggerFor(grant: { readonly requestId: string }, rejection: Pick<RejectionDecision, 'requestId' | 'reasons'>): RevocationTrigger | null {
  const codes = rejection.reasons.map((r) => r.code);
  if (grant.requestId !== rejection.requestId) return 'superseded';
  if (codes.every((c) => CLOSED_ONLY.has(c))) return null;
  if (codes.some((c) => APPROVAL_REASONS.has(c))) return 'approval-withdrawn';
  if (codes.some((c) => OWNER_REASONS.has(c))) return 'owner-offboarded';
  return 'superseded';
}

/**
 * What a new grant for a ticket means for the grants it already has: the one for the very same
 * request stays (no second grant); any other is superseded by the new one.
 */
export function supersededBy<G extends { readonly requestId: string }>(active: readonly G[], requestId: string): { same: G | undefined; superseded: G[] } {
  const same = active.find((g) => g.requestId === requestId);
  return same ? { same, superseded: [] } : { same: undefined, superseded: [...active] };
}
