import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { catalogFromValue, directoryFromValue, type Catalog } from '../../src/catalog/index.js';
import { jsonSha256 } from '../../src/custody/index.js';
import { DecisionRequestRecord, type EntitlementRequest } from '../../src/model/index.js';
import { decide, redecide } from '../../src/policy/index.js';
import { EXAMPLE_CATALOG_PATH, makeRequest, NOW, testCatalog, testDirectory } from '../fixtures/requests/factory.js';

const directory = testDirectory();
const HOUR = 3600;

/** The example catalog with the orders entry's maximum TTL set to `maxSeconds`. */
function catalogWithOrdersMax(maxSeconds: number): Catalog {
  const doc = parseYaml(readFileSync(EXAMPLE_CATALOG_PATH, 'utf8')) as { entitlements: { id: string; ttl: Record<string, unknown> }[] };
  const entry = doc.entitlements.find((e) => e.id === 'db-orders-prod-readwrite');
  if (entry === undefined) throw new Error('example catalog changed');
  entry.ttl = { defaultSeconds: Math.min(4 * HOUR, maxSeconds), maxSeconds };
  return catalogFromValue(doc, `orders max ${maxSeconds}s`);
}

let seq = 0;
/** What the processor stores for a decision it took on `request` under `catalog`. */
function stored(request: EntitlementRequest, catalog: Catalog, at = NOW): DecisionRequestRecord {
  const d = decide(request, catalog, directory, at);
  seq += 1;
  return DecisionRequestRecord.parse({
    decisionId: d.outcome === 'granted' ? d.grantId : d.rejectionId,
    outcome: d.outcome,
    reasons: d.outcome === 'granted' ? [] : d.reasons.map((r) => r.code),
    ttlSeconds: d.outcome === 'granted' ? d.ttlSeconds : null,
    decidedAt: d.decidedAt,
    policy: d.policy,
    ticket: { connectorId: request.source.connectorId, ticketId: request.source.ticketId, ticketKey: request.source.ticketKey },
    custody: { eventId: `ce_${seq}`, seq: 3, hash: 'a'.repeat(64) },
    requestSha256: jsonSha256(request),
    request,
  });
}

const ticket = (key: string, overrides: Partial<EntitlementRequest> = {}) =>
  makeRequest({ requestId: `rq_${key}`, source: { ...makeRequest().source, ticketId: key, ticketKey: key }, ...overrides });

describe('redecide: past requests under a new catalog', () => {
  const old = catalogWithOrdersMax(8 * HOUR);
  const sixHours = stored(ticket('ACC-1', { ttlSeconds: 6 * HOUR }), old);
  const twoHours = stored(ticket('ACC-2', { ttlSeconds: 2 * HOUR }), old);
  const tenHours = stored(ticket('ACC-3', { ttlSeconds: 10 * HOUR }), old);

  it('finds nothing to change under the catalog the decisions were taken with', () => {
    const report = redecide([sixHours, twoHours, tenHours], old, directory);
    expect(report).toMatchObject({ decided: 3, unchanged: 3, differences: [] });
  });

  it('a lower cap: the grant that asked for more is now refused, with the reason in full; the others are unchanged', () => {
    expect([sixHours.outcome, twoHours.outcome, tenHours.outcome]).toEqual(['granted', 'granted', 'rejected']);
    const report = redecide([sixHours, twoHours, tenHours], catalogWithOrdersMax(4 * HOUR), directory);
    expect(report.decided).toBe(3);
    // The ten-hour request stays refused for the same reason.
    expect(report.unchanged).toBe(2);
    expect(report.counts).toEqual({ 'granted-to-rejected': 1, 'rejected-to-granted': 0, 'reasons-changed': 0, 'ttl-changed': 0 });
    const flipped = report.differences.find((d) => d.change === 'granted-to-rejected');
    expect(flipped?.ticket.ticketKey).toBe('ACC-1');
    expect(flipped?.after.reasons.map((r) => r.code)).toEqual(['TTL_EXCEEDS_MAX']);
    expect(flipped?.after.reasons[0]?.message).toMatch(/at most 4h; the ticket asks for 6h/);
    expect(flipped?.before).toMatchObject({ outcome: 'granted', ttlSeconds: 6 * HOUR, catalogVersion: old.version });
    expect(report.catalogVersion).not.toBe(old.version);
  });

  it('a higher cap: the refused request is now granted, and says for how long', () => {
    const report = redecide([sixHours, twoHours, tenHours], catalogWithOrdersMax(12 * HOUR), directory);
    expect(report.differences).toEqual([
      expect.objectContaining({ change: 'rejected-to-granted', ticket: expect.objectContaining({ ticketKey: 'ACC-3' }), before: expect.objectContaining({ reasons: ['TTL_EXCEEDS_MAX'] }), after: { outcome: 'granted', reasons: [], ttlSeconds: 10 * HOUR } }),
    ]);
  });

  it('a defaulted duration that the new catalog changes is reported as a changed TTL', () => {
    const defaulted = stored(ticket('ACC-4', { ttlSeconds: undefined }), old);
    expect(defaulted.ttlSeconds).toBe(4 * HOUR);
    const report = redecide([defaulted], catalogWithOrdersMax(2 * HOUR), directory);
    expect(report.differences.map((d) => [d.change, d.after.ttlSeconds])).toEqual([['ttl-changed', 2 * HOUR]]);
  });

  it('decides at the moment of the first decision, counts a record read twice once, and reports in decision order', () => {
    const later = stored(ticket('ACC-5', { ttlSeconds: 6 * HOUR }), old, new Date(NOW.getTime() + 60_000));
    const report = redecide([later, sixHours, later], catalogWithOrdersMax(4 * HOUR), directory);
    expect(report.decided).toBe(2);
    expect(report.differences.map((d) => [d.ticket.ticketKey, d.decidedAt])).toEqual([
      ['ACC-1', NOW.toISOString()],
      ['ACC-5', new Date(NOW.getTime() + 60_000).toISOString()],
    ]);
  });

  it('a new directory: a requester (and owner of the NHI) made inactive turns the grant into a refusal', () => {
    const report = redecide([stored(ticket('ACC-6'), testCatalog())], testCatalog(), directoryWithout('alice'));
    expect(report.differences.map((d) => [d.change, d.after.reasons.map((r) => r.code)])).toEqual([['granted-to-rejected', ['REQUESTER_UNKNOWN', 'OWNER_INACTIVE']]]);
  });
});

function directoryWithout(principal: string) {
  const doc = parseYaml(readFileSync(EXAMPLE_CATALOG_PATH.replace('catalog.yaml', 'directory.yaml'), 'utf8')) as { principals: { id: string; active: boolean }[] };
  for (const p of doc.principals) if (p.id === principal) p.active = false;
  return directoryFromValue(doc, `directory without ${principal}`);
}
