import type { SourceIdentity } from '../model/index.js';
import type { PersonResolution, PrincipalResolver } from './contract.js';
import { directoryFieldOf } from './kinds.js';

const SCIM_EXTENSION = 'urn:grantline:scim:schemas:extension:2.0:User';

/** What a directory answers that the person rule needs. */
export interface IdentityLookup {
  /** The one principal holding this source identity, or null. */
  byIdentity(identity: SourceIdentity): string | null;
  /** Every principal, active or not, whose email this is (compared case-insensitively). */
  byEmail(email: string): readonly string[];
}

/**
 * The one home of the email fallback: the source identity first; when it matches nobody and the
 * source gave an email, the email, but only when exactly one principal has it. A shared email
 * resolves nobody: picking one would let a person act as another.
 */
export function resolvePerson(lookup: IdentityLookup, identity: SourceIdentity, email?: string | null): PersonResolution {
  const direct = lookup.byIdentity(identity);
  if (direct !== null) return { principalId: direct, by: 'identity' };
  const address = email?.trim() ?? '';
  if (address === '' || identity.kind === 'email') return { principalId: null, ambiguous: null };
  const holders = [...new Set(lookup.byEmail(address))].sort();
  if (holders.length === 1) return { principalId: holders[0] as string, by: 'email' };
  if (holders.length === 0) return { principalId: null, ambiguous: null };
  const field = directoryFieldOf(identity.kind) ?? identity.kind;
  return {
    principalId: null,
    ambiguous: {
      email: address,
      principals: holders,
      explanation:
        `${identity.kind} ${identity.value} matches no principal, and its email ${address} matches several (${holders.join(', ')}), so grantline cannot tell which one it is. ` +
        `An IdP admin should map this person's ${field} (grantline's SCIM extension attribute ${SCIM_EXTENSION}:${field}) to disambiguate.`,
    },
  };
}

/**
 * A `PrincipalResolver` over a lookup. Without `byEmail`, the email is looked up as an `email`
 * source identity (a directory where emails are unique).
 */
export function principalResolver(byIdentity: (identity: SourceIdentity) => string | null, byEmail?: (email: string) => readonly string[]): PrincipalResolver {
  const lookup: IdentityLookup = {
    byIdentity,
    byEmail:
      byEmail ??
      ((email) => {
        const id = byIdentity({ kind: 'email', value: email });
        return id === null ? [] : [id];
      }),
  };
  return { resolve: byIdentity, resolvePerson: (identity, email) => resolvePerson(lookup, identity, email) };
}
