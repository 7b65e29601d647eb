/**
 * The evidence bench (issue 15: "evidence by ticket or grant in time that does not grow with the
 * topic; measure it at 100k tickets"). Run by `bash bench/run.sh --evidence [--tickets N]`, which
 * provides a throwaway broker (KAFKA_BROKERS). For a history of 1,000 tickets and one of N (default
 * 100,000), each under its own topic prefix:
 *
 * 1. writes the history as the processor writes it (`scenarios/evidence-history.ts`: grantline's
 *    per-ticket processing and its transactional committer, so the ticket index comes with it);
 * 2. times `grantline evidence --ticket KEY` and `--grant ID` (the command's `run`, in this process,
 *    output checked: verified, the ticket's 5 custody events and 2 signed messages, nothing else)
 *    for tickets spread over the history;
 * 3. times reading the custody, grant and rejection topics whole, which is what `grantline
 *    evidence` did for any ticket before the index (`--no-scan` skips it).
 *
 * Writes bench/results/evidence-<N>.json and regenerates bench/results/README.md.
 *
 *   --tickets N     tickets of the large history (default 100000)
 *   --small S       tickets of the small history (default 1000)
 *   --samples K     tickets asked about per history (default 5)
 *   --partitions P  partitions of every topic (default 6)
 *   --name NAME     results file name (default evidence-<N>)
 *   --no-scan       skip the whole-topic reads
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify as stringifyYaml } from 'yaml';
import { loadCatalog } from '../src/catalog/index.js';
import { stackConfig, stackTree, type Stubs } from '../dev/harness.js';
import { run as evidenceCli } from '../src/cli/commands/evidence.js';
import { ensureTopics, grantlineTopicSpecs, readTopic, topicNames, type Kafka, type TopicNames } from '../src/kafka/index.js';
import { benchKafka } from './kafka.js';
import { log, machine, ROOT, round1 } from './lib.js';
import { evidenceTargets, type EvidenceReport, type EvidenceRun, type Lookup } from './report/evidence.js';
import { resultsReadme } from './report/markdown.js';
import { writeHistory, type HistoryTicket } from './scenarios/evidence-history.js';

const { values: args } = parseArgs({
  options: {
    tickets: { type: 'string', default: '100000' },
    small: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '5' },
    partitions: { type: 'string', default: '6' },
    name: { type: 'string' },
    'no-scan': { type: 'boolean', default: false },
  },
  strict: true,
});
function whole(flag: string, value: string | undefined, min: number, max: number): number {
  const v = Number(value);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${flag} must be a whole number from ${min} to ${max}`);
  return v;
}
const N = whole('tickets', args.tickets, 10, 1_000_000);
const SMALL = whole('small', args.small, 10, 1_000_000);
const SAMPLES = whole('samples', args.samples, 1, 50);
const PARTITIONS = whole('partitions', args.partitions, 1, 64);
const short = (k: number): string => (k >= 1000 && k % 1000 === 0 ? `${k / 1000}k` : String(k));
const NAME = args.name ?? `evidence-${short(N)}`;
const BROKERS = process.env.KAFKA_BROKERS;
if (!BROKERS) throw new Error('KAFKA_BROKERS is not set (bench/run.sh --evidence starts a broker and sets it)');
// The command reads the brokers from its config file, as an operator's would.
delete process.env.KAFKA_BROKERS;
const OUT = join(ROOT, 'bench/results');
/** The example config needs connector URLs; nothing here calls a source. */
const NO_STUBS = { jira: { baseUrl: 'http://127.0.0.1:9' }, servicenow: { baseUrl: 'http://127.0.0.1:9' }, json: { baseUrl: 'http://127.0.0.1:9' } } as unknown as Stubs;

/** Runs `grantline evidence` in this process with its output captured; checks it told exactly the ticket's story. */
async function timeEvidence(configFile: string, argv: string[], ticket: HistoryTicket, story: { custody: number; signed: number }): Promise<number> {
  const out: string[] = [];
  const err: string[] = [];
  const { log: origLog, error: origError } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  const t0 = performance.now();
  let code: number;
  try {
    code = await evidenceCli([...argv, '--json', '--config', configFile]);
  } finally {
    console.log = origLog;
    console.error = origError;
  }
  const ms = performance.now() - t0;
  const told = JSON.parse(out.join('\n') || '{}') as { ticket?: { ticketId?: string }; chain?: { events?: number }; messages?: unknown[]; verified?: boolean };
  const ok = code === 0 && told.verified === true && told.ticket?.ticketId === ticket.ticketId && told.chain?.events === story.custody && told.messages?.length === story.signed;
  if (!ok) throw new Error(`grantline evidence ${argv.join(' ')} exited ${code} without the ticket's verified story: ${err.join(' ').slice(0, 500)} ${out.join('\n').slice(0, 500)}`);
  return ms;
}

function lookup(ms: number[]): Lookup {
  const sorted = [...ms].sort((a, b) => a - b);
  return { samples: ms.map(round1), medianMs: round1(sorted[Math.floor((sorted.length - 1) / 2)] as number), maxMs: round1(sorted[sorted.length - 1] as number) };
}

