import type { Catalog } from '../catalog/catalog.js';
import type { Directory } from '../catalog/directory.js';
import type { DecisionRequestRecord, Reason, ReasonCode } from '../model/index.js';
import { decide, type DecideOptions } from './decide.js';

/** How a past decision would come out under another catalog or directory. */
export type WhatIfChange = 'granted-to-rejected' | 'rejected-to-granted' | 'reasons-changed' | 'ttl-changed';

/** One past decision whose outcome, reasons or duration would differ. */
export interface WhatIfDifference {
  readonly change: WhatIfChange;
  readonly ticket: DecisionRequestRecord['ticket'];
  readonly requestId: string;
  readonly entitlementId: string | null;
  readonly decidedAt: string;
  readonly before: { readonly outcome: 'granted' | 'rejected'; readonly reasons: readonly ReasonCode[]; readonly ttlSeconds: number | null; readonly catalogVersion: string; readonly directoryVersion: string };
  /** `reasons` in full: the sentences say what the new policy refuses and how to fix it. */
  readonly after: { readonly outcome: 'granted' | 'rejected'; readonly reasons: readonly Reason[]; readonly ttlSeconds: number | null };
}

/** What re-deciding a set of past decisions found. */
export interface WhatIfReport {
  readonly catalogVersion: string;
  readonly directoryVersion: string;
  /** Decisions re-decided (each stored decision once). */
  readonly decided: number;
  readonly unchanged: number;
  readonly counts: Readonly<Record<WhatIfChange, number>>;
  /** In the order the decisions were taken. */
  readonly differences: readonly WhatIfDifference[];
}

function sameCodes(a: readonly ReasonCode[], b: readonly ReasonCode[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((code, i) => code === y[i]);
}

/**
 * Decides each stored request again under `catalog` and `directory`, with the policy's own
 * `decide` (the one the processor uses), at the moment it was first decided, so that only the
 * policy documents differ; and says which decisions would change. Pure: the caller reads the
 * records (`grantline whatif` reads `grantline.decision-requests.v1`).
 *
 * A decision is counted once however often its record was read (by custody event id). Identities
 * are as the connector resolved them when the ticket was decided: a new directory changes who is
 * active, in which group, and who owns what, not which principal a source account maps to. The
 * per-person break-glass limit is not applied: it depends on the break-glass grants each person held
 * at that moment, which are not kept with the request.
 */
export function redecide(records: Iterable<DecisionRequestRecord>, catalog: Catalog, directory: Directory, options: DecideOptions = {}): WhatIfReport {
  const seen = new Set<string>();
  const ordered: DecisionRequestRecord[] = [];
  for (const record of records) {
    if (seen.has(record.custody.eventId)) continue;
    seen.add(record.custody.eventId);
    ordered.push(record);
  }
  ordered.sort((a, b) => a.decidedAt.localeCompare(b.decidedAt));
  const counts: Record<WhatIfChange, number> = { 'granted-to-rejected': 0, 'rejected-to-granted': 0, 'reasons-changed': 0, 'ttl-changed': 0 };
  const differences: WhatIfDifference[] = [];
  for (const record of ordered) {
    const decision = decide(record.request, catalog, directory, new Date(record.decidedAt), options);
    const after =
      decision.outcome === 'granted'
        ? { outcome: 'granted' as const, reasons: [], ttlSeconds: decision.ttlSeconds }
        : { outcome: 'rejected' as const, reasons: decision.reasons, ttlSeconds: null };
    let change: WhatIfChange | null = null;
    if (record.outcome !== after.outcome) change = after.outcome === 'granted' ? 'rejected-to-granted' : 'granted-to-rejected';
    else if (!sameCodes(record.reasons, after.reasons.map((r) => r.code))) change = 'reasons-changed';
    else if (record.ttlSeconds !== after.ttlSeconds) change = 'ttl-changed';
    if (change === null) continue;
    counts[change] += 1;
    differences.push({
      change,
      ticket: record.ticket,
      requestId: record.request.requestId,
      entitlementId: record.request.entitlementId,
      decidedAt: record.decidedAt,
      before: {
        outcome: record.outcome,
        reasons: record.reasons,
        ttlSeconds: record.ttlSeconds,
        catalogVersion: record.policy.catalogVersion,
        directoryVersion: record.policy.directoryVersion,
      },
      after,
    });
  }
  return { catalogVersion: catalog.version, directoryVersion: directory.version, decided: ordered.length, unchanged: ordered.length - differences.length, counts, differences };
}
