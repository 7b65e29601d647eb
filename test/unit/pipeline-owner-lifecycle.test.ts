import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { GrantlineProducer } from '../../src/kafka/index.js';
import type { TicketState, TrackedGrant } from '../../src/model/index.js';
import { DueQueue } from '../../src/pipeline/lifecycle/due-queue.js';
import { OwnerLifecycle } from '../../src/pipeline/lifecycle/owner.js';
import { nextDueAt, planLifecycle } from '../../src/pipeline/lifecycle/plan.js';
import { createPipelineMetrics } from '../../src/pipeline/metrics.js';
import { planPartitionCommands } from '../../src/pipeline/processor/partition-commands.js';
import { HeldPartition } from '../../src/pipeline/state/partition-states.js';
import pino from 'pino';
import { trackedGrant } from '../fixtures/tracked-grant.js';

const NOW = new Date('2026-11-29T12:00:00.000Z');
const settings = { revocationConfirmMs: 60_000, directoryCheckMs: 60_000 };

const grant = trackedGrant;

function state(ticketId: string, grants: TrackedGrant[]): TicketState {
  return { connectorId: 'jira-main', ticketId, ticketKey: `ACC-${ticketId}`, version: 1, recentDeliveryIds: [], recentCommandIds: [], lastDecision: null, grants, custodyHead: null };
}

function recordingProducer(): GrantlineProducer & { sent: { topic: string; value: unknown }[] } {
  const sent: { topic: string; value: unknown }[] = [];
  const send = async (topic: string, messages: { value?: unknown }[]) => {
    for (const m of messages) sent.push({ topic, value: JSON.parse(String(m.value)) });
    return [];
  };
  return {
    sent,
    transactional: false,
    connect: async () => undefined,
    disconnect: async () => undefined,
    send: send as GrantlineProducer['send'],
    sendBatch: async () => [],
    transaction: async () => {
      throw new Error('not transactional');
    },
  };
}

describe('DueQueue', () => {
  it('returns keys due by a time, earliest first, and only their latest schedule', () => {
    const q = new DueQueue();
    q.set('a', 30);
    q.set('b', 10);
    q.set('c', 20);
    q.set('b', 40); // rescheduled: its old entry must not surface
    q.set('c', null); // nothing due any more
    expect(q.popDue(25)).toEqual([]);
    expect(q.popDue(35)).toEqual(['a']);
    expect(q.size).toBe(1);
    expect(q.popDue(100)).toEqual(['b']);
    expect(q.popDue(1_000)).toEqual([]);
  });

  it('keeps order over many random schedules', () => {
    const q = new DueQueue();
    const at = new Map<string, number>();
    for (let i = 0; i < 2_000; i++) {
      const key = `k${i % 300}`;
      const t = Math.floor(Math.random() * 10_000);
      q.set(key, t);
      at.set(key, t);
    }
    const popped = q.popDue(10_000);
    expect(popped.sort()).toEqual([...at.keys()].sort());
    const times = q.popDue(0);
    expect(times).toEqual([]);
  });
});

describe('nextDueAt agrees with planLifecycle', () => {
  const cases: [string, TicketState][] = [
    ['active grant: its expiry', state('1', [grant('g1')])],
    ['unconfirmed revocation', state('2', [grant('g2', { revocation: { revocationId: 'rv', trigger: 'ttl-expired', reason: 'r', actor: 'a', revokedAt: '2026-11-29T11:59:30.000Z', confirmedAt: null, failedAt: null, overdueAlerts: 0, signed: 'x' } })])],
    ['open break-glass review', state('3', [grant('g3', { expiresAt: '2026-11-29T18:00:00.000Z', breakGlass: { reviewDueAt: '2026-11-29T12:10:00.000Z', review: null, escalatedAt: null } })])],
  ];
  for (const [name, s] of cases) {
    it(`${name}: nothing planned just before, something planned at the due time`, () => {
      const due = nextDueAt(s, settings);
      expect(due).not.toBeNull();
      expect(planLifecycle([s], new Date((due as number) - 1), settings, null).commands).toEqual([]);
      expect(planLifecycle([s], new Date(due as number), settings, null).commands.length).toBeGreaterThan(0);
    });
  }

  it('a confirmed revocation with no review is never due', () => {
    const s = state('4', [grant('g4', { revocation: { revocationId: 'rv', trigger: 'ttl-expired', reason: 'r', actor: 'a', revokedAt: '2026-11-29T11:00:00.000Z', confirmedAt: '2026-11-29T11:00:01.000Z', failedAt: null, overdueAlerts: 0, signed: 'x' } })]);
    expect(nextDueAt(s, settings)).toBeNull();
  });
});