/** What `grantline evidence` read for any ticket before the index: the custody, grant and rejection topics, whole. */
async function wholeTopicScan(kafka: Kafka, t: TopicNames): Promise<{ ms: number; records: number }> {
  const t0 = performance.now();
  let records = 0;
  for (const topic of [t.custody, t.grants('pam'), t.rejected]) records += (await readTopic(kafka, topic)).length;
  return { ms: round1(performance.now() - t0), records };
}

async function endOffsets(kafka: Kafka, topics: string[]): Promise<Record<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out: Record<string, number> = {};
    for (const topic of topics) out[topic] = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    return out;
  } finally {
    await admin.disconnect();
  }
}

async function measure(kafka: Kafka, work: string, tickets: number, scan: boolean): Promise<EvidenceRun> {
  const run = `r${tickets}`;
  const prefix = `bench-evidence-${tickets}-${Date.now()}.`;
  const options = { brokers: BROKERS as string, topicPrefix: prefix, stubs: NO_STUBS, logLevel: 'error' };
  const configFile = join(work, `grantline-${tickets}.yaml`);
  writeFileSync(configFile, stringifyYaml(stackTree(options)));
  const config = stackConfig(options);
  const t = topicNames(prefix);
  // Every channel of the example catalog has its grant topic, as `serve` makes sure at start.
  const channels = [...new Set((await loadCatalog(config.catalog.path)).entries().map((e) => e.channel))];
  await ensureTopics(kafka, grantlineTopicSpecs(t, channels, PARTITIONS));
  const sampleAt = Array.from({ length: SAMPLES }, (_, i) => Math.floor(((i + 0.5) * tickets) / SAMPLES));
  log(`${tickets} tickets: writing custody events and signed messages under ${prefix}`);
  let reported = 0;
  const written = await writeHistory(kafka, config, run, tickets, PARTITIONS, sampleAt, (done) => {
    if (done - reported >= 10_000) {
      reported = done;
      log(`  ${done} tickets written`);
    }
  });
  log(`${tickets} tickets written in ${round1(written.ms / 1000)} s`);
  // A reader right after the last commit can see a partition as read to its end before the broker
  // has written the transaction's markers (kafkajs reports an empty read_committed fetch as read up
  // to the high watermark): let them land, as they long have when an operator asks.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const byTicket: number[] = [];
  const byGrant: number[] = [];
  for (const ticket of written.samples) {
    byTicket.push(await timeEvidence(configFile, ['--ticket', ticket.ticketKey], ticket, written.perTicket));
    byGrant.push(await timeEvidence(configFile, ['--grant', ticket.grantId], ticket, written.perTicket));
  }
  const ticketLookup = lookup(byTicket);
  const grantLookup = lookup(byGrant);
  log(`${tickets} tickets: evidence --ticket median ${ticketLookup.medianMs} ms (max ${ticketLookup.maxMs}), --grant median ${grantLookup.medianMs} ms (max ${grantLookup.maxMs})`);
  const scanned = scan ? await wholeTopicScan(kafka, t) : null;
  if (scanned) log(`${tickets} tickets: reading the custody, grant and rejection topics whole took ${round1(scanned.ms / 1000)} s (${scanned.records} records)`);
  const topics = [t.custody, t.grants('pam'), t.rejected, ...('ticketIndex' in t ? [String((t as Record<string, unknown>).ticketIndex)] : [])];
  const records = await endOffsets(kafka, topics);
  return { tickets, perTicket: written.perTicket, writeMs: round1(written.ms), records: Object.fromEntries(Object.entries(records).map(([k, v]) => [k.slice(prefix.length), v])), byTicket: ticketLookup, byGrant: grantLookup, wholeTopicScan: scanned };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg().map(round1);
  const t0 = performance.now();
  const kafka = benchKafka(BROKERS as string, 'grantline-evidence-bench');
  const work = mkdtempSync(join(tmpdir(), 'grantline-evidence-bench-'));
  try {
    const small = await measure(kafka, work, SMALL, !args['no-scan']);
    const large = await measure(kafka, work, N, !args['no-scan']);
    const body: Omit<EvidenceReport, 'targets'> = {
      kind: 'evidence',
      name: NAME,
      startedAt,
      tickets: N,
      machine: { ...(machine() as unknown as EvidenceReport['machine']), loadAverageAtStart, loadAverageAtEnd: loadavg().map(round1) },
      durationS: Math.round((performance.now() - t0) / 1000),
      shape: { partitions: PARTITIONS, custodyEventsPerTicket: large.perTicket.custody, signedMessagesPerTicket: large.perTicket.signed, samples: SAMPLES },
      small,
      large,
    };
    const report: EvidenceReport = { ...body, targets: evidenceTargets(body) };
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, `${NAME}.json`), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(OUT, 'README.md'), resultsReadme(OUT));
    log(`wrote bench/results/${NAME}.json and bench/results/README.md`);
    for (const target of report.targets) log(`${target.met ? 'MET   ' : 'MISSED'} ${target.target}: ${target.value}`);
    rmSync(work, { recursive: true, force: true });
  } catch (error) {
    log(`the configs are kept in ${work}`);
    throw error;
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`[evidence-bench] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
