import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Connector, TicketSnapshot } from '../../src/connector/contract.js';
import type { InboundMessage } from '../../src/kafka/index.js';
import { pollDeliveryId, ticketKey, type DeliveryEvent, type TicketState } from '../../src/model/index.js';
import { createPipelineMetrics } from '../../src/pipeline/metrics.js';
import { prepareChunk, type PrefetchDeps } from '../../src/pipeline/processor/prefetch.js';
import { emptyState } from '../../src/pipeline/ticket/index.js';
import { delivery, makePorts, snapshot } from '../fixtures/ticket-pipeline.js';

/**
 * Issue 16: the next chunk's reads start while the current chunk is decided and committed. A
 * ticket of the current chunk may take the next chunk's delivery as seen once committed (the
 * poller's sighting of the time the webhook's read gave), so its read waits for that commit and is
 * made only if still needed. Other tickets are read at once.
 */
const ports = makePorts({ current: { map: { ok: false, failure: { source: 'jira', requester: null, reasons: [], freeText: '', actionable: true } } as never, cancelled: false } });
const UPDATED = '2026-11-29T11:59:58.000Z';

function message(event: DeliveryEvent, offset: number): InboundMessage {
  return { key: Buffer.from(ticketKey(event.connectorId, event.ticketId)), value: Buffer.from(JSON.stringify(event)), offset: String(offset) };
}

function setup() {
  const reads: string[] = [];
  const base = ports.connector('fake-main') as Connector;
  const connector: Connector = {
    ...base,
    fetchTicket: (id) => {
      reads.push(id);
      return Promise.resolve({ ...snapshot, ticketId: id } as TicketSnapshot);
    },
  };
  const states = new Map<string, TicketState>();
  const deps: PrefetchDeps = {
    ports: { ...ports, connector: (id) => (id === 'fake-main' ? connector : undefined) },
    metrics: createPipelineMetrics(new Registry()),
    state: (key) => states.get(key),
    fetchConcurrency: 4,
    open: (m) => ({ ok: true, value: JSON.parse(String(m.value)) as unknown, kid: 'k' }),
  };
  return { reads, states, deps };
}

/** The poller's sighting of ticket `id` at UPDATED. */
const sighting = (id: string): DeliveryEvent => ({ ...delivery(pollDeliveryId(id, UPDATED)), ticketId: id, eventType: 'poll', via: 'poll', signatureVerified: false });

describe('the next chunk prepared while a chunk is in flight', () => {
  it("does not read a ticket of the chunk in flight that the commit takes as seen; reads the others at once", async () => {
    const { reads, states, deps } = setup();
    let commit = (): void => undefined;
    const settled = new Promise<void>((resolve) => (commit = resolve));
    const inFlight = { keys: new Set([ticketKey('fake-main', '10001')]), settled };
    const prepared = prepareChunk([message(sighting('10001'), 7), message(sighting('10002'), 8)], { ...deps, inFlight });
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toEqual(['10002']);
    // The chunk in flight was 10001's webhook: committed, its state holds the read at UPDATED.
    states.set(ticketKey('fake-main', '10001'), { ...emptyState('fake-main', '10001', 'ACC-1'), recentDeliveryIds: [pollDeliveryId('10001', UPDATED)] });
    commit();
    const results = await prepared.fetches;
    expect(results.map((r) => r.kind)).toEqual(['none', 'ok']);
    expect(reads).toEqual(['10002']);
  });

  it('reads a ticket of the chunk in flight after the commit when it still needs it', async () => {
    const { reads, deps } = setup();
    let commit = (): void => undefined;
    const settled = new Promise<void>((resolve) => (commit = resolve));
    const prepared = prepareChunk([message(sighting('10001'), 7)], { ...deps, inFlight: { keys: new Set([ticketKey('fake-main', '10001')]), settled } });
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toEqual([]);
    commit();
    expect((await prepared.fetches).map((r) => r.kind)).toEqual(['ok']);
    expect(reads).toEqual(['10001']);
  });
});
