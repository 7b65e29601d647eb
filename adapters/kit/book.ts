/**
 * What the grant topic says, folded: every verified grant and every verified revocation, in any
 * order. Order does not matter on purpose: a grant replayed onto the topic after its revocation is
 * still revoked, so the desired set never depends on where a replay starts or stops. Pure.
 */
import type { Grant, GrantAmendment, Revocation } from '../../src/model/index.js';
import type { EndedGrant } from './contract.js';

export class GrantBook {
  private readonly grants = new Map<string, Grant>();
  /** The first revocation seen per grant id; a re-sent revocation carries the same revocationId. */
  private readonly revocations = new Map<string, Revocation>();
  /** The amendment of a grant's expiry (one per grant; the TTL starts once). */
  private readonly amendments = new Map<string, GrantAmendment>();

  /** Adds a verified grant; false when the grant id is already known (a re-delivery or a replay). */
  addGrant(grant: Grant): boolean {
    if (this.grants.has(grant.grantId)) return false;
    this.grants.set(grant.grantId, grant);
    return true;
  }

  /** Adds a verified revocation; false when the grant already has one. */
  addRevocation(revocation: Revocation): boolean {
    if (this.revocations.has(revocation.grantId)) return false;
    this.revocations.set(revocation.grantId, revocation);
    return true;
  }

  /** Adds a verified amendment; false when the grant already has one. It may arrive before its grant (a replay). */
  addAmendment(amendment: GrantAmendment): boolean {
    if (this.amendments.has(amendment.grantId)) return false;
    this.amendments.set(amendment.grantId, amendment);
    return true;
  }

  /**
   * When a grant ends: its amended expiry where grantline moved it (only for a grant whose TTL counts
   * from fulfillment, for that grant's own TTL), else the grant's own `expiresAt`.
   */
  expiresAt(grant: Grant): string {
    const a = this.amendments.get(grant.grantId);
    if (a === undefined || grant.ttlStartsAt !== 'fulfillment' || a.ttlSeconds !== grant.ttlSeconds) return grant.expiresAt;
    return Date.parse(a.expiresAt) - Date.parse(a.provisionedAt) === grant.ttlSeconds * 1000 ? a.expiresAt : grant.expiresAt;
  }

  get size(): number {
    return this.grants.size;
  }

  grant(grantId: string): Grant | undefined {
    return this.grants.get(grantId);
  }

  /** A grant is in force from the moment it is verified until it is revoked or expires. */
  isActive(grant: Grant, now: Date): boolean {
    return !this.revocations.has(grant.grantId) && now.getTime() < Date.parse(this.expiresAt(grant));
  }

  /** How a known grant ended, or null when it is still in force (or unknown). */
  ended(grantId: string, now: Date): EndedGrant | null {
    const grant = this.grants.get(grantId);
    if (grant === undefined || this.isActive(grant, now)) return null;
    return { grant, revocation: this.revocations.get(grantId) ?? null };
  }

  /** Every grant in force at `now`: issued, verified, not revoked, not expired. */
  active(now: Date): Grant[] {
    return [...this.grants.values()].filter((g) => this.isActive(g, now));
  }

  /** Every known grant that has ended by `now`, with how. */
  endedAll(now: Date): EndedGrant[] {
    const out: EndedGrant[] = [];
    for (const grant of this.grants.values()) {
      if (!this.isActive(grant, now)) out.push({ grant, revocation: this.revocations.get(grant.grantId) ?? null });
    }
    return out;
  }

  /** When the next grant in force expires (epoch ms), or null when none is in force. */
  nextExpiry(now: Date): number | null {
    let next: number | null = null;
    for (const grant of this.active(now)) {
      const at = Date.parse(this.expiresAt(grant));
      if (next === null || at < next) next = at;
    }
    return next;
  }
}

/**
 * What a grant's ending is called in reports: grantline's revocation id, or `expired` when the
 * kit ended it at its expiry before (or without) grantline's revocation.
 */
export function endingRef(ended: EndedGrant): string {
  return ended.revocation?.revocationId ?? 'expired';
}
