import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

function digest(value: unknown): string {
  const canonical = canonicalize(value);
  if (canonical === undefined) throw new Error('id input has no JSON form');
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
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
