/**
 * Level-triggered convergence, as a pure function: from the grants in force and what exists on
 * the target, what to provision, what to revoke, what is drift, and which outcomes to confirm.
 * It never looks at what happened last (no edge), only at what should be and what is.
 */
import type { Grant } from '../../src/model/index.js';
import type { GrantBook } from './book.js';
import type { ActualPrivilege, AdapterTarget, EndedGrant, Privilege } from './contract.js';

export interface Plan<P extends Privilege> {
  /** Grants in force whose privilege the target has not recorded for them: provision each. */
  readonly provision: readonly { readonly grant: Grant; readonly privilege: P }[];
  /** Grants in force that the target already holds, recorded: confirm they are provisioned. */
  readonly inForce: readonly { readonly grant: Grant; readonly privilege: P }[];
  /** Grants in force this target cannot fulfil, with why. */
  readonly unfulfillable: readonly { readonly grant: Grant; readonly reason: string }[];
  /** Privileges every recorded grant of which has ended: revoke each, then confirm the endings. */
  readonly revoke: readonly { readonly privilege: P; readonly ended: readonly EndedGrant[] }[];
  /** Privileges nothing in force explains and not (only) ended grants of the kit: drift. */
  readonly drift: readonly { readonly actual: ActualPrivilege<P>; readonly reason: string }[];
  /**
   * Ended grants whose privilege is gone, or is kept because a grant in force still gives it:
   * confirm their ending (if the kit ever reported on them).
   */
  readonly settled: readonly { readonly ended: EndedGrant; readonly keptFor: string | null }[];
  /** Number of distinct privileges the grants in force ask for. */
  readonly desiredCount: number;
}

/** Computes the plan at `now`. `actual` is what `target.listActual()` returned. */
export function plan<P extends Privilege>(book: GrantBook, actual: readonly ActualPrivilege<P>[], target: Pick<AdapterTarget<P>, 'privilegeOf'>, now: Date): Plan<P> {
  const actualByKey = new Map(actual.map((a) => [a.privilege.key, a]));
  const desired = new Map<string, Grant[]>();
  const provision: { grant: Grant; privilege: P }[] = [];
  const inForce: { grant: Grant; privilege: P }[] = [];
  const unfulfillable: { grant: Grant; reason: string }[] = [];

  for (const grant of book.active(now)) {
    const privilege = target.privilegeOf(grant);
    if (privilege === null) continue;
    if ('unfulfillable' in privilege) {
      unfulfillable.push({ grant, reason: privilege.unfulfillable });
      continue;
    }
    desired.set(privilege.key, [...(desired.get(privilege.key) ?? []), grant]);
    const held = actualByKey.get(privilege.key);
    if (held !== undefined && held.grantIds.includes(grant.grantId)) inForce.push({ grant, privilege });
    else provision.push({ grant, privilege });
  }

  const revoke: { privilege: P; ended: EndedGrant[] }[] = [];
  const drift: { actual: ActualPrivilege<P>; reason: string }[] = [];
  for (const held of actual) {
    if (desired.has(held.privilege.key)) continue;
    const ended = held.grantIds.map((id) => book.ended(id, now));
    if (held.grantIds.length > 0 && ended.every((e): e is EndedGrant => e !== null)) {
      revoke.push({ privilege: held.privilege, ended });
      continue;
    }
    const unknown = held.grantIds.filter((id) => book.grant(id) === undefined);
    drift.push({
      actual: held,
      reason:
        held.grantIds.length === 0
          ? 'no grant explains it: it was not provisioned through grantline'
          : unknown.length > 0
            ? `the grants recorded for it (${unknown.join(', ')}) are not on the grant topic`
            : `the grants recorded for it (${held.grantIds.join(', ')}) no longer map to it`,
    });
  }

  const settled: { ended: EndedGrant; keptFor: string | null }[] = [];
  const revoking = new Set(revoke.flatMap((r) => r.ended.map((e) => e.grant.grantId)));
  for (const ended of book.endedAll(now)) {
    if (revoking.has(ended.grant.grantId)) continue;
    const privilege = target.privilegeOf(ended.grant);
    if (privilege === null) continue;
    const key = 'unfulfillable' in privilege ? null : privilege.key;
    const held = key === null ? undefined : actualByKey.get(key);
    const keeper = key === null ? undefined : desired.get(key)?.[0];
    if (held === undefined || !held.grantIds.includes(ended.grant.grantId)) settled.push({ ended, keptFor: null });
    else if (keeper !== undefined) settled.push({ ended, keptFor: keeper.grantId });
  }

  return { provision, inForce, unfulfillable, revoke, drift, settled, desiredCount: desired.size };
}
