import type { TicketSnapshot } from '../../connector/contract.js';
import { GrantlineError } from '../../connector/errors.js';
import type { InboundMessage } from '../../kafka/index.js';
import type { TicketState } from '../../model/index.js';
import type { Opened } from '../../trust/index.js';
import type { PipelineMetrics } from '../metrics.js';
import type { ProcessorPorts } from '../ports.js';
import { parseTicketEvent, type ParsedEvent, type ParsedPartitionCommand } from './parse.js';

/** One ticket's events of a chunk, in offset order. */
export interface TicketGroup {
  readonly connectorId: string;
  readonly ticketId: string;
  readonly key: string;
  readonly items: ParsedEvent[];
}

/** What one fetch returned, before the processor decides what a failure means for the partition. */
export type FetchResult = { kind: 'ok'; snapshot: TicketSnapshot } | { kind: 'none' } | { kind: 'failed'; error: unknown };

/** A message that could not be read as a ticket event. */
export interface Poison {
  readonly offset: bigint;
  readonly reason: string;
  readonly message: InboundMessage;
  /** Set when the message failed authentication (not only parsing): DLQ stage `processor.trust`, alert, metric. */
  readonly refused?: Extract<Opened, { ok: false }> | undefined;
}

/** A chunk parsed and grouped by ticket, with its fetches under way. */
export interface PreparedChunk {
  readonly messages: readonly InboundMessage[];
  readonly groups: TicketGroup[];
  readonly poison: Poison[];
  /** Partition commands, in offset order; applied after the chunk's tickets. */
  readonly commands: ParsedPartitionCommand[];
  readonly fetches: Promise<FetchResult[]>;
}

export interface PrefetchDeps {
  readonly ports: ProcessorPorts;
  readonly metrics: PipelineMetrics;
  /** The ticket's state as last committed. */
  readonly state: (key: string) => TicketState | undefined;
  /** Source fetches in flight at once. */
  readonly fetchConcurrency: number;
  /** Authenticates and parses a ticket-events message (src/trust). */
  readonly open: (message: InboundMessage) => Opened;
  /**
   * The chunk being decided while this one is prepared: its tickets are not read before it is
   * committed (`settled`), since its state may take this chunk's deliveries as seen (the poller's
   * sighting of the update time the in-flight chunk's read gave). Absent: nothing is in flight.
   */
  readonly inFlight?: { readonly keys: ReadonlySet<string>; readonly settled: Promise<void> };
}

/** Whether the group holds a delivery the ticket's state has not seen: only then is the source read. */
export function needsFetch(group: TicketGroup, state: TicketState | undefined): boolean {
  return group.items.some((i) => i.event.kind === 'delivery' && !(state?.recentDeliveryIds ?? []).includes(i.event.deliveryId));
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * Re-reads the ticket when the group holds a delivery not yet seen; for a ticket of the chunk in
 * flight, only once that chunk is committed, against the state it left. Never throws.
 */
async function fetchFor(group: TicketGroup, deps: PrefetchDeps): Promise<FetchResult> {
  if (!needsFetch(group, deps.state(group.key))) return { kind: 'none' };
  if (deps.inFlight?.keys.has(group.key) === true) {
    await deps.inFlight.settled;
    if (!needsFetch(group, deps.state(group.key))) return { kind: 'none' };
  }
  const connector = deps.ports.connector(group.connectorId);
  if (!connector) return { kind: 'failed', error: new GrantlineError(`connector ${group.connectorId} is not configured`, { retriable: false }) };
  try {
    const snapshot = await connector.fetchTicket(group.ticketId);
    deps.metrics.sourceFetches.inc({ connector: group.connectorId, result: 'ok' });
    return { kind: 'ok', snapshot };
  } catch (error) {
    deps.metrics.sourceFetches.inc({ connector: group.connectorId, result: 'error' });
    return { kind: 'failed', error };
  }
}

/**
 * Parses and groups a chunk's messages by ticket, and starts its fetches (`fetchConcurrency` at
 * once; one fetch per ticket per chunk: fetches are the scarce resource). The fetches run while
 * the previous chunk is decided and committed; a prefetch left behind settles on its own.
 */
export function prepareChunk(messages: readonly InboundMessage[], deps: PrefetchDeps): PreparedChunk {
  const poison: Poison[] = [];
  const commands: ParsedPartitionCommand[] = [];
  const groups = new Map<string, TicketGroup>();
  for (const message of messages) {
    const parsed = parseTicketEvent(message, deps.open);
    if (!parsed.ok) {
      poison.push({ offset: BigInt(message.offset), reason: parsed.reason, message, refused: parsed.refused });
      continue;
    }
    if ('command' in parsed) {
      commands.push(parsed.command);
      continue;
    }
    const { event, key } = parsed.parsed;
    let group = groups.get(key);
    if (!group) {
      group = { connectorId: event.connectorId, ticketId: event.ticketId, key, items: [] };
      groups.set(key, group);
    }
    group.items.push(parsed.parsed);
  }
  const list = [...groups.values()];
  // Tickets of the chunk in flight go last, so the other reads do not queue behind its commit.
  const waits = (i: number): boolean => deps.inFlight?.keys.has((list[i] as TicketGroup).key) === true;
  const order = [...list.keys()].sort((a, b) => Number(waits(a)) - Number(waits(b)) || a - b);
  const results = new Array<FetchResult>(list.length);
  const fetches = mapLimit(order, deps.fetchConcurrency, async (i) => {
    results[i] = await fetchFor(list[i] as TicketGroup, deps);
  }).then(() => results);
  return { messages, groups: list, poison, commands, fetches };
}
