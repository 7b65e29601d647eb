import { z } from 'zod';

/** An ISO 8601 timestamp with an explicit offset (`Z` or `+hh:mm`). */
export const IsoDateTime = z.iso.datetime({ offset: true });
export type IsoDateTime = z.infer<typeof IsoDateTime>;

/** Hex-encoded SHA-256 digest. */
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256 digest');
export type Sha256Hex = z.infer<typeof Sha256Hex>;

/** Kinds of identity a request can be for. Everything but `human` is a non-human identity (NHI). */
export const SubjectType = z.enum(['human', 'service_account', 'api_key', 'ci_token', 'automation_role', 'workload']);
export type SubjectType = z.infer<typeof SubjectType>;

export const NHI_SUBJECT_TYPES: readonly SubjectType[] = ['service_account', 'api_key', 'ci_token', 'automation_role', 'workload'];
export function isNhi(type: SubjectType): boolean {
  return type !== 'human';
}

/**
 * Stable reason codes. They are API: adapters, dashboards and the ticket write-back key on them.
 * Add codes; never rename or reuse one.
 */
export const ReasonCode = z.enum([
  'FREE_TEXT_REQUEST',
  'UNMAPPED_ENTITLEMENT',
  'MISSING_FIELD',
  'SUBJECT_TYPE_NOT_ALLOWED',
  'ENVIRONMENT_NOT_ALLOWED',
  'OWNER_MISSING',
  'OWNER_INACTIVE',
  'INSUFFICIENT_APPROVALS',
  'APPROVER_NOT_AUTHORIZED',
  'SELF_APPROVAL',
  'APPROVAL_STALE',
  'APPROVAL_REJECTED',
  'APPROVAL_NOT_STRUCTURED',
  'TTL_REQUIRED',
  'TTL_EXCEEDS_MAX',
  'BREAK_GLASS_NOT_ALLOWED',
  'BREAK_GLASS_TTL_EXCEEDS_MAX',
  'TICKET_NOT_ACTIONABLE',
  'REQUESTER_UNKNOWN',
  'SUBJECT_UNKNOWN',
  /** A multi-value entitlement field names several entitlements; a ticket asks for one. */
  'MULTIPLE_ENTITLEMENTS',
  /** The person already holds as many active break-glass grants as the entry's `breakGlass.maxActivePerPerson`. */
  'BREAK_GLASS_LIMIT_REACHED',
]);
export type ReasonCode = z.infer<typeof ReasonCode>;

/** One failing rule: a stable code and a sentence a person can act on, written back on the ticket. */
export const Reason = z.object({
  code: ReasonCode.meta({
    description:
      'Stable reason code (src/policy/README.md lists them). A ticket that names no requester is MISSING_FIELD on field "requester" from every source; REQUESTER_UNKNOWN is a requester who is named but not an active, unambiguous directory principal.',
  }),
  message: z.string().min(1),
  /** The request field the reason is about, when there is one (`entitlementId`, `ttlSeconds`, ...). */
  field: z.string().optional(),
});
export type Reason = z.infer<typeof Reason>;

/** Where a request came from. `url` is for people; grantline itself never fetches it. */
export const TicketSource = z.object({
  /** Connector type, e.g. `jira`, `servicenow`. */
  system: z.string().min(1),
  /** Configured connector instance id, e.g. `jira-main`. */
  connectorId: z.string().min(1),
  instanceUrl: z.url(),
  /** The source's immutable id (Jira issue id, ServiceNow sys_id). */
  ticketId: z.string().min(1),
  /** The human-facing key (`ACC-12`, `RITM0010001`). */
  ticketKey: z.string().min(1),
  url: z.url(),
});
export type TicketSource = z.infer<typeof TicketSource>;

/** A person or identity as the source system names it, kept as evidence next to the resolved principal. */
/**
 * A kind of identity, registered by the connector that produces it (`ConnectorType.kinds`,
 * `src/connector/kinds.ts`); `email` is the core's. Not a closed list here: the published schemas
 * give the registered kinds as examples.
 */
export const SourceIdentityKind = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'expected a registered identity kind (lower-case, digits, "-", "_")');
export type SourceIdentityKind = z.infer<typeof SourceIdentityKind>;

export const SourceIdentity = z.object({
  /** `jira-account-id`, `servicenow-sys-id`, `email`, ...: a kind a connector registered. */
  kind: SourceIdentityKind,
  value: z.string().min(1),
});
export type SourceIdentity = z.infer<typeof SourceIdentity>;
