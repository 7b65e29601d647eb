import { z } from 'zod';
import { IsoDateTime, SourceIdentity, SubjectType, TicketSource } from './common.js';

/** Where an approval came from. Only native approval records count; `comment` exists to be refused. */
export const ApprovalEvidenceKind = z.enum(['jsm-approval', 'sysapproval_approver', 'workflow-transition', 'comment']);
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

/**
 * The canonical entitlement request: one ticket's request-defining state, read from the source API
 * (never from a webhook body) and mapped by the connector. Field names are the contract.
 */
export const EntitlementRequest = z.object({
  /** Deterministic: hash of connectorId + ticketId + request fingerprint. */
  requestId: z.string().min(1),
  source: TicketSource,
  requester: z.object({
    principalId: z.string().min(1).nullable(),
    sourceIdentity: SourceIdentity,
  }),
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
  /** Comments that look like approvals; never evidence, reported as APPROVAL_NOT_STRUCTURED. */
  approvalLikeComments: z
    .array(z.object({ authorSource: SourceIdentity, commentId: z.string().min(1), at: IsoDateTime }))
    .default([]),
  /** Source status, and whether the source considers the ticket open for a decision. */
  status: z.object({ name: z.string(), actionable: z.boolean() }),
  /** Last change to any request-defining field (entitlement, subject, resource, environment, TTL). */
  lastModifiedAt: IsoDateTime,
  /** What the person wrote, kept for the rejection message. */
  freeText: z.string(),
});
export type EntitlementRequest = z.infer<typeof EntitlementRequest>;
