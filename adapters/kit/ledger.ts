/**
 * What this adapter has already said: its own fulfillment results and alerts, read back from
 * Kafka on start and added as it writes more. Level-triggered convergence re-derives every action
 * on every reconcile; the ledger is what keeps that from repeating a report or an alert (one note
 * per outcome on the ticket, across restarts) while still re-sending one a crash lost.
 */
import { publicJwks, sign, verifyDetachedJws, type SigningKeys } from '../../src/custody/index.js';
import { AdapterAlert, FulfillmentResult } from '../../src/model/index.js';
import { encodeAlert } from '../../src/pipeline/alerts.js';
import { CE_TYPES, encodeCloudEvent, type EncodedMessage } from '../../src/pipeline/cloudevents.js';

/** The identity of a report: one per grant, action, status and (for revocations) ending. */
export function reportKey(result: Pick<FulfillmentResult, 'grantId' | 'action' | 'status' | 'reference'>): string {
  return result.action === 'provision' ? `${result.grantId}|provision|${result.status}` : `${result.grantId}|revoke|${result.status}|${result.reference}`;
}

function json(value: Buffer | null): unknown {
  try {
    return JSON.parse(value?.toString('utf8') ?? '');
  } catch {
    return undefined;
  }
}

export class Ledger {
  private readonly reports = new Set<string>();
  private readonly touchedGrants = new Set<string>();
  private readonly alerts = new Set<string>();
  private readonly ownJwks;

  constructor(
    private readonly adapter: string,
    keys: SigningKeys,
  ) {
    this.ownJwks = publicJwks(keys);
  }

  hasReport(key: string): boolean {
    return this.reports.has(key);
  }

  /** True once this adapter has reported anything on the grant (so its ending gets confirmed). */
  touched(grantId: string): boolean {
    return this.touchedGrants.has(grantId);
  }

  hasAlert(alertId: string): boolean {
    return this.alerts.has(alertId);
  }

  noteReport(result: FulfillmentResult): void {
    this.reports.add(reportKey(result));
    this.touchedGrants.add(result.grantId);
  }

  noteAlert(alertId: string): void {
    this.alerts.add(alertId);
  }

  /**
   * A record of `access.fulfillment.results.v1`: counted only when it is this adapter's and
   * carries this adapter's valid signature, so nobody else's write can suppress a report.
   */
  readResult(value: Buffer | null): void {
    const data = json(value);
    const parsed = FulfillmentResult.safeParse(data);
    if (!parsed.success || parsed.data.adapter !== this.adapter || parsed.data.signature === undefined) return;
    if (verifyDetachedJws(parsed.data.signature, data as object, this.ownJwks).result !== 'valid') return;
    this.noteReport(parsed.data);
  }

  /** A record of `grantline.alerts.v1`: this adapter's alerts, so a restart does not raise them again. */
  readAlert(value: Buffer | null): void {
    const parsed = AdapterAlert.safeParse(json(value));
    if (parsed.success && parsed.data.adapter === this.adapter) this.noteAlert(parsed.data.alertId);
  }
}

/** A fulfillment result signed with the adapter's key, as a CloudEvent keyed by the grant id. */
export function encodeResult(result: Omit<FulfillmentResult, 'signature'>, keys: SigningKeys): { result: FulfillmentResult; message: EncodedMessage } {
  const signed = sign(FulfillmentResult.parse(result), keys) as FulfillmentResult;
  const message = encodeCloudEvent(
    signed.grantId,
    { id: `${signed.adapter}:${reportKey(signed)}`, source: `urn:grantline:adapter:${signed.adapter}`, type: CE_TYPES.fulfillment, time: signed.at, subject: signed.grantId },
    signed,
  );
  return { result: signed, message };
}

/** An adapter alert as it goes on the alerts topic. */
export function encodeAdapterAlert(alert: AdapterAlert): EncodedMessage {
  return encodeAlert(AdapterAlert.parse(alert));
}
