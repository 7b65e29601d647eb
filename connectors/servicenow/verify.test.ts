import { describe, expect, it } from 'vitest';
import type { Delivery } from '../../src/connector/contract.js';
import { signServiceNowDelivery } from '../../dev/stubs/servicenow-stub.js';
import { HMAC_KEY, testConfig } from '../../test/fixtures/servicenow/config.js';
import { identifyDelivery } from './identify.js';
import { verifyDelivery } from './verify.js';

const NOW = new Date('2026-11-20T10:00:00Z');
const TS = Math.floor(NOW.getTime() / 1000);
const RITM = 'aeed229047801200e0ef563dbb9a71c2';
const body = JSON.stringify({ table: 'sc_req_item', sys_id: RITM, sys_updated_on: '2026-11-20 09:59:58' });
const webhook = testConfig().webhook;

function delivery(raw: string, headers: Record<string, string | undefined>, receivedAt = NOW): Delivery {
  return { rawBody: Buffer.from(raw, 'utf8'), headers, receivedAt };
}

describe('verifyDelivery (HMAC)', () => {
  it('accepts a body signed as the business rule signs it', () => {
    expect(verifyDelivery(webhook, delivery(body, signServiceNowDelivery(body, HMAC_KEY, TS)))).toBe('valid');
  });

  it('refuses a tampered body', () => {
    const headers = signServiceNowDelivery(body, HMAC_KEY, TS);
    expect(verifyDelivery(webhook, delivery(body.replace('sc_req_item', 'sc_req_itex'), headers))).toBe('bad_signature');
  });

  it('refuses a changed timestamp (it is part of the signed data)', () => {
    const headers = { ...signServiceNowDelivery(body, HMAC_KEY, TS), 'x-grantline-timestamp': String(TS + 1) };
    expect(verifyDelivery(webhook, delivery(body, headers))).toBe('bad_signature');
  });

  it('refuses a body signed with another key', () => {
    const other = Buffer.alloc(32, 9).toString('base64');
    expect(verifyDelivery(webhook, delivery(body, signServiceNowDelivery(body, other, TS)))).toBe('bad_signature');
  });

  it.each([
    ['no signature', { 'x-grantline-signature': undefined }],
    ['no timestamp', { 'x-grantline-timestamp': undefined }],
    ['an empty signature', { 'x-grantline-signature': '' }],
  ])('reports %s as missing_signature', (_name, change) => {
    const headers = { ...signServiceNowDelivery(body, HMAC_KEY, TS), ...change };
    expect(verifyDelivery(webhook, delivery(body, headers))).toBe('missing_signature');
  });

  it.each([
    ['too old', -301, 'stale'],
    ['too far ahead', 301, 'stale'],
    ['just inside the window', -300, 'valid'],
  ] as const)('a signed delivery %s is %s (replays refused)', (_name, offsetSeconds, expected) => {
    const headers = signServiceNowDelivery(body, HMAC_KEY, TS + offsetSeconds);
    expect(verifyDelivery(webhook, delivery(body, headers))).toBe(expected);
  });

  it('refuses a non-numeric timestamp', () => {
    const headers = signServiceNowDelivery(body, HMAC_KEY, TS);
    expect(verifyDelivery(webhook, delivery(body, { ...headers, 'x-grantline-timestamp': '2026-11-20T10:00:00Z' }))).toBe('bad_signature');
  });

  it('uses the configured header names', () => {
    const w = testConfig(undefined, { webhook: { hmacSecret: HMAC_KEY, signatureHeader: 'X-Sig', timestampHeader: 'X-Ts' } }).webhook;
    const headers = signServiceNowDelivery(body, HMAC_KEY, TS, { signatureHeader: 'x-sig', timestampHeader: 'x-ts' });
    expect(verifyDelivery(w, delivery(body, headers))).toBe('valid');
    expect(verifyDelivery(w, delivery(body, signServiceNowDelivery(body, HMAC_KEY, TS)))).toBe('missing_signature');
  });
});

describe('verifyDelivery (body)', () => {
  it('a correctly signed body that is not a JSON object is malformed, checked only after the signature', () => {
    for (const raw of ['table=sc_req_item', '"sc_req_item"', '']) {
      expect(verifyDelivery(webhook, delivery(raw, signServiceNowDelivery(raw, HMAC_KEY, TS)))).toBe('malformed');
    }
    const forged = signServiceNowDelivery('table=sc_req_item', Buffer.alloc(32, 9).toString('base64'), TS);
    expect(verifyDelivery(webhook, delivery('table=sc_req_item', forged))).toBe('bad_signature');
  });
});

