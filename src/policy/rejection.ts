import type { MappingFailure } from '../connector/contract.js';
import type { RejectionDecision } from '../model/index.js';

/** The versions a decision is taken under. */
export interface RejectionVersions {
  readonly policyVersion: string;
  readonly catalogVersion: string;
  readonly directoryVersion: string;
}

/**
 * The rejection of a ticket that could not be mapped to a request: every mapping problem is a
 * reason, and nothing about an entitlement or subject is claimed. Ids are derived by the caller
 * (they hash with the custody digest, so a redelivery rejects with the same id).
 */
export function rejectionFromFailure(
  failure: MappingFailure,
  ids: { readonly requestId: string; readonly rejectionId: string },
  versions: RejectionVersions,
  now: Date,
): RejectionDecision {
  return {
    outcome: 'rejected',
    rejectionId: ids.rejectionId,
    requestId: ids.requestId,
    source: failure.source,
    requester: failure.requester,
    subject: null,
    entitlementId: null,
    reasons: [...failure.reasons],
    freeText: failure.freeText,
    policy: { version: versions.policyVersion, catalogVersion: versions.catalogVersion, directoryVersion: versions.directoryVersion },
    decidedAt: now.toISOString(),
  };
}

/**
 * Whether a rejection is written back on the ticket: only while the source still considers the
 * ticket open, and not while a grant of it is in force (the revocation says what happened then).
 */
export function writesBackRejection(actionable: boolean, activeGrants: number): boolean {
  return actionable && activeGrants === 0;
}
