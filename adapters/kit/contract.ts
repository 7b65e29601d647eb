/**
 * The adapter kit's contract with a target system (a PAM, a secrets manager, a database): what a
 * team writes to make grants real privilege. The kit does everything else: it reads the grant
 * topic, verifies every message, works out which grants are in force, converges the target to
 * them, and reports and alerts.
 */
import type { Grant, Revocation } from '../../src/model/index.js';

/**
 * One unit of privilege on the target, as the target names it: a PostgreSQL role membership, a
 * PAM safe member, a secrets policy binding. Two grants that give the same privilege have the same
 * `key`, so ending one of them does not take away what the other still gives.
 */
export interface Privilege {
  /** Stable and unique on the target, e.g. `["orders_rw","svc_orders"]`. */
  readonly key: string;
  /** For people (alerts, logs, notes): `svc_orders is a member of orders_rw`. */
  readonly description: string;
}

/** A privilege that exists on the target now, with the grants the target recorded for it. */
export interface ActualPrivilege<P extends Privilege = Privilege> {
  readonly privilege: P;
  /**
   * The grant ids the target recorded when it provisioned this privilege (its bookkeeping),
   * including grants that have since ended. Empty for a privilege nobody provisioned through the
   * kit: granted by hand, outside the system of record.
   */
  readonly grantIds: readonly string[];
  /**
   * False when the target must never take this privilege away, e.g. a member outside the
   * adapter's mapping: it is reported as drift, never revoked. Default true.
   */
  readonly revocable?: boolean;
}

/** A grant that has ended, and how: grantline's signed revocation, or its own expiry. */
export interface EndedGrant {
  readonly grant: Grant;
  /** grantline's revocation; null when the grant expired and the kit ended it by itself (fail closed). */
  readonly revocation: Revocation | null;
}

/** Why the kit asks the target to take a privilege away. */
export type RevokeCause =
  /** Every grant recorded for the privilege has ended (revoked or expired). */
  | { readonly kind: 'ended'; readonly grants: readonly EndedGrant[] }
  /** No grant the kit knows explains the privilege, and the adapter runs with `onDrift: revoke`. */
  | { readonly kind: 'drift'; readonly grantIds: readonly string[] };

/**
 * A target system. Every method may be called again for the same input (after a crash, on every
 * reconcile), so each must be idempotent; each throws when the target refused or could not be
 * reached, and the kit then reports `failed`, alerts, and tries again on its next reconcile.
 */
export interface AdapterTarget<P extends Privilege = Privilege> {
  /**
   * The privilege a grant gives on this target; or null when the grant is not for this target (an
   * entitlement another adapter on the same channel serves): the kit then ignores it, reporting
   * nothing; or a sentence saying why this target cannot fulfil a grant that is for it (a subject
   * outside its mapping): the kit reports that as `failed` and alerts. Pure: no I/O.
   */
  privilegeOf(grant: Grant): P | { readonly unfulfillable: string } | null;
  /**
   * Makes the privilege exist and records that `grant` asked for it (the grant id, and why, for
   * `listActual`). Returns the target's reference (account id, lease id, role pair) for the report.
   */
  provision(grant: Grant, privilege: P): Promise<string>;
  /** Takes the privilege away, whoever granted it, and records why. Returns the target's reference. */
  revoke(privilege: P, cause: RevokeCause): Promise<string>;
  /**
   * Every privilege that exists now on what this target manages (not only what the kit provisioned:
   * drift is found here), with the grant ids it recorded for each.
   */
  listActual(): Promise<readonly ActualPrivilege<P>[]>;
}

/** What the kit does with privilege no active grant explains. */
export type DriftPolicy = 'alert' | 'revoke';
