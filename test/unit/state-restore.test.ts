import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { InboundMessage } from '../../src/kafka/index.js';
import type { TicketState } from '../../src/model/index.js';
import { HeldPartition } from '../../src/pipeline/state/partition-states.js';
import { restorePartition } from '../../src/pipeline/state/restore.js';
import { emptyState } from '../../src/pipeline/ticket/state.js';
import { InternalKeyring, MAC_HEADER } from '../../src/trust/internal.js';
import { trackedGrant } from '../fixtures/tracked-grant.js';

const TOPIC = 'grantline.ticket-state.v1';
const ring = InternalKeyring.load({ activeKid: 'k1', keys: [{ kid: 'k1', secret: randomBytes(32).toString('base64') }] });
const forger = InternalKeyring.load({ activeKid: 'k1', keys: [{ kid: 'k1', secret: randomBytes(32).toString('base64') }] });

const keyOf = (ticketId: string) => `jira-main|${ticketId}`;
function state(ticketId: string, version: number, grants = 0): TicketState {
  const s = emptyState('jira-main', ticketId, `ACC-${ticketId}`);
  return { ...s, version, grants: Array.from({ length: grants }, (_, i) => trackedGrant(`gr_${ticketId}_${i}`)) };
}

let offset = 0;
function record(key: string, value: unknown, keys: InternalKeyring = ring): InboundMessage {
  const body = value === null ? null : JSON.stringify(value);
  offset += 1;
  return { key: Buffer.from(key), value: body === null ? null : Buffer.from(body), offset: String(offset), headers: { [MAC_HEADER]: Buffer.from(keys.seal(TOPIC, key, body)) } };
}

/** Restores `records` (one partition, in offset order); counts the records opened and the partition's reads. */
async function restore(records: InboundMessage[]) {
  const held = new HeldPartition(0);
  const lines: { msg: string; reason?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  let opened = 0;
  let reads = 0;
  const loaded = await restorePartition(held, {
    read: async (onMessage) => {
      reads += 1;
      for (const r of records) onMessage(r);
    },
    open: (message) => {
      opened += 1;
      return ring.open(TOPIC, message);
    },
    topic: TOPIC,
    logger,
  });
  // What it returns is what it holds, parsed.
  expect([...loaded.keys()].sort()).toEqual([...held.keys()].sort());
  for (const [key, state] of loaded) expect(held.get(key)).toEqual(state);
  return { held, opened, reads, lines };
}

describe('restoring a partition of the ticket-state topic', () => {
  it('holds each ticket at its latest state and authenticates only the latest of its versions', async () => {
    const records = [
      ...[1, 2, 3, 4, 5].map((v) => record(keyOf('1'), state('1', v, 1))),
      ...[1, 2, 3].map((v) => record(keyOf('2'), state('2', v))),
    ];
    const { held, opened, reads } = await restore(records);
    expect(held.size).toBe(2);
    expect(held.get(keyOf('1'))?.version).toBe(5);
    expect(held.get(keyOf('2'))?.version).toBe(3);
    expect(held.ticketOfGrant('gr_1_0')).toBe(keyOf('1'));
    // Eight records, two tickets: two opened, one read of the partition.
    expect(opened).toBe(2);
    expect(reads).toBe(1);
  });

  it('drops a retired ticket (a sealed tombstone), and holds it again when a later state follows', async () => {
    const { held } = await restore([
      record(keyOf('1'), state('1', 1)),
      record(keyOf('1'), null),
      record(keyOf('2'), state('2', 1)),
      record(keyOf('2'), null),
      record(keyOf('2'), state('2', 2)),
    ]);
    expect([...held.keys()]).toEqual([keyOf('2')]);
    expect(held.get(keyOf('2'))?.version).toBe(2);
  });

  it('does not authenticate a tombstone that follows nothing (its state compacted away): there is nothing for it to delete', async () => {
    const records = [...Array.from({ length: 50 }, (_, i) => record(keyOf(`old-${i}`), null)), record(keyOf('1'), state('1', 1))];
    const { held, opened } = await restore(records);
    expect([...held.keys()]).toEqual([keyOf('1')]);
    expect(opened).toBe(1);
  });

  it('ignores a tombstone grantline did not seal: the ticket it names keeps its state', async () => {
    const { held } = await restore([record(keyOf('1'), state('1', 2, 1)), record(keyOf('1'), null, forger)]);
    expect(held.get(keyOf('1'))?.version).toBe(2);
    expect(held.grantCount()).toBe(1);
  });

  it('holds the newest genuine state when a forged record comes last, reading the partition again for that ticket only', async () => {
    const { held, reads, lines, opened } = await restore([
      record(keyOf('1'), state('1', 3, 1)),
      record(keyOf('2'), state('2', 1)),
      record(keyOf('1'), { ...state('1', 9), grants: [] }, forger),
    ]);
    // Each record of ticket 1 opened once (the forged one is reported once), ticket 2's once.
    expect(opened).toBe(3);
    expect(held.get(keyOf('1'))?.version).toBe(3);
    expect(held.get(keyOf('1'))?.grants.map((g) => g.grantId)).toEqual(['gr_1_0']);
    expect(held.get(keyOf('2'))?.version).toBe(1);
    expect(reads).toBe(2);
    expect(lines.some((l) => l.msg.startsWith('state records that did not open were skipped'))).toBe(true);
  });

  it('reports a latest record that is not a ticket state and holds the state before it', async () => {
    const { held, lines } = await restore([record(keyOf('1'), state('1', 2)), record(keyOf('1'), { version: 'three' })]);
    expect(held.get(keyOf('1'))?.version).toBe(2);
    expect(lines.filter((l) => l.msg === 'invalid state record skipped').map((l) => l.reason)).toEqual([expect.stringMatching(/^not a ticket state/)]);
  });

  it('skips a record without a key and says so', async () => {
    const keyless: InboundMessage = { ...record(keyOf('1'), state('1', 1)), key: null };
    const { held, lines } = await restore([keyless, record(keyOf('2'), state('2', 1))]);
    expect([...held.keys()]).toEqual([keyOf('2')]);
    expect(lines.filter((l) => l.msg === 'invalid state record skipped').map((l) => l.reason)).toEqual(['record has no key']);
  });
});
