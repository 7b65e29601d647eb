/**
 * The ServiceNow connector on ServiceNow's published examples (test/fixtures/vendor/servicenow,
 * unmodified): Table API answers read by the client, their records (reference fields as
 * `{link, value}`, and the same record in the `sysparm_display_value=all` form) read by the lenient
 * record schemas and the mapping, a Service Catalog item's id and name in the config and the
 * rejection, and a Contact API user naming the author of a comment.
 */
import { readFileSync } from 'node:fs';
import { principalResolver } from '../../src/connector/resolve.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrincipalResolver, TicketSnapshot } from '../../src/connector/contract.js';
import { testConfig } from '../../test/fixtures/servicenow/config.js';
import { IDS, makeRitm } from '../../test/fixtures/servicenow/records.js';
import { ServiceNowClient } from './client.js';
import { mapRequestedItem, type MapContext } from './map.js';
import { RequestedItem, UserRecord } from './records.js';

const vendorBytes = (file: string): Buffer => readFileSync(new URL(`../../test/fixtures/vendor/servicenow/${file}`, import.meta.url));
const vendor = (file: string): { result: Record<string, unknown> } => JSON.parse(vendorBytes(file).toString('utf8')) as { result: Record<string, unknown> };

const INCIDENT_FILE = 'servicenow-docs.table-api.get-incident-by-sysid.response.json';
const PROBLEMS_FILE = 'servicenow-docs.table-api.get-problem.response.json';
const incident = vendor(INCIDENT_FILE).result;
const catalogItem = vendor('servicenow-docs.sc-api.get-item.response.json').result as { sys_id: string; name: string };
const contact = vendor('servicenow-docs.contact-api.get-contact.response.json').result;

/** The caller of ServiceNow's example incident (`caller_id` and `opened_by`). */
const CALLER = '46c6f9efa9fe198101ddf5eed9adf6e7';
const directory: PrincipalResolver = principalResolver((id) =>
  id.kind === 'servicenow-sys-id' ? (({ [CALLER]: 'p-caller', [IDS.alice]: 'p-alice', [IDS.dave]: 'p-dave' } as Record<string, string>)[id.value] ?? null) : null,
);
const config = testConfig();
const ctx = (mapping: Partial<MapContext['mapping']> = {}): MapContext => ({
  connectorId: 'sn-main',
  instanceUrl: config.instanceUrl,
  mapping: { ...config.mapping, ...mapping },
  statuses: config.statuses,
  directory,
});

/** A snapshot holding `record` as its RITM and nothing else (no variables, approvals or journal). */
function alone(record: Record<string, unknown>): TicketSnapshot {
  return { ticketId: String(incident.sys_id), ticketKey: 'INC0000046', fetchedAt: '2026-01-01T00:00:00.000Z', raw: { ritm: record, variables: [], approvals: [], users: [], journal: [], audit: [] } };
}

/**
 * The example incident as the Table API answers with `sysparm_display_value=all`: every field
 * `{display_value, value}`, references with their `link` too. Built here from the vendored record;
 * the display values are what an instance would show for these ids.
 */
function displayValueAll(record: Record<string, unknown>, shown: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(record).map(([name, field]) => {
      if (typeof field === 'string') return [name, { display_value: shown[name] ?? field, value: field }];
      const ref = field as { link: string; value: string };
      return [name, { display_value: shown[name] ?? ref.value, value: ref.value, link: ref.link }];
    }),
  );
}

