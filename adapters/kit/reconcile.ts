/**
 * One reconcile: list what the target holds, plan against the grants in force, act, and say so.
 * Reports and alerts go out after the target has acted (never before: a report is a statement of
 * fact), once each; a crash between acting and reporting is caught up by the next reconcile, since
 * the target's own records (listActual) say what was done.
 */
import type { SigningKeys } from '../../src/custody/index.js';
import type { AdapterAlert, FulfillmentResult, Grant } from '../../src/model/index.js';
import type { EncodedMessage } from '../../src/pipeline/cloudevents.js';
import { endingRef, type GrantBook } from './book.js';
import type { AdapterTarget, DriftPolicy, EndedGrant, Privilege } from './contract.js';
import { encodeAdapterAlert, encodeResult, reportKey, type Ledger } from './ledger.js';
import type { AdapterMetrics } from './metrics.js';
import { plan } from './plan.js';

/** Something the adapter did or found, for logs and for whoever runs the kit (`onEvent`). */
export type AdapterEvent =
  | { readonly type: 'provisioned'; readonly grantId: string; readonly privilege: Privilege }
  | { readonly type: 'revoked'; readonly privilege: Privilege; readonly grantIds: readonly string[]; readonly cause: 'ended' | 'drift' }
  | { readonly type: 'refused'; readonly subject: string; readonly failed: readonly { name: string; detail: string }[] }
  | { readonly type: 'drift'; readonly privilege: Privilege; readonly action: NonNullable<AdapterAlert['action']>; readonly reason: string }
  | { readonly type: 'failed'; readonly grantId: string | null; readonly action: string; readonly detail: string };

/** What one reconcile did. */
export interface ReconcileSummary {
  readonly desired: number;
  readonly actual: number;
  readonly provisioned: number;
  readonly revoked: number;
  readonly drift: number;
  readonly failed: number;
}

