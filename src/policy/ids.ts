import { createHash } from 'node:crypto';
import type { MappingFailure } from '../connector/contract.js';
import { canonicalJson } from '../custody/canonical.js';
import type { EntitlementRequest, TicketState, TrackedGrant } from '../model/index.js';

/** What defines a request, in any of its forms (mapped, canonical, a file given to `evaluate`). */
export type RequestDefining = Pick<EntitlementRequest, 'source' | 'requester' | 'subject' | 'entitlementId' | 'resource' | 'environment' | 'ttlSeconds' | 'breakGlass'>;

function digest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('base64url');
}

/**
 * The fields that define a request: who asks, for whom, for what, where, how long, break-glass or not,
 * on which ticket of which connector. Status, approvals, comments, the justification and the free text
 * are not among them: a new approval or a reworded reason is the same request.
 */
export function requestDefiningFields(request: RequestDefining): Record<string, unknown> {
  return {
    connectorId: request.source.connectorId,
    ticketId: request.source.ticketId,
    requester: request.requester.sourceIdentity,
    subject: request.subject,
    entitlementId: request.entitlementId,
    resource: request.resource,
    environment: request.environment,
    ttlSeconds: request.ttlSeconds ?? null,
    breakGlass: request.breakGlass,
  };
}

/**
 * The request id, in its one form: `rq_` + base64url SHA-256 of the RFC 8785 canonical JSON of the
 * request-defining fields. Computed by the core for every source (the pipeline, `grantline
 * evaluate`, the published grant); connectors never compute it.
 */
export function requestIdFor(request: RequestDefining): string {
  return `rq_${digest({ kind: 'request', ...requestDefiningFields(request) })}`;
}

/**
 * The id of a ticket that could not be mapped to a request: the same form, over what defines the
 * failure (the ticket, the reason codes and fields, the text the person wrote).
 */
export function unmappedRequestIdFor(failure: Pick<MappingFailure, 'source' | 'reasons' | 'freeText'>): string {
  return `rq_${digest({
    kind: 'unmapped',
    connectorId: failure.source.connectorId,
    ticketId: failure.source.ticketId,
    reasons: failure.reasons.map((r) => [r.code, r.field ?? null]),
    freeText: failure.freeText,
  })}`;
}

/** Whether an id is in the form `requestIdFor` gives; anything else was minted by an older version. */
export function isCurrentRequestId(requestId: string): boolean {
  return requestId.startsWith('rq_');
}

/**
 * Upgrade rule: a live grant issued before request ids had one form (Jira `jira-…`, ServiceNow
 * `req_…`) is the grant of `request` when it was the ticket's last decision, it is for the same
 * subject and entitlement, and the source reports no change of any request field since that
 * decision. Then the ticket keeps the grant (its tracked id becomes the new one) instead of a
 * second grant being issued for the same request.
 */
export function legacyGrantIsFor(
  grant: Pick<TrackedGrant, 'requestId' | 'subject' | 'entitlementId' | 'revocation'>,
  request: EntitlementRequest,
  lastDecision: TicketState['lastDecision'],
): boolean {
  if (grant.revocation !== null || isCurrentRequestId(grant.requestId)) return false;
  if (lastDecision === null || lastDecision.outcome !== 'granted' || lastDecision.requestId !== grant.requestId) return false;
  if (grant.entitlementId !== request.entitlementId) return false;
  if (request.subject === null || grant.subject.type !== request.subject.type || grant.subject.id !== request.subject.id) return false;
  const decidedAt = Date.parse(lastDecision.decidedAt);
  return request.changes.every((c) => Date.parse(c.at) <= decidedAt);
}

/**
 * Deterministic grant id: the same request decided under the same catalog and policy gets the same
 * id, so a redelivered webhook cannot mint a second grant.
 */
export function grantIdFor(input: { requestId: string; entitlementId: string; catalogVersion: string; policyVersion: string }): string {
  return `gr_${digest({ kind: 'grant', ...input })}`;
}

/**
 * Deterministic rejection id. The reason codes are part of it: the same refusal repeated is the same
 * rejection (one write-back), while a request refused for new reasons is a new rejection.
 */
export function rejectionIdFor(input: { requestId: string; catalogVersion: string; policyVersion: string; codes: readonly string[] }): string {
  return `rj_${digest({ kind: 'rejection', ...input, codes: [...new Set(input.codes)].sort() })}`;
}