describe('ServiceNow Table API examples, read by the client', () => {
  let server: Server;
  let client: ServiceNowClient;
  beforeAll(async () => {
    // Answers with the vendored bytes as they are: one record by sys_id, and a list.
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const file = path === `/api/now/table/incident/${String(incident.sys_id)}` ? INCIDENT_FILE : path === '/api/now/table/problem' ? PROBLEMS_FILE : null;
      res.writeHead(file === null ? 404 : 200, { 'content-type': 'application/json;charset=UTF-8' });
      res.end(file === null ? '{"error":{"message":"No Record found"},"status":"failure"}' : vendorBytes(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = new ServiceNowClient(testConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('one record by sys_id ({"result": {...}}): reference fields arrive as {link, value}', async () => {
    const record = await client.getRecord('incident', String(incident.sys_id));
    expect(record?.['number']).toBe('INC0000046');
    expect(record?.['opened_by']).toEqual({ link: `https://instance.servicenow.com/api/now/table/sys_user/${CALLER}`, value: CALLER });
    expect(RequestedItem.parse(record).opened_by).toEqual({ value: CALLER, display: CALLER });
  });

  it('a list ({"result": [...]}) without a Link header is one page', async () => {
    const { records, truncated } = await client.list('problem', { query: 'active=false', pageSize: 10 });
    expect(truncated).toBe(false);
    expect(records.map((r) => RequestedItem.parse(r)).map((p) => [p.number.value, p.state.value, p.active.value, p.opened_by.value])).toEqual([['PRB0000050', '4', 'false', 'glide.maint']]);
  });
});

describe('a record that is not a catalog request (the example incident), through the mapping', () => {
  it('with reference fields ({link, value}): refused as free text, pointing to the catalog; its fields read', () => {
    const r = mapRequestedItem(alone(incident), ctx());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure.reasons).toEqual([
      {
        code: 'FREE_TEXT_REQUEST',
        field: 'entitlementId',
        message:
          'This request is free text (the request has no catalog variables filled in). Order the catalog item for the access you need so it names the entitlement, subject, resource, environment and duration.',
      },
    ]);
    expect(r.failure).toMatchObject({
      source: { system: 'servicenow', ticketId: 'a9e30c7dc61122760116894de7bcc7bd', ticketKey: 'INC0000046' },
      requester: { principalId: 'p-caller', sourceIdentity: { kind: 'servicenow-sys-id', value: CALLER } },
      freeText: "Can't access SFA software",
      actionable: true,
    });
  });

  it('with display values (sysparm_display_value=all: {display_value, value, link}): value and label read, the same refusal', () => {
    const shown = displayValueAll(incident, { state: 'New', opened_by: 'Joe Employee', caller_id: 'Joe Employee' });
    expect(RequestedItem.parse(shown)).toMatchObject({ state: { value: '1', display: 'New' }, opened_by: { value: CALLER, display: 'Joe Employee' } });
    const plain = mapRequestedItem(alone(incident), ctx());
    const r = mapRequestedItem(alone(shown), ctx());
    expect(r.ok).toBe(false);
    if (r.ok || plain.ok) return;
    expect(r.failure).toEqual(plain.failure);
  });
});

describe('a Service Catalog item (GET /api/sn_sc/servicecatalog/items/{sys_id})', () => {
  it('its sys_id is a valid mapping key, and a request ordered from it maps to the entitlement', () => {
    const mapped = testConfig(undefined, { mapping: { ...config.mapping, catalogItems: { [catalogItem.sys_id]: 'tablet-loan' } } });
    const r = mapRequestedItem(makeRitm({ catItem: catalogItem.sys_id, catItemName: catalogItem.name }), ctx({ catalogItems: mapped.mapping.catalogItems }));
    expect(r.ok && r.request.entitlementId).toBe('tablet-loan');
  });

  it('an unmapped item is refused naming it as people know it', () => {
    const r = mapRequestedItem(makeRitm({ catItem: catalogItem.sys_id, catItemName: catalogItem.name }), ctx());
    expect(!r.ok && r.failure.reasons).toEqual([
      { code: 'UNMAPPED_ENTITLEMENT', field: 'entitlementId', message: 'Catalog item "Apple iPad 3" is not mapped to an entitlement in grantline\'s configuration.' },
    ]);
  });
});

describe('a user record (Contact API: a sys_user extension)', () => {
  it("is read by the user schema, and names the author of a comment by sys_id", () => {
    const user = UserRecord.parse(contact);
    expect([user.sys_id.value, user.user_name.value, user.name.value, user.active.value, user.manager.value]).toEqual(['ddce70866f9331003b3c498f5d3ee417', 'george.warren', 'George Warren', 'true', '']);
    const snapshot = makeRitm({ journal: [{ sysId: 'c0ffee00c0ffee00c0ffee00c0ffee00', element: 'comments', value: 'Approved, go ahead.', by: 'george.warren', on: '2026-11-20 10:10:00' }] });
    const raw = snapshot.raw as { users: unknown[] };
    raw.users.push(contact);
    const r = mapRequestedItem(snapshot, ctx());
    expect(r.ok && r.request.comments).toEqual([
      { authorSource: { kind: 'servicenow-sys-id', value: 'ddce70866f9331003b3c498f5d3ee417' }, commentId: 'c0ffee00c0ffee00c0ffee00c0ffee00', at: '2026-11-20T10:10:00Z', text: 'Approved, go ahead.' },
    ]);
  });
});
