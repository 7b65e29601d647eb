import type { FieldChange, RequestField } from '../model/index.js';

/**
 * The fields an approval is bound to: who asks, for whom, what, where, for how long, and whether as
 * break-glass. A change of any of them after an approval means the approver said yes to something
 * else, so the approval is stale. The justification is not among them: it explains the request but
 * does not change what is granted (editing it keeps the approvals and the grant).
 */
export const APPROVAL_BOUND_FIELDS: readonly RequestField[] = ['requester', 'subject', 'entitlementId', 'resource', 'environment', 'ttlSeconds', 'breakGlass'];

const BOUND: ReadonlySet<RequestField> = new Set(APPROVAL_BOUND_FIELDS);

/** How a reason names each bound field. */
const WORDING: Readonly<Record<RequestField, string>> = {
  requester: 'requester',
  subject: 'subject',
  entitlementId: 'entitlement',
  resource: 'resource',
  environment: 'environment',
  ttlSeconds: 'duration',
  breakGlass: 'break-glass flag',
  justification: 'justification',
};

/** The bound fields changed after a moment, and the latest of those changes. */
export interface BoundChange {
  /** In `APPROVAL_BOUND_FIELDS` order, each once. */
  readonly fields: readonly RequestField[];
  /** The latest change among them (ISO 8601, as the connector reported it). */
  readonly at: string;
  /** "requester and subject", "entitlement, resource and duration". */
  readonly wording: string;
}

/**
 * The bound fields that changed strictly after `decidedAt`, or null when none did: an approval
 * (or a rejection) decided then covers the request as it is only when this is null.
 */
export function boundChangesAfter(changes: readonly FieldChange[], decidedAt: string): BoundChange | null {
  const decided = Date.parse(decidedAt);
  const after = changes.filter((c) => BOUND.has(c.field) && Date.parse(c.at) > decided);
  if (after.length === 0) return null;
  const fields = APPROVAL_BOUND_FIELDS.filter((f) => after.some((c) => c.field === f));
  const at = after.reduce((latest, c) => (Date.parse(c.at) > Date.parse(latest) ? c.at : latest), after[0]!.at);
  const words = fields.map((f) => WORDING[f]);
  const wording = words.length === 1 ? words[0]! : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]!}`;
  return { fields, at, wording };
}
