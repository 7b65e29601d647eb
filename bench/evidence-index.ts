/**
 * Evidence by ticket through the ticket index, at 1k and at 100k tickets (issue 15): writes tickets'
 * custody chains, grants and index records through the partition owner's committer (not the whole
 * pipeline), and times what `grantline evidence --ticket` reads — the name record, the ticket's
 * index records, its records by offset — for tickets among the first 1k and the last written.
 * Usage: KAFKA_* env of a broker (bench/run.sh, or /work/broker.env); tsx bench/evidence-index.ts [total]
 * Writes bench/results/evidence-index.json.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { loadSigningKeys } from '../src/custody/index.js';
import { ensureTopics, grantlineTopicSpecs, topicNames } from '../src/kafka/index.js';
import { internalTopics } from '../src/pipeline/runtime.js';
import { TicketIndexReader } from '../src/pipeline/ticket-index/lookup.js';
import { InternalKeyring, internalSealer } from '../src/trust/index.js';
import { evidenceTicket, writeIndexedTickets } from '../test/fixtures/indexed-tickets.js';
import { testKafka } from '../test/integration/helpers/kafka.js';

const TOTAL = Number(process.argv[2] ?? 100_000);
const PARTITIONS = 6;
const prefix = `bench-evi-${randomBytes(4).toString('hex')}.`;
const kafka = testKafka('grantline-bench-evidence');
const topics = topicNames(prefix);
const { privateKey } = generateKeyPairSync('ed25519');
const keys = loadSigningKeys({ activeKid: 'bench', keys: [{ kid: 'bench', privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }], retiredPublicKeys: [] });
const keyring = InternalKeyring.load({ activeKid: 'k', keys: [{ kid: 'k', secret: randomBytes(32).toString('base64') }] });
const seal = internalSealer(keyring, internalTopics(topics));
const gate = { open: (_p: number, m: Parameters<InternalKeyring['open']>[1]) => keyring.open(topics.ticketIndex, m), refuse: async () => undefined };

async function lookup(i: number): Promise<{ ms: number; records: number }> {
  const started = performance.now();
  const reader = new TicketIndexReader(kafka, topics.ticketIndex, gate);
  const ticket = await reader.find({ name: evidenceTicket(i).ticketKey });
  const indexed = ticket === null ? null : await reader.ticket(ticket);
  if (indexed === null) throw new Error(`ticket ${i} is not in the index`);
  const read = await reader.read(indexed.records);
  if (read.some((m) => m === null)) throw new Error(`a record of ticket ${i} is missing`);
  return { ms: performance.now() - started, records: read.length };
}

async function timed(samples: number[]): Promise<{ medianMs: number; samplesMs: number[] }> {
  const out: number[] = [];
  for (const i of samples) out.push(Math.round((await lookup(i)).ms));
  const sorted = [...out].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)] ?? 0, samplesMs: out };
}

await ensureTopics(kafka, grantlineTopicSpecs(topics, ['pam'], PARTITIONS));
const write = async (from: number, to: number): Promise<number> => {
  const started = performance.now();
  await writeIndexedTickets(kafka, topics, keys, { from, to, partitions: PARTITIONS, perChunk: 200, groupId: `${prefix}processor`, seal });
  return Math.round(performance.now() - started);
};
const writeSmallMs = await write(0, 1_000);
const at1k = await timed([17, 333, 999, 500, 42]);
console.log('1k', at1k);
const writeLargeMs = await write(1_000, TOTAL);
const atLarge = await timed([17, 333, TOTAL - 1, Math.floor(TOTAL / 2), 42]);
console.log(`${TOTAL}`, atLarge);
const result = {
  scenario: 'evidence-index',
  at: new Date().toISOString(),
  partitions: PARTITIONS,
  recordsPerTicket: 5,
  tickets: { small: 1_000, large: TOTAL },
  writeMs: { small: writeSmallMs, large: writeLargeMs },
  evidenceLookupMs: { at1k, atLarge },
  ratio: Math.round((atLarge.medianMs / Math.max(1, at1k.medianMs)) * 100) / 100,
};
writeFileSync(new URL('./results/evidence-index.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result));
process.exit(0);
