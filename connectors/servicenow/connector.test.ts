import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../src/connector/contract.js';
import { NonRetriableError, SourceResponseError } from '../../src/connector/errors.js';
import type { GrantDecision, RejectionDecision } from '../../src/model/index.js';
import { connectorTypes } from '../registry.js';
import { snTime, startServiceNowStub, type ServiceNowStub } from '../../dev/stubs/servicenow-stub.js';
import { configInput } from '../../test/fixtures/servicenow/config.js';
import { DEFAULT_VARIABLES, IDS, seedTestInstance, testDirectory } from '../../test/fixtures/servicenow/records.js';
import { serviceNowConnector } from './index.js';

const directory = testDirectory;

let stub: ServiceNowStub;
let connector: Connector;
let clock = new Date('2026-11-20T09:00:00Z');
const tick = (seconds: number): void => {
  clock = new Date(clock.getTime() + seconds * 1000);
};

beforeAll(async () => {
  stub = await startServiceNowStub();
  stub.state.now = () => clock;
  seedTestInstance(stub.state);
  const config = serviceNowConnector.configSchema.parse(configInput(stub.baseUrl));
  connector = serviceNowConnector.create(config, { connectorId: 'sn-main', logger: pino({ level: 'silent' }), directory });
});
afterAll(() => stub.close());
beforeEach(() => {
  stub.hibernate(false);
});

function order(variables: Record<string, string> = { ...DEFAULT_VARIABLES }): string {
  tick(60);
  const ritm = stub.state.createRequestedItem({ catItem: IDS.catItemDbAdmin, openedBy: IDS.alice, variables });
  return ritm['sys_id'] ?? '';
}

function approveAll(ritm: string): void {
  for (const approver of [IDS.bob, IDS.carol]) {
    tick(30);
    const a = stub.state.addApproval(ritm, approver);
    tick(30);
    stub.state.setApprovalState(a['sys_id'] ?? '', 'approved');
  }
}

describe('ServiceNow connector against the Table API stub', () => {
  it('is registered as type servicenow', () => {
    expect(connectorTypes.servicenow).toBe(serviceNowConnector);
    expect(connector).toMatchObject({ id: 'sn-main', type: 'servicenow', instanceUrl: stub.baseUrl });
  });

  it('fetches the RITM, its variables, approvals and users, and maps them', async () => {
    const id = order();
    approveAll(id);
    const snapshot = await connector.fetchTicket(id);
    expect(snapshot.ticketKey).toMatch(/^RITM\d{7}$/);
    const raw = snapshot.raw as Record<string, unknown[]>;
    expect(raw['variables']).toHaveLength(Object.keys(DEFAULT_VARIABLES).length);
    expect(raw['approvals']).toHaveLength(2);
    expect(raw['users']).toHaveLength(3); // alice (opened_by = requested_for), bob, carol
    const r = connector.map(snapshot);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request).toMatchObject({
      entitlementId: 'db-admin',
      subject: { type: 'human', id: 'p-dave' },
      resource: 'db-payments-01',
      environment: 'prod',
      ttlSeconds: 28_800,
      requester: { principalId: 'p-alice' },
      status: { name: 'Open', actionable: true },
    });
    expect(r.request.approvals.map((a) => [a.approverPrincipalId, a.decision])).toEqual([
      ['p-bob', 'approved'],
      ['p-carol', 'approved'],
    ]);
    // Approving bumped the RITM's sys_updated_on; the request itself did not change.
    expect(r.request.changes).toEqual([]);
    expect(JSON.parse(JSON.stringify(snapshot.raw))).toEqual(snapshot.raw);
  });

  it('a variable edited after the approvals is reported as a change after them', async () => {
    const id = order();
    approveAll(id);
    tick(60);
    stub.state.setVariable(id, 'target_environment', 'prod-eu');
    const r = connector.map(await connector.fetchTicket(id));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request.environment).toBe('prod-eu');
    const editedAt = clock.toISOString().replace('.000Z', 'Z');
    expect(r.request.changes).toEqual([{ field: 'environment', at: editedAt }]);
    expect(r.request.approvals.every((a) => Date.parse(a.decidedAt) < Date.parse(editedAt))).toBe(true);
  });

  it('requested_for changed after the approvals is read from sys_audit as a change of the requester', async () => {
    const id = order();
    approveAll(id);
    tick(60);
    stub.state.update('sc_req_item', id, { requested_for: IDS.dave });
    stub.state.insert('sys_audit', { tablename: 'sc_req_item', documentkey: id, fieldname: 'requested_for', oldvalue: IDS.alice, newvalue: IDS.dave });
    const r = connector.map(await connector.fetchTicket(id));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request.changes).toEqual([{ field: 'requester', at: clock.toISOString().replace('.000Z', 'Z') }]);
  });

  it('refuses a deleted RITM and a malformed id as non-retriable', async () => {
    await expect(connector.fetchTicket('0'.repeat(32))).rejects.toBeInstanceOf(NonRetriableError);
    const before = stub.requests.length;
    await expect(connector.fetchTicket('../sys_user')).rejects.toBeInstanceOf(NonRetriableError);
    expect(stub.requests.length).toBe(before);
  });

  it('a hibernating instance fails the fetch (retriable), never yields an empty ticket', async () => {
    const id = order();
    stub.hibernate(true);
    const err = await connector.fetchTicket(id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceResponseError);
    expect((err as SourceResponseError).retriable).toBe(true);
  });

  it('isCancelled follows the configured RITM states', async () => {
    const id = order();
    expect(connector.isCancelled(await connector.fetchTicket(id))).toBe(false);
    stub.state.update('sc_req_item', id, { state: '4', active: 'false' });
    const snap = await connector.fetchTicket(id);
    expect(connector.isCancelled(snap)).toBe(true);
    const r = connector.map(snap);
    expect(r.ok && r.request.status).toEqual({ name: 'Closed Incomplete', actionable: false });
  });
});

