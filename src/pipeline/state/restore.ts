import type { Logger } from 'pino';
import type { InboundHeaderValue, InboundMessage } from '../../kafka/index.js';
import type { TicketState } from '../../model/index.js';
import type { Opened } from '../../trust/index.js';
import type { HeldPartition } from './partition-states.js';
import { readStateRecord } from './record.js';

/** Reads one partition of the state topic to its end (read committed), handing each record over in offset order. */
export type ReadPartition = (onMessage: (message: InboundMessage) => void) => Promise<void>;

export interface RestoreDeps {
  readonly read: ReadPartition;
  /** Authenticates a record of this partition (grantline's MAC, src/trust) and parses its JSON. */
  readonly open: (message: InboundMessage) => Opened;
  /** Names the records skipped in the log. */
  readonly topic: string;
  readonly logger: Logger;
}

/** A copy that does not keep the whole fetched batch alive with it. */
function copied(message: InboundMessage): InboundMessage {
  const headers: Record<string, InboundHeaderValue> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = Buffer.isBuffer(value) ? Buffer.from(value) : value;
  return { key: message.key === null ? null : Buffer.from(message.key), value: message.value === null ? null : Buffer.from(message.value), offset: message.offset, headers };
}

/**
 * Restores one partition's ticket states into `held`, and returns them as parsed (so whoever
 * schedules from them need not unpack each again). Until the log cleaner has run, a partition
 * holds every version of every ticket, most of them superseded (in issue 15's history a ticket's
 * grant, revocation, confirmation and notes each write one, then its tombstone), so only each
 * key's latest record is authenticated and parsed:
 * a partition's records are written by its one transactional owner, in version order, so the
 * latest committed record is the newest state. A tombstone is authenticated when it deletes what
 * was read before it (a refused one deletes nothing; one that follows nothing is skipped). A latest record that is refused or invalid is reported, and its
 * key's records are then read again one by one, as before this shortcut: the newest of them that
 * opens is held, so a forged or broken record hides no genuine state. (A refused record that a
 * later genuine one superseded is no longer opened, so no longer reported: compaction drops it.)
 */
export async function restorePartition(held: HeldPartition, deps: RestoreDeps): Promise<Map<string, TicketState>> {
  // Each key's latest record, copied out of the fetch buffer it was read from.
  const latest = new Map<string, InboundMessage>();
  await deps.read((message) => {
    const key = message.key?.toString('utf8');
    if (!key) {
      deps.logger.error({ topic: deps.topic, partition: held.partition, offset: message.offset, reason: 'record has no key' }, 'invalid state record skipped');
      return;
    }
    if (message.value !== null) {
      latest.set(key, copied(message));
      return;
    }
    // A tombstone deletes only what this read holds for its key. Once the cleaner has run, most
    // tombstones follow nothing (their states were compacted away) and need no authentication.
    if (!latest.has(key)) return;
    const record = readStateRecord(message, deps.open);
    if (record.kind === 'tombstone') latest.delete(key);
  });
  /** Keys to read again, with the offset of the latest record, already opened and reported. */
  const again = new Map<string, string>();
  const loaded = new Map<string, TicketState>();
  for (const [key, message] of latest) {
    const record = readStateRecord(message, deps.open);
    if (record.kind === 'state') {
      held.load(key, record.state);
      loaded.set(key, record.state);
    } else {
      if (record.kind === 'invalid') deps.logger.error({ topic: deps.topic, partition: held.partition, offset: message.offset, reason: record.reason }, 'invalid state record skipped');
      again.set(key, message.offset);
    }
  }
  if (again.size > 0) for (const [key, state] of await restoreKeys(held, again, deps)) loaded.set(key, state);
  return loaded;
}

/**
 * The older logic, for the few keys whose latest record did not open: their other records read,
 * the newest valid state kept. The latest is not opened twice (a refusal is reported once).
 */
async function restoreKeys(held: HeldPartition, keys: ReadonlyMap<string, string>, deps: RestoreDeps): Promise<Map<string, TicketState>> {
  const found = new Map<string, TicketState>();
  await deps.read((message) => {
    const key = message.key?.toString('utf8');
    if (key === undefined || !keys.has(key) || keys.get(key) === message.offset) return;
    const record = readStateRecord(message, deps.open);
    if (record.kind === 'tombstone') found.delete(key);
    else if (record.kind === 'state' && (found.get(key)?.version ?? -1) < record.state.version) found.set(key, record.state);
  });
  for (const [key, state] of found) held.load(key, state);
  deps.logger.warn({ topic: deps.topic, partition: held.partition, keys: keys.size, restored: found.size }, 'state records that did not open were skipped; the newest valid state of each of their tickets is held');
  return found;
}
