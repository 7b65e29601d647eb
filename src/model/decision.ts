import { z } from 'zod';
import { IsoDateTime, Reason, Sha256Hex, SourceIdentity, TicketSource } from './common.js';
import { Approval, Subject } from './request.js';

/** Why a grant ends. Each trigger is recorded in the revocation and in custody. */
export const RevocationTrigger = z.enum([
  'ttl-expired',
  'ticket-cancelled',
  'approval-withdrawn',
  'owner-offboarded',
  'superseded',
  'manual',
]);
export type RevocationTrigger = z.infer<typeof RevocationTrigger>;

/** Snapshot of the catalog entry the grant was decided against, with the catalog's content version. */
export const EntitlementSnapshot = z.object({
  id: z.string().min(1),
  kind: z.enum(['role', 'scope', 'secret_class']),
  system: z.string().min(1),
  resource: z.string().min(1),
  sensitivity: z.string().min(1),
  channel: z.string().min(1),
  catalogVersion: z.string().min(1),
});
export type EntitlementSnapshot = z.infer<typeof EntitlementSnapshot>;

/**
 * The policy engine's positive answer: everything a grant says except the custody the pipeline adds
 * and the signature. `decide()` returns this; the pipeline turns it into a signed `Grant`.
 */
export const GrantDecision = z.object({
  outcome: z.literal('granted'),
  grantId: z.string().min(1),
  requestId: z.string().min(1),
  source: TicketSource,
  requester: z.object({ principalId: z.string().min(1), sourceIdentity: SourceIdentity }),
  subject: Subject,
  /** For NHI subjects: the owner found active in the directory at decision time. */
  subjectOwnerPrincipalId: z.string().min(1).nullable(),
  entitlementId: z.string().min(1),
  entitlement: EntitlementSnapshot,
  resource: z.string().min(1),
  environment: z.string().min(1),
  justification: z.object({ code: z.string().min(1).optional(), text: z.string() }),
  /** The approvals that satisfied the policy (empty for pre-approved break-glass). */
  approvals: z.array(Approval),
  validFrom: IsoDateTime,
  expiresAt: IsoDateTime,
  ttlSeconds: z.number().int().positive(),
  /** `requested`: the ticket asked for it; `catalog-default`: the ticket asked for none. */
  ttlSource: z.enum(['requested', 'catalog-default']),
  breakGlass: z.object({ active: z.boolean(), reviewDueAt: IsoDateTime.nullable() }),
  revocation: z.object({ triggers: z.array(RevocationTrigger) }),
  /**
   * `fulfillment`: the TTL counts from when an adapter reports the grant provisioned; grantline then
   * publishes a signed `grant.amended` with the new `expiresAt` (until then, `expiresAt` counts from
   * the decision and stays the bound). Absent: the TTL counts from the decision.
   */
  ttlStartsAt: z.literal('fulfillment').optional(),
  policy: z.object({ version: z.string().min(1), catalogVersion: z.string().min(1), directoryVersion: z.string().min(1) }),
  decidedAt: IsoDateTime,
});
export type GrantDecision = z.infer<typeof GrantDecision>;

/** Hash-chain link of one custody event: `hash = sha256(RFC 8785 canonical JSON of the event without hash)`. */
export const ChainLink = z.object({
  seq: z.number().int().nonnegative(),
  prevHash: Sha256Hex.nullable(),
  hash: Sha256Hex,
});
export type ChainLink = z.infer<typeof ChainLink>;

/** Chain of custody carried inside each grant, rejection and revocation. */
export const Custody = z.object({
  deliveryId: z.string().min(1),
  /** `webhook` or `poll`: how the event that triggered the decision arrived. */
  via: z.enum(['webhook', 'poll', 'lifecycle', 'cli']),
  payloadSha256: Sha256Hex,
  signatureVerified: z.boolean(),
  /** SHA-256 of the authoritative ticket snapshot fetched from the source API. */
  snapshotSha256: Sha256Hex.nullable(),
  connectorId: z.string().min(1),
  catalogVersion: z.string().min(1),
  policyVersion: z.string().min(1),
  decidedAt: IsoDateTime,
  /** The grantline instance that decided, e.g. `grantline/0.1.0 processor@host`. */
  decidedBy: z.string().min(1),
  /** The custody event in `access.custody.v1` that records this decision. */
  chain: ChainLink,
});
export type Custody = z.infer<typeof Custody>;

/** A detached JWS (`<protected>..<signature>`, EdDSA) over the RFC 8785 canonical JSON of the message without `signature`. */
export const DetachedJws = z.string().regex(/^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/, 'expected a detached compact JWS');

/** The published grant on `access.grants.<channel>.v1` (CloudEvent type `grant.issued`). */
export const Grant = GrantDecision.extend({ custody: Custody, signature: DetachedJws });
export type Grant = z.infer<typeof Grant>;

/**
 * The policy engine's negative answer: every failing rule, before the pipeline adds custody and the
 * signature. `decide()` returns this; it is never published as it is.
 */