describe('write-back', () => {
  const grant = (ticketId: string): GrantDecision => ({
    outcome: 'granted',
    grantId: 'grt_01',
    requestId: 'req_01',
    source: { system: 'servicenow', connectorId: 'sn-main', instanceUrl: stub.baseUrl, ticketId, ticketKey: 'RITM0010001', url: `${stub.baseUrl}/x` },
    requester: { principalId: 'p-alice', sourceIdentity: { kind: 'servicenow-sys-id', value: IDS.alice } },
    subject: { type: 'human', id: 'p-dave' },
    subjectOwnerPrincipalId: null,
    entitlementId: 'db-admin',
    entitlement: { id: 'db-admin', kind: 'role', system: 'postgres', resource: 'db-payments-01', sensitivity: 'high', channel: 'pam', catalogVersion: 'c1' },
    resource: 'db-payments-01',
    environment: 'prod',
    justification: { text: 'incident' },
    approvals: [],
    validFrom: '2026-11-20T10:00:00Z',
    expiresAt: '2026-11-20T18:00:00Z',
    ttlSeconds: 28_800,
    ttlSource: 'requested',
    breakGlass: { active: true, reviewDueAt: '2026-11-21T10:00:00Z' },
    revocation: { triggers: ['ttl-expired'] },
    policy: { version: 'p1', catalogVersion: 'c1', directoryVersion: 'd1' },
    decidedAt: '2026-11-20T10:00:00Z',
  });

  it('writes one work note per decision, however often it is called', async () => {
    const id = order();
    const patches = () => stub.requests.filter((r) => r.method === 'PATCH').length;
    const before = patches();
    const first = await connector.writeBack({ ticketId: id, ticketKey: id }, { kind: 'decision', decision: grant(id) }, 'decision:grt_01');
    const second = await connector.writeBack({ ticketId: id, ticketKey: id }, { kind: 'decision', decision: grant(id) }, 'decision:grt_01');
    expect(first.written).toBe(true);
    expect(second).toEqual({ written: false, recordId: first.recordId });
    expect(patches() - before).toBe(1);
    const notes = stub.state.journal(id, 'work_notes');
    expect(notes).toHaveLength(1);
    expect(notes[0]?.['sys_id']).toBe(first.recordId);
    expect(notes[0]?.['value']).toContain('Access granted: db-admin');
    expect(notes[0]?.['value']).toContain('grt_01');
    expect(notes[0]?.['value']).toContain('2026-11-20T18:00:00Z');
    expect(notes[0]?.['value']).toContain('[grantline:decision:grt_01]');
    const other = await connector.writeBack({ ticketId: id, ticketKey: id }, { kind: 'note', text: 'hello' }, 'note:2');
    expect(other.written).toBe(true);
    expect(stub.state.journal(id, 'work_notes')).toHaveLength(2);
  });

  it('skips the journal read before the note when told the note cannot be there, and still names the note it wrote', async () => {
    const id = order();
    const from = stub.requests.length;
    const result = await connector.writeBack({ ticketId: id, ticketKey: id }, { kind: 'note', text: 'hello' }, 'note:absent', { knownAbsent: true });
    expect(result.written).toBe(true);
    expect(stub.requests.slice(from).map((r) => r.method)).toEqual(['PATCH', 'GET']);
    expect(stub.state.journal(id, 'work_notes')[0]?.['sys_id']).toBe(result.recordId);
  });

  it('states each rejection reason with how to fix it', async () => {
    const id = order();
    const rejection: RejectionDecision = {
      outcome: 'rejected',
      rejectionId: 'rej_01',
      requestId: 'req_02',
      source: grant(id).source,
      requester: null,
      subject: null,
      entitlementId: null,
      reasons: [
        { code: 'UNMAPPED_ENTITLEMENT', message: 'Catalog item "Laptop" is not mapped.' },
        { code: 'APPROVAL_STALE', message: 'Approval by bob predates the last edit.' },
        { code: 'BREAK_GLASS_NOT_ALLOWED', message: 'alice may not invoke break-glass for fleet-root; only members of oncall may.' },
      ],
      freeText: '',
      policy: { version: 'p1', catalogVersion: 'c1', directoryVersion: 'd1' },
      decidedAt: '2026-11-20T10:00:00Z',
    };
    await connector.writeBack({ ticketId: id, ticketKey: id }, { kind: 'decision', decision: rejection }, 'decision:rej_01');
    const text = stub.state.journal(id, 'work_notes')[0]?.['value'] ?? '';
    expect(text).toContain('Access not granted (rejection id rej_01)');
    expect(text).toContain('UNMAPPED_ENTITLEMENT: Catalog item "Laptop" is not mapped. How to fix:');
    expect(text).toContain('APPROVAL_STALE: Approval by bob predates the last edit. How to fix: The request changed');
    // The hint fits an entry that allows break-glass to others only, not just one without it.
    expect(text).toContain('How to fix: Break-glass is not open to this requester for this entitlement; use the normal approval.');
  });

  it('opens one break-glass review task linked to the RITM and reads its state', async () => {
    const id = order();
    const review = await connector.openReview({ ticketId: id, ticketKey: id }, grant(id));
    expect(review.ticketKey).toMatch(/^SCTASK\d{7}$/);
    expect(review.url).toBe(`${stub.baseUrl}/sc_task.do?sys_id=${review.ticketId}`);
    expect(await connector.openReview({ ticketId: id, ticketKey: id }, grant(id))).toEqual(review);
    const task = stub.state.get('sc_task', review.ticketId);
    expect(task?.['request_item']).toBe(id);
    expect(await connector.reviewState(review)).toEqual({ closed: false, outcome: null, closedAt: null });
    tick(60);
    stub.state.update('sc_task', review.ticketId, { state: '3', active: 'false', closed_at: snTime(clock) });
    expect(await connector.reviewState(review)).toEqual({ closed: true, outcome: 'closed complete', closedAt: clock.toISOString().replace('.000Z', 'Z') });
  });

  it('writes an escalation note on the review task once per key, not on the RITM', async () => {
    const id = order();
    const review = await connector.openReview({ ticketId: id, ticketKey: id }, grant(id));
    const before = stub.state.journal(id, 'work_notes').length;
    expect((await connector.noteReview(review, 'ESCALATION: this review is overdue.', 'review-overdue:gr_1')).written).toBe(true);
    expect((await connector.noteReview(review, 'ESCALATION: this review is overdue.', 'review-overdue:gr_1')).written).toBe(false);
    const notes = stub.state.journal(review.ticketId, 'work_notes').map((n) => String(n['value']));
    expect(notes.filter((n) => n.includes('ESCALATION: this review is overdue.'))).toHaveLength(1);
    expect(stub.state.journal(id, 'work_notes')).toHaveLength(before);
  });
});

