import { z } from 'zod';
import { IsoDateTime, SourceIdentity, SubjectType, TicketSource } from './common.js';

/**
 * Where an approval came from. Only native approval records count; `comment` exists to be refused.
 * `source-approval`: an approval record a generic source serves (the `json-webhook` connector).
 */
export const ApprovalEvidenceKind = z.enum(['jsm-approval', 'sysapproval_approver', 'workflow-transition', 'source-approval', 'comment']);
export type ApprovalEvidenceKind = z.infer<typeof ApprovalEvidenceKind>;

export const Approval = z.object({
  /** Directory principal id, or null when the source identity resolved to nobody in the directory. */
  approverPrincipalId: z.string().min(1).nullable(),
  approverSource: SourceIdentity,
  decision: z.enum(['approved', 'rejected']),
  decidedAt: IsoDateTime,
  evidence: z.object({
    kind: ApprovalEvidenceKind,
    /** The source system's record id (JSM approval id, sysapproval_approver sys_id, changelog id, comment id). */
    recordId: z.string().min(1),
  }),
});
export type Approval = z.infer<typeof Approval>;

export const Subject = z.object({
  type: SubjectType,
  /** Directory id of the human principal or of the non-human identity. */
  id: z.string().min(1),
});
export type Subject = z.infer<typeof Subject>;

/** A person as the source named them, with the directory principal they resolved to (or null). */
export const Party = z.object({
  principalId: z.string().min(1).nullable(),
  sourceIdentity: SourceIdentity,
});
export type Party = z.infer<typeof Party>;

/** The request fields a connector reports changes of (`EntitlementRequest.changes`). */
export const RequestField = z.enum(['requester', 'subject', 'entitlementId', 'resource', 'environment', 'ttlSeconds', 'breakGlass', 'justification']);
export type RequestField = z.infer<typeof RequestField>;

/**
 * A change of one request field after the ticket was filed, as the source's history records it
 * (Jira changelog, ServiceNow `sys_audit` and variable updates). Which changes make an approval
 * stale is the policy's rule (`src/policy/binding.ts`), not the connector's.
 */
export const FieldChange = z.object({ field: RequestField, at: IsoDateTime });
export type FieldChange = z.infer<typeof FieldChange>;

/**
 * The canonical entitlement request: one ticket's request-defining state, read from the source API
 * (never from a webhook body) and mapped by the connector. Field names are the contract.
 */
export const EntitlementRequest = z.object({
  /**
   * Deterministic, computed by the core (`requestIdFor`, `src/policy/ids.ts`): `rq_` + base64url
   * SHA-256 of the canonical JSON of the request-defining fields. Connectors never set it.
   */
  requestId: z.string().min(1),
  source: TicketSource,
  /**
   * Who the request is for and answers for it: the Jira reporter (whom a JSM agent names in "Raise
   * this request on behalf of"), ServiceNow `requested_for`. Separation of duties applies to them.
   */
  requester: Party,
  /**
   * Who filed the ticket when that is someone else than the requester (the Jira creator, ServiceNow
   * `opened_by`): an agent, a manager, an integration account. Recorded as evidence; never the
   * requester. Null when the requester filed it.
   */
  filer: Party.nullable().default(null),
  /** Null when the ticket did not name one that the connector could map. */
  subject: Subject.nullable(),
  /** Catalog entitlement id, or null when the ticket carried only free text. */
  entitlementId: z.string().min(1).nullable(),
  resource: z.string().min(1).nullable(),
  environment: z.string().min(1).nullable(),
  justification: z.object({ code: z.string().min(1).optional(), text: z.string() }),
  /** Requested TTL; absent means the catalog default applies and the grant says so. */
  ttlSeconds: z.number().int().positive().optional(),
  breakGlass: z.boolean(),
  approvals: z.array(Approval),
  /**
   * Comments that look like approvals (picked by the core from the connector's `comments`,
   * `src/policy/comments.ts`); never evidence, reported as APPROVAL_NOT_STRUCTURED.
   */
  approvalLikeComments: z
    .array(z.object({ authorSource: SourceIdentity, commentId: z.string().min(1), at: IsoDateTime }))
    .default([]),
  /** Source status, and whether the source considers the ticket open for a decision. */
  status: z.object({ name: z.string(), actionable: z.boolean() }),
  /**
   * When fields changed after the ticket was filed: at least the latest change of each field the
   * source's history shows. Required, and empty when nothing changed: a request that does not say
   * is refused rather than read as unchanged.
   */
  changes: z.array(FieldChange),
  /** What the person wrote, kept for the rejection message. */
  freeText: z.string(),
});
export type EntitlementRequest = z.infer<typeof EntitlementRequest>;

/** A comment or work note as the source returned it. The core decides which look like approvals. */
export const TicketComment = z.object({
  authorSource: SourceIdentity,
  commentId: z.string().min(1),
  at: IsoDateTime,
  /** The comment's plain text (Jira ADF flattened to text). */
  text: z.string(),
});
export type TicketComment = z.infer<typeof TicketComment>;

/**
 * What a connector's `map` returns: the request without what the core derives from it. No
 * `requestId` (`requestIdFor`) and no `approvalLikeComments`: the connector returns the ticket's
 * comments as they are (`comments`), and `src/policy/comments.ts` picks the approval-looking ones,
 * the same rule for every source.
 */
export const MappedRequest = EntitlementRequest.omit({ requestId: true, approvalLikeComments: true }).extend({
  /** Every comment and work note with a nameable author, grantline's own notes included. */
  comments: z.array(TicketComment),
});
export type MappedRequest = z.infer<typeof MappedRequest>;
