import { z } from 'zod';
import { IsoDateTime, ReasonCode, Sha256Hex } from './common.js';
import { EntitlementRequest } from './request.js';

/**
 * The canonical request a decision was taken on, kept so that it can be decided again
 * (`grantline whatif`). One per decision of a mapped ticket, on `grantline.decision-requests.v1`,
 * keyed by ticket, written in the processor's transaction with the decision it records. The
 * custody event of the decision holds `requestSha256`, the SHA-256 of the RFC 8785 canonical JSON
 * of `request`, so a stored request can be checked against the hash-chained evidence; the topic
 * itself is kept only as long as the operator sets (`kafka.decisionRequestRetentionMs`).
 */
export const DecisionRequestRecord = z.object({
  /** The grant or rejection id of the decision. */
  decisionId: z.string().min(1),
  outcome: z.enum(['granted', 'rejected']),
  /** Reason codes of a rejection, in the order the policy gave them; empty for a grant. */
  reasons: z.array(ReasonCode),
  /** The granted duration; null for a rejection. */
  ttlSeconds: z.number().int().positive().nullable(),
  decidedAt: IsoDateTime,
  policy: z.object({ version: z.string().min(1), catalogVersion: z.string().min(1), directoryVersion: z.string().min(1) }),
  ticket: z.object({ connectorId: z.string().min(1), ticketId: z.string().min(1), ticketKey: z.string().min(1) }),
  /** The custody event that records the decision, and holds `requestSha256`. */
  custody: z.object({ eventId: z.string().min(1), seq: z.number().int().nonnegative(), hash: Sha256Hex }),
  /** SHA-256 of the RFC 8785 canonical JSON of `request`. */
  requestSha256: Sha256Hex,
  request: EntitlementRequest,
});
export type DecisionRequestRecord = z.infer<typeof DecisionRequestRecord>;