describe('poll', () => {
  it('returns changed RITMs and approvals oldest first, and resumes from the watermark without repeats', async () => {
    tick(3600);
    const since = new Date(clock.getTime() + 1000);
    const a = order();
    const b = order();
    const first = await connector.poll(null, since);
    expect(first.tickets.map((t) => t.ticketId)).toEqual([a, b]);
    expect(first.tickets[0]?.ticketKey).toMatch(/^RITM/);

    const again = await connector.poll(first.watermark, since);
    expect(again.tickets).toEqual([]);

    tick(60);
    const approval = stub.state.addApproval(a, IDS.bob);
    tick(60);
    stub.state.update('sysapproval_approver', approval['sys_id'] ?? '', { state: 'approved' });
    const third = await connector.poll(again.watermark, since);
    // The approval maps to its RITM, under the RITM's number.
    expect(third.tickets.map((t) => [t.ticketId, t.ticketKey])).toEqual([[a, stub.state.get('sc_req_item', a)?.['number']]]);
  });

  it('neither skips nor repeats records that share one second across page limits', async () => {
    tick(3600);
    const since = new Date(clock.getTime());
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(stub.state.createRequestedItem({ catItem: IDS.catItemDbAdmin, openedBy: IDS.alice, variables: { ...DEFAULT_VARIABLES } })['sys_id'] ?? '');
    }
    // pageSize 2; one page per call forces the watermark to carry the ids already seen at that second.
    const config = serviceNowConnector.configSchema.parse(configInput(stub.baseUrl, { poll: { pageSize: 2, maxPages: 1, tables: ['sc_req_item'] } }));
    const small = serviceNowConnector.create(config, { connectorId: 'sn-main', logger: pino({ level: 'silent' }), directory });
    const seen: string[] = [];
    let wm: string | null = null;
    for (let call = 0; call < 6; call++) {
      const page = await small.poll(wm, since);
      seen.push(...page.tickets.map((t) => t.ticketId));
      wm = page.watermark;
    }
    expect(seen.sort()).toEqual([...ids].sort());
  });

  it('reads every page of a poll (fails if only the first page is read)', async () => {
    tick(3600);
    const since = new Date(clock.getTime() + 1000);
    const ids = Array.from({ length: 5 }, () => order());
    const page = await connector.poll(null, since);
    expect(page.tickets.map((t) => t.ticketId)).toEqual(ids);
  });

  it('catches a record that became visible late with a time just before the watermark', async () => {
    tick(3600);
    const since = new Date(clock.getTime() + 1000);
    const a = order();
    const first = await connector.poll(null, since);
    expect(first.tickets.map((t) => t.ticketId)).toEqual([a]);
    // Committed after the poll, but stamped 3 seconds before the newest record it saw.
    const saved = clock;
    clock = new Date(clock.getTime() - 3000);
    const late = stub.state.createRequestedItem({ catItem: IDS.catItemDbAdmin, openedBy: IDS.alice, variables: { ...DEFAULT_VARIABLES } });
    clock = saved;
    const second = await connector.poll(first.watermark, since);
    expect(second.tickets.map((t) => t.ticketId)).toEqual([late['sys_id']]);
    expect((await connector.poll(second.watermark, since)).tickets).toEqual([]);
  });

  it("a work note tells the RITM's new sys_updated_on, the very time the poll then reports (issue 16: its echo is not fetched)", async () => {
    tick(3600);
    const since = new Date(clock.getTime() + 1000);
    const id = order();
    tick(5);
    const first = await connector.writeBack({ ticketId: id, ticketKey: id }, { kind: 'note', text: 'hello' }, 'echo:1');
    expect(first.ticketUpdatedAt).toBe(clock.toISOString().replace('.000Z', 'Z'));
    const page = await connector.poll(null, since);
    expect(page.tickets.find((t) => t.ticketId === id)?.updatedAt).toBe(first.ticketUpdatedAt);
    // Found already written: nothing changed, no time.
    expect(await connector.writeBack({ ticketId: id, ticketKey: id }, { kind: 'note', text: 'hello' }, 'echo:1')).toEqual({ written: false, recordId: first.recordId });
  });

  it('refuses a watermark that is not ours', async () => {
    await expect(connector.poll('{"ts":1}', new Date())).rejects.toBeInstanceOf(NonRetriableError);
  });
});
