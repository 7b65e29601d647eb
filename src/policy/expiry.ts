import type { TrackedGrant } from '../model/index.js';

/** The amended expiry of a grant whose TTL counts from fulfillment, and the provisioning time it counts from. */
export interface AmendedExpiry {
  readonly provisionedAt: string;
  readonly previousExpiresAt: string;
  readonly expiresAt: string;
  readonly ttlSeconds: number;
}

/**
 * When an adapter reports a grant provisioned at `reportedAt` (and grantline learns it at `now`):
 * the grant's new expiry if its TTL counts from fulfillment, else null. Only once per grant, only
 * while it is in force and not past its decision-time expiry (which bounds an unfulfilled grant).
 * The adapter's clock is not trusted beyond the grant: the provisioning time is taken no earlier
 * than the grant's start and no later than `now`.
 */
export function amendedExpiry(grant: TrackedGrant, reportedAt: string, now: Date): AmendedExpiry | null {
  if (grant.ttlStartsAt !== 'fulfillment' || grant.ttlSeconds === undefined || grant.amendedAt !== undefined || grant.revocation !== null) return null;
  const expires = Date.parse(grant.expiresAt);
  if (expires <= now.getTime()) return null;
  const validFrom = expires - grant.ttlSeconds * 1000;
  const reported = Date.parse(reportedAt);
  const at = Math.min(Math.max(Number.isNaN(reported) ? now.getTime() : reported, validFrom), now.getTime());
  const expiresAt = new Date(at + grant.ttlSeconds * 1000).toISOString();
  if (expiresAt === grant.expiresAt) return null;
  return { provisionedAt: new Date(at).toISOString(), previousExpiresAt: grant.expiresAt, expiresAt, ttlSeconds: grant.ttlSeconds };
}