describe('OwnerLifecycle', () => {
  function owner(partitions: HeldPartition[], clock: { t: number }, producer = recordingProducer()) {
    const lc = new OwnerLifecycle(
      {
        producer,
        topics: { ticketEvents: 'te', alerts: 'al' },
        connectors: new Map(),
        directory: null,
        logger: pino({ level: 'silent' }),
        metrics: createPipelineMetrics(new Registry()),
        settings: { ...settings, tickMs: 1_000, reviewPollMs: 3_600_000 },
        now: () => new Date(clock.t),
      },
      () => partitions,
    );
    return { lc, producer };
  }

  it('revokes only the tickets that are due, in the partitions it holds, and schedules again as states change', async () => {
    const p0 = new HeldPartition(0);
    p0.set('jira-main|1', state('1', [grant('g1', { expiresAt: '2026-11-29T12:00:10.000Z' })]));
    p0.set('jira-main|2', state('2', [grant('g2', { expiresAt: '2026-11-29T15:00:00.000Z' })]));
    const clock = { t: NOW.getTime() };
    const { lc, producer } = owner([p0], clock);
    lc.restored(p0);
    expect(lc.scheduled()).toBe(2);
    expect(await lc.tick()).toEqual([]);
    clock.t += 10_000;
    const commands = await lc.tick();
    expect(commands.map((c) => (c.kind === 'revoke' ? `${c.trigger}:${c.grantId}` : c.kind))).toEqual(['ttl-expired:g1']);
    expect(producer.sent.map((m) => m.topic)).toEqual(['te']);
    // Not asked again while the processor has not applied it...
    clock.t += 1_000;
    expect(await lc.tick()).toEqual([]);
    // ...and once it has, the ticket is scheduled for the confirmation of its revocation instead.
    const revoked = state('1', [grant('g1', { expiresAt: '2026-11-29T12:00:10.000Z', revocation: { revocationId: 'rv', trigger: 'ttl-expired', reason: 'r', actor: 'a', revokedAt: new Date(clock.t).toISOString(), confirmedAt: null, failedAt: null, overdueAlerts: 0, signed: 'x' } })]);
    p0.set('jira-main|1', { ...revoked, version: 2 });
    lc.changed(p0, 'jira-main|1');
    clock.t += 60_000;
    const overdue = await lc.tick();
    expect(overdue.map((c) => (c.kind === 'record' ? c.custodyKind : c.kind))).toEqual(['revocation.overdue']);
  });

  it('counts overdue break-glass reviews, opened or not yet, of the states it holds, and stops once closed', async () => {
    const metrics = createPipelineMetrics(new Registry());
    const p0 = new HeldPartition(0);
    const overdue = (id: string, review: { closed: boolean } | null): TrackedGrant =>
      grant(id, {
        expiresAt: '2026-11-29T20:00:00.000Z',
        breakGlass: { reviewDueAt: '2026-11-29T11:00:00.000Z', review: review && { ticketId: 'r', ticketKey: 'REV-1', url: 'u', closed: review.closed, outcome: null }, escalatedAt: null },
      });
    p0.set('jira-main|1', state('1', [overdue('g1', null)]));
    p0.set('jira-main|2', state('2', [overdue('g2', { closed: false })]));
    p0.set('jira-main|3', state('3', [grant('g3', { expiresAt: '2026-11-29T20:00:00.000Z' })]));
    const lc = new OwnerLifecycle(
      { producer: recordingProducer(), topics: { ticketEvents: 'te', alerts: 'al' }, connectors: new Map(), directory: null, logger: pino({ level: 'silent' }), metrics, settings: { ...settings, tickMs: 1_000, reviewPollMs: 3_600_000 }, now: () => NOW },
      () => [p0],
    );
    const gauge = async (): Promise<number | undefined> => (await metrics.reviewsOverdue.get()).values[0]?.value;
    lc.restored(p0);
    await lc.tick();
    expect(await gauge()).toBe(2);
    p0.set('jira-main|2', { ...state('2', [overdue('g2', { closed: true })]), version: 2 });
    lc.changed(p0, 'jira-main|2');
    await lc.tick();
    expect(await gauge()).toBe(1);
  });

  it('forgets a dropped partition: nothing of it is scheduled or asked', async () => {
    const p1 = new HeldPartition(1);
    p1.set('jira-main|9', state('9', [grant('g9', { expiresAt: '2026-11-29T11:00:00.000Z' })]));
    const clock = { t: NOW.getTime() };
    const held: HeldPartition[] = [p1];
    const { lc } = owner(held, clock);
    lc.restored(p1);
    lc.dropped(1);
    held.length = 0;
    expect(lc.scheduled()).toBe(0);
    expect(await lc.tick()).toEqual([]);
  });
});

describe('partition commands', () => {
  it("an offboarding revokes only this partition's grants of that principal; a report is recorded only where its grant is held", () => {
    const tickets = [state('1', [grant('g1')]), state('2', [grant('g2', { subjectOwnerPrincipalId: 'bob' })])];
    const view = { tickets: () => tickets, ticketOfGrant: (id: string) => tickets.find((t) => t.grants.some((g) => g.grantId === id)) };
    const out = planPartitionCommands(
      [
        { offset: '5', message: { key: null, value: null, offset: '5' }, command: { kind: 'principal-offboarded', commandId: 'offboarded:0:1', event: { type: 'principal.offboarded', principalId: 'alice', at: NOW.toISOString(), source: 'workday' } } },
        { offset: '6', message: { key: null, value: null, offset: '6' }, command: { kind: 'fulfillment-reported', commandId: 'fulfillment:0:2', result: { grantId: 'g2', action: 'provision', status: 'provisioned', adapter: 'pam', reference: 'r', at: NOW.toISOString() }, signerChannel: 'pam', origin: { topic: 'results', partition: 0, offset: '2', key: 'g2' } } },
        { offset: '7', message: { key: null, value: null, offset: '7' }, command: { kind: 'fulfillment-reported', commandId: 'fulfillment:0:3', result: { grantId: 'elsewhere', action: 'provision', status: 'provisioned', adapter: 'pam', reference: 'r', at: NOW.toISOString() }, signerChannel: 'pam', origin: { topic: 'results', partition: 0, offset: '2', key: 'g2' } } },
      ],
      view,
      'te',
      NOW,
      {
        serves: (channel) => channel === 'pam',
        refuse: () => {
          throw new Error('nothing here is refused');
        },
      },
    );
    expect(out.map((o) => [o.message.key, (JSON.parse(o.message.value) as { commandId: string }).commandId])).toEqual([
      ['jira-main|1', 'owner-offboarded:g1'],
      ['jira-main|2', 'fulfillment:0:2'],
    ]);
  });
});