export interface ReconcileContext<P extends Privilege> {
  readonly adapter: string;
  readonly topic: string;
  readonly target: AdapterTarget<P>;
  readonly book: GrantBook;
  readonly ledger: Ledger;
  readonly keys: SigningKeys;
  readonly onDrift: DriftPolicy;
  readonly metrics: AdapterMetrics;
  /** Drift alerts raised this run, by privilege key: one alert per appearance, not per reconcile. */
  readonly driftSeen: Map<string, string>;
  readonly publish: (results: readonly EncodedMessage[], alerts: readonly EncodedMessage[]) => Promise<void>;
  readonly emit: (event: AdapterEvent) => void;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Converges the target to the grants in force at `now`. With `provisioning: false` (the topic is
 * not fully verified yet) it only takes away what belongs to grants known to have ended: it adds
 * nothing, and it judges no drift, since a grant it has not verified yet would look like drift.
 */
export async function reconcile<P extends Privilege>(ctx: ReconcileContext<P>, now: Date, provisioning = true): Promise<ReconcileSummary> {
  const { adapter, target, ledger, metrics } = ctx;
  const at = now.toISOString();
  const results: EncodedMessage[] = [];
  const alerts: EncodedMessage[] = [];
  const reported: FulfillmentResult[] = [];
  const alerted: string[] = [];
  const report = (result: Omit<FulfillmentResult, 'signature' | 'adapter' | 'at'>): void => {
    const full = { ...result, adapter, at };
    if (ledger.hasReport(reportKey(full)) || reported.some((r) => reportKey(r) === reportKey(full))) return;
    const encoded = encodeResult(full, ctx.keys);
    results.push(encoded.message);
    reported.push(encoded.result);
  };
  const alert = (draft: Omit<AdapterAlert, 'adapter' | 'topic' | 'raisedAt'>): void => {
    if (ledger.hasAlert(draft.alertId) || alerted.includes(draft.alertId)) return;
    alerts.push(encodeAdapterAlert({ ...draft, adapter, topic: ctx.topic, raisedAt: at }));
    alerted.push(draft.alertId);
  };
  const fail = (grant: Grant | null, action: 'provision' | 'revoke', ref: string, detail: string): void => {
    ctx.emit({ type: 'failed', grantId: grant?.grantId ?? null, action, detail });
    if (grant === null) return;
    const before = ledger.hasReport(reportKey({ grantId: grant.grantId, action, status: 'failed', reference: ref }));
    report({ grantId: grant.grantId, action, status: 'failed', reference: ref, detail });
    if (!before) {
      alert({ alertId: `${adapter}:failed:${grant.grantId}:${action}:${ref}`, kind: 'adapter.fulfillment.failed', subject: grant.grantId, grantId: grant.grantId, message: `${adapter} could not ${action} grant ${grant.grantId}: ${detail}` });
    }
  };
  const confirmEnded = (ended: EndedGrant, reference: string, keptFor: string | null): void => {
    const how = ended.revocation === null ? `expired at ${ended.grant.expiresAt}; the adapter ended it without waiting for grantline's revocation` : `revoked (${ended.revocation.trigger})`;
    const detail = keptFor === null ? how : `${how}; the privilege stays, since grant ${keptFor} in force still gives it`;
    report({ grantId: ended.grant.grantId, action: 'revoke', status: 'revoked', reference: endingRef(ended), detail: `${detail}. Target reference: ${reference}` });
  };

  const actual = await target.listActual();
  const p = plan(ctx.book, actual, target, now);
  let provisioned = 0;
  let revoked = 0;
  let failed = 0;

  if (provisioning) {
    for (const { grant, privilege } of p.provision) {
      try {
        const reference = await target.provision(grant, privilege);
        metrics.actions.inc({ adapter, action: 'provision', result: 'ok' });
        provisioned++;
        report({ grantId: grant.grantId, action: 'provision', status: 'provisioned', reference, detail: `${privilege.description}, until ${grant.expiresAt}` });
        ctx.emit({ type: 'provisioned', grantId: grant.grantId, privilege });
      } catch (err) {
        metrics.actions.inc({ adapter, action: 'provision', result: 'failed' });
        failed++;
        fail(grant, 'provision', privilege.key, describe(err));
      }
    }
    for (const { grant, privilege } of p.inForce) {
      report({ grantId: grant.grantId, action: 'provision', status: 'provisioned', reference: privilege.key, detail: `${privilege.description}, until ${grant.expiresAt}` });
    }
    for (const { grant, reason } of p.unfulfillable) fail(grant, 'provision', 'unfulfillable', reason);
  }

  for (const { privilege, ended } of p.revoke) {
    try {
      const reference = await target.revoke(privilege, { kind: 'ended', grants: ended });
      metrics.actions.inc({ adapter, action: 'revoke', result: 'ok' });
      revoked++;
      for (const e of ended) confirmEnded(e, reference, null);
      ctx.emit({ type: 'revoked', privilege, grantIds: ended.map((e) => e.grant.grantId), cause: 'ended' });
    } catch (err) {
      metrics.actions.inc({ adapter, action: 'revoke', result: 'failed' });
      failed++;
      for (const e of ended) fail(e.grant, 'revoke', endingRef(e), describe(err));
    }
  }

  for (const { ended, keptFor } of p.settled) {
    if (ledger.touched(ended.grant.grantId) || reported.some((r) => r.grantId === ended.grant.grantId)) confirmEnded(ended, 'nothing held for this grant', keptFor);
  }

  const drifting = new Set<string>();
  let driftRemaining = 0;
  for (const { actual: held, reason } of provisioning ? p.drift : []) {
    const { privilege } = held;
    drifting.add(privilege.key);
    let action: NonNullable<AdapterAlert['action']> = held.revocable === false ? 'kept' : ctx.onDrift === 'revoke' ? 'revoked' : 'reported';
    if (action === 'revoked') {
      try {
        await target.revoke(privilege, { kind: 'drift', grantIds: held.grantIds });
        metrics.actions.inc({ adapter, action: 'drift-revoke', result: 'ok' });
        revoked++;
        ctx.emit({ type: 'revoked', privilege, grantIds: held.grantIds, cause: 'drift' });
      } catch (err) {
        metrics.actions.inc({ adapter, action: 'drift-revoke', result: 'failed' });
        failed++;
        action = 'revoke-failed';
        ctx.emit({ type: 'failed', grantId: null, action: 'drift-revoke', detail: describe(err) });
      }
    }
    if (action !== 'revoked') driftRemaining++;
    const first = !ctx.driftSeen.has(privilege.key);
    if (first) {
      ctx.driftSeen.set(privilege.key, `${adapter}:drift:${privilege.key}:${at}`);
      metrics.driftFound.inc({ adapter });
      ctx.emit({ type: 'drift', privilege, action, reason });
    }
    if (first || action === 'revoke-failed') {
      const what = { revoked: 'revoked it', reported: 'left it in place (onDrift: alert)', kept: 'never touches it (outside its mapping)', 'revoke-failed': 'could not revoke it' }[action];
      alert({
        alertId: action === 'revoke-failed' ? `${ctx.driftSeen.get(privilege.key) ?? privilege.key}:revoke-failed` : (ctx.driftSeen.get(privilege.key) ?? privilege.key),
        kind: 'adapter.drift',
        subject: privilege.key,
        grantId: null,
        privilege: { key: privilege.key, description: privilege.description },
        action,
        message: `Drift on ${adapter}: ${privilege.description}, but ${reason}. The adapter ${what}.`,
      });
    }
  }
  if (provisioning) {
    for (const key of [...ctx.driftSeen.keys()]) if (!drifting.has(key)) ctx.driftSeen.delete(key);
    // What is wrong now: a drift revoked in this reconcile no longer is.
    metrics.drift.set({ adapter }, driftRemaining);
  }

  await ctx.publish(results, alerts);
  for (const r of reported) ledger.noteReport(r);
  for (const id of alerted) ledger.noteAlert(id);
  metrics.desired.set({ adapter }, p.desiredCount);
  metrics.actual.set({ adapter }, actual.length);
  return { desired: p.desiredCount, actual: actual.length, provisioned, revoked, drift: p.drift.length, failed };
}
