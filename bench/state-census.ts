/**
 * What the ticket states on a deployment's state topic are waiting for: the latest record of each
 * ticket, read back to the end, sorted by why the ticket is not retired yet. A diagnostic of the
 * history bench (its held states are compared with the active grants it expects); it reads the
 * records' JSON without checking their MACs, which grantline itself never does.
 */
import type { Kafka } from '../src/kafka/index.js';
import { partitionCount, readPartitionsToEnd } from '../src/kafka/index.js';
import { TicketState } from '../src/model/index.js';
import { isActive, retirable } from '../src/pipeline/ticket/state.js';

export interface StateCensus {
  /** Tickets with a state on the topic (not tombstoned). */
  held: number;
  /** The source ticket is open (closedAt unset). */
  open: number;
  /** Closed, with a grant still active. */
  closedWithActiveGrant: number;
  /** Closed, with a revocation no adapter has confirmed. */
  revocationUnconfirmed: number;
  /** Closed, every grant's story over, a note still to be written back. */
  writebackPending: number;
  /** Closed with nothing pending: the lifecycle has not retired it yet. */
  retirable: number;
  /** Anything else (an open break-glass review, a record that is not a state). */
  other: number;
}

export async function stateCensus(kafka: Kafka, prefix: string): Promise<StateCensus> {
  const topic = `${prefix}grantline.ticket-state.v1`;
  const latest = new Map<string, string>();
  const partitions = Array.from({ length: await partitionCount(kafka, topic) }, (_, i) => i);
  await readPartitionsToEnd(
    kafka,
    topic,
    partitions,
    (message) => {
      const key = message.key?.toString('utf8');
      if (key === undefined) return;
      if (message.value === null) latest.delete(key);
      else latest.set(key, message.value.toString('utf8'));
    },
    { timeoutMs: 600_000, groupPrefix: 'bench-census' },
  );
  const census: StateCensus = { held: latest.size, open: 0, closedWithActiveGrant: 0, revocationUnconfirmed: 0, writebackPending: 0, retirable: 0, other: 0 };
  for (const value of latest.values()) {
    const parsed = TicketState.safeParse(JSON.parse(value));
    if (!parsed.success) census.other += 1;
    else census[classify(parsed.data)] += 1;
  }
  return census;
}

function classify(state: TicketState): Exclude<keyof StateCensus, 'held'> {
  if (state.closedAt === undefined || state.closedAt === null) return 'open';
  if (state.grants.some(isActive)) return 'closedWithActiveGrant';
  if (state.grants.some((g) => g.revocation !== null && !g.revocation.confirmedAt)) return 'revocationUnconfirmed';
  if (retirable(state)) return 'retirable';
  if ((state.pendingWritebacks ?? []).length > 0) return 'writebackPending';
  return 'other';
}
