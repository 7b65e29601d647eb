import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identifyDelivery } from '../../connectors/servicenow/identify.js';
import { verifyDelivery } from '../../connectors/servicenow/verify.js';
import { parseEncodedQuery, signServiceNowDelivery, startServiceNowStub, type ServiceNowStub } from '../../dev/stubs/servicenow-stub.js';
import { HMAC_KEY, testConfig } from '../fixtures/servicenow/config.js';

let stub: ServiceNowStub;
let ritmId = '';
let userId = '';
beforeAll(async () => {
  stub = await startServiceNowStub();
  userId = stub.state.addUser({ user_name: 'alice', name: 'Alice A' })['sys_id'] ?? '';
  const item = stub.state.addCatalogItem('Database admin access')['sys_id'] ?? '';
  ritmId = stub.state.createRequestedItem({ catItem: item, openedBy: userId, variables: { target_environment: 'prod' } })['sys_id'] ?? '';
});
afterAll(() => stub.close());

const get = async (path: string) => {
  const res = await fetch(`${stub.baseUrl}${path}`);
  return { res, body: (await res.json()) as { result: unknown } };
};

describe('ServiceNow stub shapes', () => {
  it('serves reference fields as {link, value} and numbers and booleans as strings by default', async () => {
    const { body } = await get(`/api/now/table/sc_req_item/${ritmId}`);
    const r = body.result as Record<string, unknown>;
    expect(r['opened_by']).toEqual({ link: `${stub.baseUrl}/api/now/table/sys_user/${userId}`, value: userId });
    expect(r['active']).toBe('true');
    expect(r['sys_mod_count']).toBe('0');
    expect(r['sys_updated_on']).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  });

  it('serves {display_value, value} with sysparm_display_value=all, and dot-walks variables', async () => {
    const { body } = await get(
      `/api/now/table/sc_item_option_mtom?sysparm_query=request_item=${ritmId}&sysparm_display_value=all&sysparm_exclude_reference_link=true&sysparm_fields=request_item,sc_item_option.item_option_new.name,sc_item_option.value`,
    );
    const rows = body.result as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]?.['sc_item_option.item_option_new.name']).toEqual({ display_value: 'target_environment', value: 'target_environment' });
    expect(rows[0]?.['sc_item_option.value']).toEqual({ display_value: 'prod', value: 'prod' });
    expect((rows[0]?.['request_item'] as { display_value: string }).display_value).toMatch(/^RITM\d{7}$/);
  });

  it('answers an unknown record with the documented 404 error body', async () => {
    const { res, body } = await get(`/api/now/table/sc_req_item/${'0'.repeat(32)}`);
    expect(res.status).toBe(404);
    expect(body).toMatchObject({ error: { message: 'No Record found' }, status: 'failure' });
  });

  it('gives X-Total-Count and no rel="next" on the last page', async () => {
    const { res } = await get('/api/now/table/sys_user?sysparm_limit=5');
    expect(res.headers.get('x-total-count')).toBe('1');
    expect(res.headers.get('link')).not.toContain('rel="next"');
  });

  it('parses the encoded-query subset and refuses what it does not support', () => {
    expect(parseEncodedQuery('sys_updated_on>=2026-01-01 00:00:00^fieldnameINa,b^ORDERBYsys_updated_on^ORDERBYDESCsys_id')).toEqual({
      conditions: [
        { field: 'sys_updated_on', op: '>=', value: '2026-01-01 00:00:00' },
        { field: 'fieldname', op: 'IN', value: 'a,b' },
      ],
      orderBy: [
        { field: 'sys_updated_on', desc: false },
        { field: 'sys_id', desc: true },
      ],
    });
    expect(() => parseEncodedQuery('a=1^ORb=2')).toThrow();
  });
});

describe('README delivery example', () => {
  it('is a body the connector identifies, and the documented signing verifies', () => {
    const readme = readFileSync(new URL('../../connectors/servicenow/README.md', import.meta.url), 'utf8');
    const example = /```json\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const rawBody = Buffer.from(JSON.stringify(JSON.parse(example ?? '')));
    const receivedAt = new Date();
    const headers = signServiceNowDelivery(rawBody, HMAC_KEY, Math.floor(receivedAt.getTime() / 1000));
    expect(verifyDelivery(testConfig().webhook, { rawBody, headers, receivedAt })).toBe('valid');
    expect(identifyDelivery({ rawBody, headers, receivedAt })).toMatchObject({ ok: true, relevant: true, ticketKey: 'RITM0010001' });
  });
});
