/**
 * The adapter kit: write a target (`provision`, `revoke`, `listActual`), call `runAdapter`, and
 * the kit reads `access.grants.<channel>.v1`, verifies every message, converges the target to the
 * grants in force, enforces expiry itself, finds drift, and reports every outcome signed on
 * `access.fulfillment.results.v1`. See the README section "For PAM and secrets adapters".
 */
export type { ActualPrivilege, AdapterTarget, DriftPolicy, EndedGrant, Privilege, RevokeCause } from './contract.js';
export { runAdapter } from './run.js';
export type { AdapterHandle, AdapterOptions } from './run.js';
export type { AdapterEvent, ReconcileSummary } from './reconcile.js';
export { jwksSource, JwksUnavailableError } from './jwks.js';
export type { JwksSource, JwksSpec } from './jwks.js';
export { GrantBook } from './book.js';
export { plan } from './plan.js';
export type { Plan } from './plan.js';
