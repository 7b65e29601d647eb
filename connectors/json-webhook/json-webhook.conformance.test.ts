import { pino } from 'pino';
import type { Delivery } from '../../src/connector/contract.js';
import { principalResolver } from '../../src/connector/resolve.js';
import { describeConformance } from '../../test/conformance/kit.js';
import { startJsonWebhookStub, type JsonTicket } from '../../dev/stubs/json-webhook-stub.js';
import { JsonWebhookConfig, jsonWebhookConnector, signJsonWebhook } from './index.js';

const SECRET = 'conformance-json-webhook-secret';
const TOKEN = 'conformance-token';
const OLD = '2024-01-01T00:00:00.000Z';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();

/** What the kit seeds: a ticket, complete and approved by bob and carol unless said otherwise. */
type Seed = Partial<Omit<JsonTicket, 'id'>>;

const PEOPLE: Record<string, string> = { 'alice@example.com': 'alice', 'bob@example.com': 'bob', 'carol@example.com': 'carol' };
const directory = principalResolver((identity) => (identity.kind === 'email' ? (PEOPLE[identity.value] ?? null) : null));

const config = (baseUrl: string) =>
  JsonWebhookConfig.parse({
    baseUrl,
    auth: { token: TOKEN },
    webhook: { secret: SECRET },
    entitlements: { 'orders-db-rw': 'db-orders-prod-readwrite' },
  });

const complete = (): NonNullable<JsonTicket['request']> => ({
  entitlement: 'orders-db-rw',
  subject: { type: 'service_account', id: 'svc-orders' },
  resource: 'orders-db',
  environment: 'prod',
  ttlSeconds: 7200,
  justification: 'month-end close',
  breakGlass: false,
});

function body(ticketId: string, when: Date, linkBase: string, eventId = `evt-${ticketId}-${when.getTime()}`): Buffer {
  return Buffer.from(JSON.stringify({ ticketId, eventId, event: 'ticket.updated', timestamp: when.getTime(), self: `${linkBase}/tickets/${ticketId}` }));
}
const signed = (raw: Buffer, secret = SECRET): Record<string, string> => ({ 'content-type': 'application/json', 'x-signature': signJsonWebhook(raw, secret) });
const delivery = (raw: Buffer): Delivery => ({ rawBody: raw, headers: signed(raw), receivedAt: new Date() });

let seq = 0;

describeConformance<Seed>({
  name: 'json-webhook',
  createConnector: (baseUrl) => jsonWebhookConnector.create(config(baseUrl), { connectorId: 'json-main', logger: pino({ level: 'silent' }), directory }),
  startStub: async () => {
    const stub = await startJsonWebhookStub({ token: TOKEN });
    return {
      baseUrl: stub.baseUrl,
      requests: stub.requests,
      seed: (s) => {
        seq += 1;
        const id = `T-${seq}`;
        stub.put({
          id,
          status: 'waiting for approval',
          createdAt: OLD,
          updatedAt: OLD,
          requester: { email: 'alice@example.com' },
          request: complete(),
          text: 'orders db read-write for svc-orders',
          approvals: ['bob', 'carol'].map((p, i) => ({ id: `ap-${seq}-${i}`, approver: { email: `${p}@example.com` }, decision: 'approved' as const, decidedAt: OLD })),
          ...s,
        });
        return { ticketId: id };
      },
      commentCount: (ticketId) => stub.notes.get(ticketId)?.length ?? 0,
      failNext: (status, headers) => stub.failNext(status, headers),
      close: stub.close,
    };
  },
  deliveries: {
    body: (ticket, when, linkBase) => body(ticket.ticketId, when, linkBase),
    sign: (raw, extra = {}) => ({ ...signed(raw), ...extra }),
    forge: (raw) => signed(raw, 'another-secret'),
    authHeaders: ['x-signature'],
    staleAgeMs: 10 * 60_000,
  },
  identification: [
    {
      name: 'a ticket event with the source\'s event id',
      delivery: delivery(body('T-77', new Date(), 'https://tickets.example.com', 'evt-1234')),
      expect: { ticketId: 'T-77', deliveryId: 'evt-1234', relevant: true },
    },
  ],
  mapping: [
    { name: 'a complete, approved ticket to a request', seed: {}, expect: 'request' },
    { name: 'a ticket not yet approved to a request (the policy judges approvals)', seed: { approvals: [] }, expect: 'request' },
    { name: 'a free-text ticket to FREE_TEXT_REQUEST', seed: { request: null }, expect: ['FREE_TEXT_REQUEST'] },
    { name: 'an unknown entitlement to UNMAPPED_ENTITLEMENT', seed: { request: { ...complete(), entitlement: 'prod-root' } }, expect: ['UNMAPPED_ENTITLEMENT'] },
    { name: 'a ticket without requester to MISSING_FIELD', seed: { requester: null }, expect: ['MISSING_FIELD'] },
  ],
  validSeed: {},
  polling: {
    since: new Date(T0),
    first: [{ updatedAt: at(10) }, { updatedAt: at(20) }, { updatedAt: at(20) }],
    second: [{ updatedAt: at(40) }, { updatedAt: at(125) }],
  },
});
