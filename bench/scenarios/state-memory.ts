/**
 * Bytes per tracked ticket state, measured in the benchmark process: the ticket-state topic
 * grantline wrote is loaded (latest record per key) into a Map of parsed objects, the way an
 * in-memory state view holds them, and `heapUsed` after gc() is compared before and after.
 */
import type { Kafka } from '../../src/kafka/index.js';
import { follow } from '../kafka.js';
import { log, waitFor } from '../lib.js';

export interface StateMemory {
  ticketStates: number;
  activeGrants: number;
  heapBytesPerTicketState: number | null;
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
  gc?.();
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const view = new Map<string, unknown>();
  let activeGrants = 0;
  raws.forEach((raw, i) => {
    const state = JSON.parse(raw) as { grants?: { revocation?: unknown }[] };
    activeGrants += (state.grants ?? []).filter((g) => g.revocation === null).length;
    view.set(`k${i}`, state);
  });
  gc?.();
  gc?.();
  const heap1 = process.memoryUsage().heapUsed;
  const size = view.size;
  view.clear();
  const jsonBytes = raws.reduce((a, r) => a + Buffer.byteLength(r), 0);
  return {
    ticketStates: size,
    activeGrants,
    heapBytesPerTicketState: gc ? Math.round((heap1 - heap0) / Math.max(1, size)) : null,
    jsonBytesPerTicketState: Math.round(jsonBytes / Math.max(1, raws.length)),
    heapMethod: 'heapUsed after gc(), before and after parsing the ticket-state topic (latest record per key) into a Map of plain objects; JSON bytes are the serialized state on the topic',
  };
}
