/**
 * Bytes per tracked ticket state, measured in the benchmark process: the ticket-state topic
 * grantline wrote is loaded (latest record per key) into a `HeldPartition`, the way grantline's
 * processor holds the states of a partition it owns (packed), and `heapUsed` after gc() is
 * compared before and after; also as a Map of parsed objects, for comparison.
 */
import type { Kafka } from '../../src/kafka/index.js';
import { follow } from '../kafka.js';
import { log, waitFor } from '../lib.js';
import type { TicketState } from '../../src/model/index.js';
import { HeldPartition } from '../../src/pipeline/state/partition-states.js';

export interface StateMemory {
  ticketStates: number;
  activeGrants: number;
  heapBytesPerTicketState: number | null;
  /** The same states as parsed objects in a Map (how grantline held them before they were packed); absent in older files. */
  heapBytesPerParsedState?: number | null;
  jsonBytesPerTicketState: number;
  heapMethod: string;
}

const gc = (globalThis as { gc?: () => void }).gc;

export async function stateMemory(kafka: Kafka, stateTopic: string): Promise<StateMemory> {
  log('memory: loading the ticket states into a map');
  const stateRaw = new Map<string, string>();
  const stateFollow = await follow(kafka, stateTopic, (m) => {
    if (!m.key) return;
    // A tombstone (a retired ticket) removes the key, as compaction will.
    if (m.value) stateRaw.set(m.key.toString('utf8'), m.value.toString('utf8'));
    else stateRaw.delete(m.key.toString('utf8'));
  });
  let lastSize = -1;
  await waitFor(() => {
    const settled = stateRaw.size === lastSize && stateRaw.size > 0;
    lastSize = stateRaw.size;
    return settled;
  }, 60_000, 'ticket states');
  await stateFollow.stop();
  const raws = [...stateRaw.values()];
  stateRaw.clear();
  const heapOf = (hold: (raw: string, i: number) => void): number | null => {
    gc?.();
    gc?.();
    const before = process.memoryUsage().heapUsed;
    raws.forEach(hold);
    gc?.();
    gc?.();
    return gc ? Math.round((process.memoryUsage().heapUsed - before) / Math.max(1, raws.length)) : null;
  };
  let activeGrants = 0;
  const held = new HeldPartition(0);
  const packed = heapOf((raw, i) => {
    const state = JSON.parse(raw) as TicketState;
    activeGrants += state.grants.filter((g) => g.revocation === null).length;
    held.load(`k${i}`, state);
  });
  const size = held.size;
  const view = new Map<string, unknown>();
  const parsed = heapOf((raw, i) => view.set(`k${i}`, JSON.parse(raw)));
  if (view.size !== size) throw new Error('state memory: the two holdings differ');
  view.clear();
  const jsonBytes = raws.reduce((a, r) => a + Buffer.byteLength(r), 0);
  return {
    ticketStates: size,
    activeGrants,
    heapBytesPerTicketState: packed,
    heapBytesPerParsedState: parsed,
    jsonBytesPerTicketState: Math.round(jsonBytes / Math.max(1, raws.length)),
    heapMethod: 'heapUsed after gc(), before and after loading the ticket-state topic (latest record per key) into a HeldPartition as the processor holds it (packed), then into a Map of parsed objects; JSON bytes are the serialized state on the topic',
  };
}