export const RejectionDecision = z.object({
  outcome: z.literal('rejected'),
  rejectionId: z.string().min(1),
  requestId: z.string().min(1),
  source: TicketSource,
  requester: z.object({ principalId: z.string().min(1).nullable(), sourceIdentity: SourceIdentity }).nullable(),
  subject: Subject.nullable(),
  entitlementId: z.string().min(1).nullable(),
  /** Every failing rule, not only the first. Never empty. */
  reasons: z.array(Reason).min(1),
  freeText: z.string(),
  policy: z.object({ version: z.string().min(1), catalogVersion: z.string().min(1), directoryVersion: z.string().min(1) }),
  decidedAt: IsoDateTime,
});
export type RejectionDecision = z.infer<typeof RejectionDecision>;

/**
 * A refused request as published on `access.requests.rejected.v1` and written back on the ticket:
 * signed and with its custody, like a grant, so an unsigned rejection does not pass the contract.
 */
export const Rejection = RejectionDecision.extend({ custody: Custody, signature: DetachedJws });
export type Rejection = z.infer<typeof Rejection>;

/** What `decide()` returns. */
export const Decision = z.discriminatedUnion('outcome', [GrantDecision, RejectionDecision]);
export type Decision = z.infer<typeof Decision>;

/** The end of a grant (CloudEvent type `grant.revoked`), on the grant's own topic and key. */
export const Revocation = z.object({
  outcome: z.literal('revoked'),
  revocationId: z.string().min(1),
  grantId: z.string().min(1),
  requestId: z.string().min(1),
  source: TicketSource,
  subject: Subject,
  entitlementId: z.string().min(1),
  trigger: RevocationTrigger,
  reason: z.string().min(1),
  /** Who or what revoked: a principal id for manual revokes, `grantline/lifecycle` otherwise. */
  actor: z.string().min(1),
  revokedAt: IsoDateTime,
  custody: Custody,
  signature: DetachedJws,
});
export type Revocation = z.infer<typeof Revocation>;

/**
 * A change of a grant in force (CloudEvent type `grant.amended`), on the grant's own topic and key,
 * after the grant: today only its expiry, moved once when the TTL counts from fulfillment. An
 * adapter replaces the grant's `expiresAt` with this one; the grant's signature still covers the rest.
 */
export const GrantAmendment = z.object({
  outcome: z.literal('amended'),
  amendmentId: z.string().min(1),
  grantId: z.string().min(1),
  requestId: z.string().min(1),
  source: TicketSource,
  subject: Subject,
  entitlementId: z.string().min(1),
  /** Why: `ttl-starts-at-fulfillment` (the grant's TTL counts from the adapter's provisioning). */
  reason: z.literal('ttl-starts-at-fulfillment'),
  /** When the adapter reported the grant provisioned (within the grant's validity and not after `amendedAt`). */
  provisionedAt: IsoDateTime,
  /** The adapter that reported it. */
  adapter: z.string().min(1),
  /** The grant's expiry before this amendment (the decision's). */
  previousExpiresAt: IsoDateTime,
  /** The grant's expiry from now on: `provisionedAt` + `ttlSeconds`. */
  expiresAt: IsoDateTime,
  ttlSeconds: z.number().int().positive(),
  amendedAt: IsoDateTime,
  custody: Custody,
  signature: DetachedJws,
});
export type GrantAmendment = z.infer<typeof GrantAmendment>;

/** An adapter's report on `access.fulfillment.results.v1`. */
export const FulfillmentResult = z.object({
  grantId: z.string().min(1),
  action: z.enum(['provision', 'revoke']),
  status: z.enum(['provisioned', 'revoked', 'failed']),
  /** The adapter's name, e.g. `cyberark-pam`, `vault-secrets`. */
  adapter: z.string().min(1),
  /** The adapter's own reference (account id, lease id, change id). */
  reference: z.string().min(1),
  at: IsoDateTime,
  detail: z.string().optional(),
  /**
   * The adapter's own detached JWS (EdDSA, as grantline signs grants) over the RFC 8785 canonical
   * JSON of the result without `signature`, by a kid registered for the grant's channel in
   * `trust.adapters`. grantline acts on no result without one (src/trust/inputs.ts); the kit
   * always signs.
   */
  signature: DetachedJws.optional(),
});
export type FulfillmentResult = z.infer<typeof FulfillmentResult>;

/** Kinds of custody evidence. Append-only; every step of a request's life leaves one. */
export const CustodyEventKind = z.enum([
  'delivery.received',
  'ticket.fetched',
  'request.mapped',
  'decision.granted',
  'decision.rejected',
  'ticket.written-back',
  'grant.revoked',
  'grant.amended',
  'fulfillment.reported',
  'revocation.overdue',
  'review.opened',
  'review.closed',
  'review.overdue',
  'ticket.retired',
]);
export type CustodyEventKind = z.infer<typeof CustodyEventKind>;

/** One entry on `access.custody.v1`, hash-chained per ticket (`connectorId` + `ticketId`). */
export const CustodyEvent = z.object({
  eventId: z.string().min(1),
  kind: CustodyEventKind,
  ticket: z.object({ connectorId: z.string().min(1), ticketId: z.string().min(1), ticketKey: z.string().min(1) }),
  requestId: z.string().min(1).nullable(),
  grantId: z.string().min(1).nullable(),
  at: IsoDateTime,
  actor: z.string().min(1),
  /** Kind-specific evidence: digests, record ids, reason codes. Never secrets. */
  data: z.record(z.string(), z.unknown()),
  seq: z.number().int().nonnegative(),
  prevHash: Sha256Hex.nullable(),
  hash: Sha256Hex,
});
export type CustodyEvent = z.infer<typeof CustodyEvent>;
