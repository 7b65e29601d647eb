/**
 * The ticket index on the real broker: the partition owner's committer writes each ticket's
 * locations in the transaction of its custody events, and `grantline evidence` reads exactly that
 * ticket's records through it — among many other tickets, after the ticket was retired (its state
 * tombstoned), and never from an index record grantline did not seal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stackConfig, startStubs, writeStackConfig, type StackOptions, type Stubs } from '../../dev/harness.js';
import { run as evidence } from '../../src/cli/commands/evidence.js';
import { chainEvent, loadSigningKeys, type SigningKeys } from '../../src/custody/index.js';
import { createProducer, ensureTopics, grantlineTopicSpecs, topicNames, type TopicNames } from '../../src/kafka/index.js';
import { grantIndexKey, ticketKey, type TicketIndexRecord } from '../../src/model/index.js';
import { internalTopics } from '../../src/pipeline/runtime.js';
import { TransactionalCommitter } from '../../src/pipeline/processor/commit.js';
import { TicketEmitter } from '../../src/pipeline/ticket/emitter.js';
import { InternalKeyring, internalSealer } from '../../src/trust/index.js';
import { EVIDENCE_CONNECTOR, evidenceTicket, ticketOutputs, writeIndexedTickets } from '../fixtures/indexed-tickets.js';
import { brokers, randomTopicSuffix, testKafka } from './helpers/kafka.js';

const prefix = `evi-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-evidence-index');
const work = mkdtempSync(join(tmpdir(), 'grantline-evidence-'));
const configFile = join(work, 'grantline.yaml');
const TICKETS = 60;
const PARTITIONS = 3;

let stubs: Stubs;
let topics: TopicNames;
let keys: SigningKeys;
let keyring: InternalKeyring;

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await evidence(argv.includes('--config') ? argv : [...argv, '--config', configFile]);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

type Story = { ticket: { ticketKey: string; ticketId: string }; chain: { ok: boolean; events: number }; steps: { seq: number; kind: string }[]; messages: { kind: string; id: string; verified: boolean }[]; verified: boolean };

beforeAll(async () => {
  stubs = await startStubs();
  const options: StackOptions = { brokers: brokers().join(','), topicPrefix: prefix, stubs, edit: (tree) => void ((tree.kafka as Record<string, unknown>).partitions = PARTITIONS) };
  writeStackConfig(options, configFile);
  const config = stackConfig(options);
  topics = topicNames(prefix);
  keys = loadSigningKeys(config.signing);
  if (config.trust.internal === undefined) throw new Error('the stack config has no internal key');
  keyring = InternalKeyring.load(config.trust.internal);
  await ensureTopics(kafka, grantlineTopicSpecs(topics, ['pam'], PARTITIONS));
  await writeIndexedTickets(kafka, topics, keys, { from: 0, to: TICKETS, partitions: PARTITIONS, perChunk: 7, groupId: `${prefix}processor`, seal: internalSealer(keyring, internalTopics(topics)) });
}, 120_000);

afterAll(async () => {
  await stubs?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('grantline evidence through the ticket index', () => {
  it("tells exactly one ticket's story among many, by its key and by its grant, verified", async () => {
    const t = evidenceTicket(23);
    for (const argv of [['--ticket', t.ticketKey], ['--ticket', t.ticketId], ['--grant', t.grantId]]) {
      const result = await cli([...argv, '--json']);
      expect(result.stderr, argv.join(' ')).toBe('');
      expect(result.code, argv.join(' ')).toBe(0);
      const story = JSON.parse(result.stdout) as Story;
      expect(story.ticket).toMatchObject({ ticketKey: t.ticketKey, ticketId: t.ticketId });
      expect(story.steps.map((s) => [s.seq, s.kind])).toEqual([
        [0, 'delivery.received'],
        [1, 'ticket.fetched'],
        [2, 'request.mapped'],
        [3, 'decision.granted'],
      ]);
      expect(story.messages).toEqual([{ kind: 'grant', id: t.grantId, verified: true, failed: [] }]);
      expect(story.verified).toBe(true);
    }
    const unknown = await cli(['--ticket', 'EV-no-such']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no custody events for ticket EV-no-such');
  });

  it('names the missing topics when the prefix has none (no processor ran under it): no protocol error, exit 2', async () => {
    const empty = join(work, 'no-topics.yaml');
    const other = `evi-none-${randomTopicSuffix()}.`;
    writeStackConfig({ brokers: brokers().join(','), topicPrefix: other, stubs }, empty);
    const result = await cli(['--ticket', 'EV-1', '--config', empty]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`topic ${other}grantline.ticket-index.v1 does not exist on the Kafka cluster`);
    expect(result.stderr).toContain(`topic ${other}access.custody.v1 does not exist on the Kafka cluster`);
    expect(result.stderr).toContain('no custody events for ticket EV-1');
  });

  it('still tells a retired ticket\'s story: retirement tombstones the state, never the index', async () => {
    const t = evidenceTicket(5);
    const key = ticketKey(EVIDENCE_CONNECTOR, t.ticketId);
    const before = JSON.parse((await cli(['--ticket', t.ticketKey, '--json'])).stdout) as Story;
    const last = before.steps.at(-1);
    // What the processor commits when it retires a ticket: a ticket.retired custody event and a state tombstone.
    const stories = ticketOutputs(5, topics, keys);
    const head = JSON.parse(stories.filter((o) => o.topic === topics.custody).at(-1)?.message.value ?? 'null') as Parameters<typeof chainEvent>[0];
    const retired = chainEvent(head, { eventId: `ce_${t.ticketId}_retired`, kind: 'ticket.retired', ticket: { connectorId: EVIDENCE_CONNECTOR, ticketId: t.ticketId, ticketKey: t.ticketKey }, requestId: null, grantId: null, at: '2025-03-09T09:00:00.000Z', actor: 'grantline/lifecycle', data: { closedAt: '2025-03-02T09:00:00.000Z', retireAfterMs: 604800000 } });
    const emit = new TicketEmitter({ connectorId: EVIDENCE_CONNECTOR, ticketId: t.ticketId, key }, topics, retired.at);
    emit.custody(retired);
    const committer = new TransactionalCommitter(kafka, { groupId: `${prefix}processor`, inputTopic: topics.ticketEvents, stateTopic: topics.ticketState, indexTopic: topics.ticketIndex, seal: internalSealer(keyring, internalTopics(topics)) });
    const partition = (await import('../../src/kafka/index.js')).partitionOf(topics.ticketEvents, key, PARTITIONS);
    await committer.acquire(partition);
    await committer.commit({ topic: topics.ticketEvents, partition, outputs: emit.outputs, states: [{ key, state: null }], nextOffset: 1n });
    await committer.disconnect();

    const result = await cli(['--ticket', t.ticketKey, '--json']);
    expect(result.code).toBe(0);
    const story = JSON.parse(result.stdout) as Story;
    expect(story.steps.map((s) => s.kind)).toEqual([...before.steps.map((s) => s.kind), 'ticket.retired']);
    expect(story.steps.at(-1)?.seq).toBe((last?.seq ?? 0) + 1);
    expect(story.verified).toBe(true);
  });

  it('refuses an index record grantline did not seal: a forged grant record cannot point a grant at another ticket', async () => {
    const victim = evidenceTicket(40);
    const other = evidenceTicket(41);
    const forged: TicketIndexRecord = { kind: 'grant', connectorId: EVIDENCE_CONNECTOR, ticketId: other.ticketId, grantId: 'gr_forged' };
    const impostor = InternalKeyring.load({ activeKid: keyring.activeKid, keys: [{ kid: keyring.activeKid, secret: Buffer.alloc(32, 7).toString('base64') }] });
    const producer = createProducer(kafka);
    await producer.connect();
    // Sealed with a key grantline does not hold, under the genuine kid; and one not sealed at all.
    await producer.send(topics.ticketIndex, [impostor.sealMessage(topics.ticketIndex, { key: grantIndexKey('gr_forged'), value: JSON.stringify(forged), headers: {} })]);
    await producer.send(topics.ticketIndex, [{ key: grantIndexKey(victim.grantId), value: JSON.stringify({ ...forged, grantId: victim.grantId }) }]);
    await producer.disconnect();

    const refused = await cli(['--grant', 'gr_forged']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('no custody events for grant gr_forged');
    // The genuine record is first for the victim's grant; the unsealed one after it is refused either way.
    const genuine = await cli(['--grant', victim.grantId, '--json']);
    expect(genuine.code).toBe(0);
    expect((JSON.parse(genuine.stdout) as Story).ticket.ticketKey).toBe(victim.ticketKey);
  });
});
