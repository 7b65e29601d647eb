import { createHash } from 'node:crypto';
import { pino } from 'pino';
import type { Delivery } from '../../src/connector/contract.js';
import { describeConformance } from '../../test/conformance/kit.js';
import { signServiceNowDelivery, snTime, startServiceNowStub } from '../../dev/stubs/servicenow-stub.js';
import { HMAC_KEY, configInput } from '../../test/fixtures/servicenow/config.js';
import { DEFAULT_VARIABLES, IDS, seedTestInstance, testDirectory } from '../../test/fixtures/servicenow/records.js';
import { ServiceNowConfig, serviceNowConnector } from './index.js';

/** What the kit seeds: one catalog order, approved by bob and carol unless said otherwise. */
interface SnSeed {
  readonly catItem?: string;
  readonly variables?: Record<string, string>;
  readonly approvers?: readonly string[];
  readonly updatedAt?: Date;
}

const OLD = new Date('2024-01-01T00:00:00Z');
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const at = (s: number): Date => new Date(T0 + s * 1000);
const OTHER_KEY = Buffer.alloc(32, 3).toString('base64');

const directory = testDirectory;

/** The signing timestamp is the body's own change time, so the kit can sign "old" bodies. */
function sign(body: Buffer, key: string): Record<string, string> {
  const parsed = JSON.parse(body.toString('utf8')) as { sys_updated_on: string };
  const ts = Math.floor(Date.parse(`${parsed.sys_updated_on.replace(' ', 'T')}Z`) / 1000);
  return signServiceNowDelivery(body, key, ts);
}

function delivery(body: Record<string, string>): Delivery {
  const rawBody = Buffer.from(JSON.stringify(body));
  return { rawBody, headers: sign(rawBody, HMAC_KEY), receivedAt: new Date() };
}
const idOf = (...parts: string[]): string => createHash('sha256').update(parts.join('\n')).digest('hex');
const APPROVAL = 'f0b0a0f2db2a2300e890f71fbf9619a1';

describeConformance<SnSeed>({
  name: 'servicenow',
  createConnector: (baseUrl) =>
    serviceNowConnector.create(ServiceNowConfig.parse(configInput(baseUrl)), { connectorId: 'sn-main', logger: pino({ level: 'silent' }), directory }),
  startStub: async () => {
    const stub = await startServiceNowStub();
    let clock = OLD;
    stub.state.now = () => clock;
    seedTestInstance(stub.state);
    return {
      baseUrl: stub.baseUrl,
      get requests() {
        return stub.requests.map((r) => ({ method: r.method, path: r.url, host: r.host }));
      },
      seed: (s) => {
        clock = s.updatedAt ?? OLD;
        const ritm = stub.state.createRequestedItem({
          catItem: s.catItem ?? IDS.catItemDbAdmin,
          openedBy: IDS.alice,
          variables: s.variables ?? { ...DEFAULT_VARIABLES },
        });
        const ticketId = ritm['sys_id'] ?? '';
        for (const approver of s.approvers ?? [IDS.bob, IDS.carol]) {
          stub.state.setApprovalState(stub.state.addApproval(ticketId, approver)['sys_id'] ?? '', 'approved');
        }
        clock = OLD;
        return { ticketId };
      },
      commentCount: (ticketId) => stub.state.journal(ticketId, 'work_notes').length,
      failNext: (status, headers = {}) =>
        stub.failNext(
          status === 429
            ? { kind: 'rate-limit', retryAfterSeconds: Number(headers['Retry-After'] ?? headers['retry-after'] ?? '1') }
            : { kind: 'server-error', status },
        ),
      close: stub.close,
    };
  },
  deliveries: {
    body: (ticket, when, linkBase) =>
      Buffer.from(JSON.stringify({ table: 'sc_req_item', sys_id: ticket.ticketId, sys_updated_on: snTime(when), instance_url: linkBase })),
    sign: (body, extra = {}) => ({ ...sign(body, HMAC_KEY), ...extra }),
    forge: (body) => sign(body, OTHER_KEY),
    authHeaders: ['x-grantline-signature', 'x-grantline-timestamp'],
    staleAgeMs: 10 * 60_000,
  },
  identification: [
    {
      name: 'a RITM change',
      delivery: delivery({ table: 'sc_req_item', sys_id: IDS.ritm, sys_updated_on: '2025-03-01 10:00:00' }),
      expect: { ticketId: IDS.ritm, deliveryId: idOf('sc_req_item', IDS.ritm, '2025-03-01 10:00:00'), relevant: true },
    },
    {
      name: 'an approval decided on a RITM (the ticket is the RITM)',
      delivery: delivery({ table: 'sysapproval_approver', sys_id: APPROVAL, sys_updated_on: '2025-03-01 10:05:00', document_id: IDS.ritm, source_table: 'sc_req_item' }),
      expect: { ticketId: IDS.ritm, deliveryId: idOf('sysapproval_approver', APPROVAL, '2025-03-01 10:05:00'), relevant: true },
    },
    {
      name: 'an approval of a change request (not an access request)',
      delivery: delivery({ table: 'sysapproval_approver', sys_id: APPROVAL, sys_updated_on: '2025-03-01 10:06:00', document_id: IDS.ritm, source_table: 'change_request' }),
      expect: { ticketId: IDS.ritm, deliveryId: idOf('sysapproval_approver', APPROVAL, '2025-03-01 10:06:00'), relevant: false },
    },
    {
      name: 'a RITM change with its record version',
      delivery: delivery({ table: 'sc_req_item', sys_id: IDS.ritm, sys_updated_on: '2025-03-01 10:00:00', sys_mod_count: '7', number: 'RITM0010001' }),
      expect: { ticketId: IDS.ritm, deliveryId: idOf('sc_req_item', IDS.ritm, '2025-03-01 10:00:00', '7'), relevant: true },
    },
  ],
  mapping: [
    { name: 'a complete catalog order to a request', seed: {}, expect: 'request' },
    { name: 'an order not yet approved to a request (the policy judges approvals)', seed: { approvers: [] }, expect: 'request' },
    { name: 'the generic other-access item to FREE_TEXT_REQUEST', seed: { catItem: IDS.catItemOther }, expect: ['FREE_TEXT_REQUEST'] },
    { name: 'an order with every variable empty to FREE_TEXT_REQUEST', seed: { variables: {} }, expect: ['FREE_TEXT_REQUEST'] },
    { name: 'an unmapped catalog item to UNMAPPED_ENTITLEMENT', seed: { catItem: IDS.catItemUnmapped }, expect: ['UNMAPPED_ENTITLEMENT'] },
    { name: 'an empty environment variable to MISSING_FIELD', seed: { variables: { ...DEFAULT_VARIABLES, target_environment: '' } }, expect: ['MISSING_FIELD'] },
    { name: 'a subject unknown to the directory to SUBJECT_UNKNOWN', seed: { variables: { ...DEFAULT_VARIABLES, subject: IDS.catItemUnmapped } }, expect: ['SUBJECT_UNKNOWN'] },
  ],
  validSeed: {},
  polling: {
    since: new Date(T0),
    first: [{ updatedAt: at(10) }, { updatedAt: at(20) }, { updatedAt: at(30) }],
    second: [{ updatedAt: at(40) }, { updatedAt: at(50) }, { updatedAt: at(125) }],
  },
});
