import { describe, expect, it } from 'vitest';
import type { MapResult } from '../../src/connector/contract.js';
import type { EntitlementRequest, WritebackTask } from '../../src/model/index.js';
import { decide, pendingGrant, renderPendingNote } from '../../src/policy/index.js';
import { processTicket } from '../../src/pipeline/ticket/index.js';
import { makeRequest, NOW, testCatalog, testDirectory } from '../fixtures/requests/factory.js';
import * as fx from '../fixtures/ticket-pipeline.js';

const catalog = testCatalog();
const directory = testDirectory();
const people = directory.document.principals.map((p) => p.id);
const pendingOf = (request: EntitlementRequest) => pendingGrant(request, decide(request, catalog, directory, NOW), catalog, directory, people);

describe('pendingGrant: what an approver would approve', () => {
  it('a request waiting for approvals: entitlement, subject, resource, environment, the defaulted duration, and who may approve by name', () => {
    const pending = pendingOf(makeRequest({ approvals: [], ttlSeconds: undefined }));
    expect(pending).toEqual({
      entitlementId: 'db-orders-prod-readwrite',
      subject: { type: 'service_account', id: 'svc-orders' },
      resource: 'orders-db',
      environment: 'prod',
      ttlSeconds: 4 * 3600,
      ttlSource: 'catalog-default',
      requirement: '2 approvers from data-platform-owners',
      approvers: [{ group: 'data-platform-owners', people: [{ id: 'bob', name: 'Bob Bauer' }, { id: 'carol', name: 'Carol Chen' }] }],
      excluded: [],
      missing: [expect.objectContaining({ code: 'INSUFFICIENT_APPROVALS' })],
    });
    const note = renderPendingNote(pending!);
    expect(note).toMatch(/^Waiting for approval/);
    expect(note).toContain('- Entitlement: db-orders-prod-readwrite');
    expect(note).toContain('- Subject: service_account svc-orders');
    expect(note).toContain('- Resource: orders-db');
    expect(note).toContain('- Environment: prod');
    expect(note).toContain("- Duration: 4h (the catalog's default: the ticket asks for no duration)");
    expect(note).toContain('Approval needed: 2 approvers from data-platform-owners');
    expect(note).toContain('- data-platform-owners: Bob Bauer (bob), Carol Chen (carol)');
    expect(note).toMatch(/Not granted yet:\n- INSUFFICIENT_APPROVALS: .*no approval counts yet/);
  });

  it('says a requested duration as it is, and names who in the groups may not approve this request', () => {
    // deploy-bot-prod: one from platform-team (grace, heidi); alice owns svc-deployer, so a member alice would not count.
    const request = makeRequest({ entitlementId: 'deploy-bot-prod', resource: 'prod-cluster', subject: { type: 'human', id: 'heidi' }, requester: { principalId: 'heidi', sourceIdentity: { kind: 'email', value: 'heidi@example.com' } }, approvals: [], ttlSeconds: 2 * 3600 });
    const pending = pendingOf(request);
    expect(pending?.ttlSource).toBe('requested');
    expect(pending?.approvers).toEqual([{ group: 'platform-team', people: [{ id: 'grace', name: expect.any(String) }] }]);
    expect(pending?.excluded).toEqual([{ id: 'heidi', why: 'the requester' }]);
    expect(renderPendingNote(pending!)).toContain('- Duration: 2h\n');
    expect(renderPendingNote(pending!)).toContain('Not counted for this request: heidi (the requester).');
  });

  it('is null for a grant, and for a request with any problem besides its approvals', () => {
    expect(pendingOf(makeRequest())).toBeNull();
    expect(pendingOf(makeRequest({ approvals: [], ttlSeconds: 12 * 3600 }))).toBeNull();
    expect(pendingOf(makeRequest({ approvals: [], environment: 'staging' }))).toBeNull();
  });
});

describe('the processor writes one pending note per content', () => {
  const ports = (ticket: { current: fx.Ticket }) => {
    const base = fx.makePorts(ticket);
    return { ...base, policy: { ...base.policy, pending: (request: EntitlementRequest, d: Parameters<typeof pendingGrant>[1]) => pendingGrant(request, d, catalog, directory, people) } };
  };
  const tasks = (outputs: ReturnType<typeof processTicket>['outputs']) => fx.on(outputs, 'writeback').map((w) => w.data as unknown as WritebackTask);
  const mapped = (overrides: Parameters<typeof fx.makeRequest>[0]) => ({ current: { map: { ok: true, request: fx.makeRequest({ status: { name: 'Waiting for approval', actionable: true }, ...overrides }) } as MapResult, cancelled: false } });
  const process = (state: Parameters<typeof processTicket>[0]['state'], ticket: { current: fx.Ticket }) =>
    processTicket({ connectorId: 'fake-main', ticketId: '10001', state, events: [fx.delivery()], snapshot: fx.snapshot, now: fx.NOW }, ports(ticket));

  it('a request waiting for approval: one pending write-back instead of the rejection note; an edit that changes neither repeats its key; a changed request gets a new one', () => {
    const first = process(null, mapped({ approvals: [] }));
    const [task] = tasks(first.outputs);
    expect(tasks(first.outputs)).toHaveLength(1);
    expect(task?.item.kind).toBe('pending');
    expect(task?.idempotencyKey).toMatch(/^pending:/);
    // The description is edited: the input changes, what would be granted and what is missing do not.
    const second = process(first.state, mapped({ approvals: [], freeText: 'edited description' }));
    const again = tasks(second.outputs);
    expect(again.map((t) => [t.item.kind, t.idempotencyKey, t.taskId])).toEqual([['pending', task?.idempotencyKey, task?.taskId]]);
    const third = process(second.state, mapped({ approvals: [], ttlSeconds: 2 * 3600 }));
    const changed = tasks(third.outputs);
    expect(changed).toHaveLength(1);
    expect(changed[0]?.idempotencyKey).not.toBe(task?.idempotencyKey);
    expect(changed[0]?.item.kind === 'pending' ? changed[0].item.pending.ttlSource : null).toBe('requested');
  });

  it('a request refused for something else gets the rejection note, not a pending one', () => {
    const out = process(null, mapped({ approvals: [], ttlSeconds: 12 * 3600 }));
    expect(tasks(out.outputs).map((t) => t.item.kind)).toEqual(['decision']);
  });
});