describe('verifyDelivery (basic auth and mTLS)', () => {
  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  const w = testConfig(undefined, { webhook: { basicAuth: { username: 'sn-outbound', password: 'correct horse' } } }).webhook;

  it.each([
    ['the right credentials', basic('sn-outbound', 'correct horse'), 'valid'],
    ['a wrong password', basic('sn-outbound', 'wrong horse'), 'unauthorized'],
    ['a wrong user', basic('someone', 'correct horse'), 'unauthorized'],
    ['no Authorization header', undefined, 'unauthorized'],
  ] as const)('basic auth with %s is %s', (_name, authorization, expected) => {
    expect(verifyDelivery(w, delivery(body, { authorization }))).toBe(expected);
  });

  it('trusts the proxy header only when configured, and only with the configured value', () => {
    const m = testConfig(undefined, { webhook: { trustMtlsHeader: { name: 'X-Client-Cert-Verified', value: 'SUCCESS' } } }).webhook;
    expect(verifyDelivery(m, delivery(body, { 'x-client-cert-verified': 'SUCCESS' }))).toBe('valid');
    expect(verifyDelivery(m, delivery(body, { 'x-client-cert-verified': 'FAILED:unknown CA' }))).toBe('unauthorized');
    expect(verifyDelivery(m, delivery(body, {}))).toBe('unauthorized');
    // With only HMAC configured, the header lets nothing in.
    expect(verifyDelivery(webhook, delivery(body, { 'x-client-cert-verified': 'SUCCESS' }))).toBe('missing_signature');
  });

  it('requires every configured method', () => {
    const both = testConfig(undefined, {
      webhook: { hmacSecret: HMAC_KEY, basicAuth: { username: 'sn-outbound', password: 'correct horse' } },
    }).webhook;
    const signed = signServiceNowDelivery(body, HMAC_KEY, TS);
    expect(verifyDelivery(both, delivery(body, signed))).toBe('unauthorized');
    expect(verifyDelivery(both, delivery(body, { ...signed, authorization: basic('sn-outbound', 'correct horse') }))).toBe('valid');
  });

  it('config without any method is refused', () => {
    expect(() => testConfig(undefined, { webhook: {} })).toThrow(/at least one/);
  });

  it('config refuses an HMAC key that is not base64 of at least 32 bytes', () => {
    expect(() => testConfig(undefined, { webhook: { hmacSecret: 'short' } })).toThrow(/32 bytes/);
  });
});

describe('identifyDelivery', () => {
  it('identifies a RITM change with a stable delivery id', () => {
    const a = identifyDelivery(delivery(body, {}));
    const b = identifyDelivery(delivery(body, {}, new Date(NOW.getTime() + 60_000)));
    expect(a).toMatchObject({ ok: true, ticketId: RITM, ticketKey: null, eventType: 'sc_req_item.change', relevant: true });
    expect(a.ok && b.ok && a.deliveryId === b.deliveryId).toBe(true);
  });

  it('gives another change of the same record another delivery id', () => {
    const later = body.replace('09:59:58', '09:59:59');
    const a = identifyDelivery(delivery(body, {}));
    const b = identifyDelivery(delivery(later, {}));
    expect(a.ok && b.ok && a.deliveryId !== b.deliveryId).toBe(true);
    const modA = identifyDelivery(delivery(JSON.stringify({ ...JSON.parse(body), sys_mod_count: '4' }), {}));
    const modB = identifyDelivery(delivery(JSON.stringify({ ...JSON.parse(body), sys_mod_count: '5' }), {}));
    expect(modA.ok && modB.ok && modA.deliveryId !== modB.deliveryId).toBe(true);
  });

  it('maps an approval delivery to its RITM', () => {
    const approval = JSON.stringify({
      table: 'sysapproval_approver',
      sys_id: 'f0b0a0f2db2a2300e890f71fbf9619a1',
      sys_updated_on: '2026-11-20 10:00:00',
      document_id: RITM,
      source_table: 'sc_req_item',
      number: 'RITM0010001',
      operation: 'update',
    });
    expect(identifyDelivery(delivery(approval, {}))).toMatchObject({
      ok: true,
      ticketId: RITM,
      ticketKey: 'RITM0010001',
      eventType: 'sysapproval_approver.update',
      relevant: true,
    });
  });

  it('marks approvals of other tables as not relevant', () => {
    const change = JSON.stringify({
      table: 'sysapproval_approver',
      sys_id: 'f0b0a0f2db2a2300e890f71fbf9619a1',
      sys_updated_on: '2026-11-20 10:00:00',
      document_id: RITM,
      source_table: 'change_request',
    });
    expect(identifyDelivery(delivery(change, {}))).toMatchObject({ ok: true, relevant: false });
  });

  it.each([
    ['not JSON', 'table=sc_req_item'],
    ['an unknown table', JSON.stringify({ table: 'incident', sys_id: RITM, sys_updated_on: '2026-11-20 10:00:00' })],
    ['a malformed sys_id', JSON.stringify({ table: 'sc_req_item', sys_id: 'RITM0010001', sys_updated_on: '2026-11-20 10:00:00' })],
    ['an ISO time instead of the Table API form', JSON.stringify({ table: 'sc_req_item', sys_id: RITM, sys_updated_on: '2026-11-20T10:00:00Z' })],
    ['an unexpected key', JSON.stringify({ table: 'sc_req_item', sys_id: RITM, sys_updated_on: '2026-11-20 10:00:00', state: '3' })],
    ['an approval without document_id', JSON.stringify({ table: 'sysapproval_approver', sys_id: RITM, sys_updated_on: '2026-11-20 10:00:00' })],
  ])('refuses %s', (_name, raw) => {
    expect(identifyDelivery(delivery(raw, {})).ok).toBe(false);
  });
});
