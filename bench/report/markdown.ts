/** bench/results/README.md: one section per results file, with its machine, figures, charts and targets. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mb } from '../lib.js';
import { STAGES } from '../source-requests.js';
import { evidenceSection, type EvidenceReport } from './evidence.js';
import type { E2eReport, HistoryReport, Target } from './types.js';

const s = (ms: number | null | undefined): string => (ms === null || ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);
const n = (v: number | null | undefined, unit = ''): string => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : `${v}${unit}`);

function machineLine(r: { machine: E2eReport['machine']; durationS: number }): string {
  const m = r.machine;
  const load = m.loadAverageAtStart ? ` Load average ${m.loadAverageAtStart.join(', ')} at start${m.loadAverageAtEnd ? `, ${m.loadAverageAtEnd.join(', ')} at end` : ''}.` : '';
  return `Machine: ${m.nproc} cores (nproc), ${mb(m.memTotalBytes)} MB memory, ${m.cpuModel}, Node ${m.node}. Run took ${r.durationS} s.${load}`;
}

function charts(dir: string, files: string[]): string[] {
  const present = files.filter((f) => existsSync(join(dir, f)));
  return present.length === 0 ? [] : [...present.map((f) => `![${f}](${f})`), ''];
}

function targets(ts: Target[]): string[] {
  return ['| target | value | met |', '|---|---|---|', ...ts.map((t) => `| ${t.target} | ${n(t.value)} | ${t.met ? 'yes' : 'NO'} |`), ''];
}

function e2e(dir: string, r: E2eReport): string[] {
  const b = r.baselines;
  const sat = r.e2e.saturation;
  const lines = [`## ${r.name} (${r.tickets} tickets, ${r.startedAt})`, '', machineLine(r), ''];
  lines.push(...charts(dir, [`${r.name}-latency.svg`, `${r.name}-requests.svg`, `${r.name}-memory.svg`]));
  lines.push('| measure | value | baseline | ratio |', '|---|---|---|---|');
  lines.push(`| raw produce, grant-size messages (${r.messageBytes.grant} B, batches of 100) | | ${b.rawProduceGrants.perSec}/s | |`);
  lines.push(`| raw consume → produce, tx per batch | | ${b.consumeProduceLoop.perSec}/s | |`);
  lines.push(`| consume → 1 GET → 1 message, tx per batch (one-GET I/O-equivalent, issue 8) | | ${b.consumeGetProduceLoop.perSec}/s | |`);
  lines.push(`| consume → 2 GETs → 3 messages, tx per batch → 1 POST (minimal I/O, issue 16) | | ${b.minimalIoLoop.perSec}/s | |`);
  lines.push(`| ingress at saturation: webhooks → ticket-events | ${r.ingress.saturation.perSec}/s, p50 ${r.ingress.saturation.latency.p50Ms} ms, p99 ${r.ingress.saturation.latency.p99Ms} ms | raw produce, singles, ${b.rawProduceEventsSingles.perSec}/s | ${r.ratios.ingressVsRawProduceSingles} |`);
  lines.push(`| ingress at ${r.load.ingressFixedRate}/s offered | p50 ${r.ingress.fixedRate.latency.p50Ms} ms, p99 ${r.ingress.fixedRate.latency.p99Ms} ms | | |`);
  lines.push(`| end to end at saturation: webhook → grant (${sat.events} tickets) | ${sat.perSec}/s, p50 ${sat.latency.p50Ms} ms, p99 ${sat.latency.p99Ms} ms | minimal I/O ${b.minimalIoLoop.perSec}/s | ${r.ratios.e2eVsMinimalIo} |`);
  lines.push(`| | | one-GET I/O-equivalent ${b.consumeGetProduceLoop.perSec}/s | ${r.ratios.e2eVsIoEquivalentLoop} |`);
  for (const l of r.e2e.openLoop) {
    const split = l.latencySplit ? `; to the grant record p99 ${l.latencySplit.toRecord.p99Ms} ms, record to seen p99 ${l.latencySplit.recordToSeen.p99Ms} ms` : '';
    lines.push(`| end to end at ${l.ratePerSec}/s offered, open loop (${l.events} tickets) | p50 ${l.latency.p50Ms} ms, p99 ${l.latency.p99Ms} ms, max ${l.latency.maxMs} ms${l.complete ? '' : ' (not all granted)'}${split} | | |`);
  }
  lines.push(`| grantline CPU per granted ticket (user + system) | ${n(r.cpu?.perTicketMs, ' ms')} (${n(r.cpu?.cpuMs, ' ms')} over ${s(r.cpu?.wallMs)}, ${r.cpu ? Math.round(r.cpu.busyShare * 100) : 'n/a'}% of one core) | | |`);
  lines.push(`| Kafka records per granted ticket, every grantline topic | ${r.kafkaRecords.perTicket} (${r.kafkaRecords.bytesPerTicket} B) | | |`);
  lines.push(`| source requests per granted ticket, echoes included | ${n(r.sourceRequests.withEchoes?.stages.totalPerTicket)} | | |`);
  lines.push(`| source requests per granted ticket, saturation run | ${r.sourceRequests.saturation.totalPerTicket} | | |`);
  lines.push(`| bursts (${r.burst.tickets} tickets × ${r.burst.updatesPerTicket} updates) | ${r.burst.fetchesPerEvent} fetches/event, ${r.burst.sourceRequestsPerEvent} source requests/event | 1 fetch/event | |`);
  lines.push(`| peak RSS of grantline | ${mb(r.memory.peakRssBytes)} MB | | |`);
  lines.push(`| per ticket state (tracked grant) | ${n(r.memory.heapBytesPerTicketState)} B heap held${r.memory.heapBytesPerParsedState === undefined ? '' : ` (packed; ${n(r.memory.heapBytesPerParsedState)} B parsed)`}, ${r.memory.jsonBytesPerTicketState} B JSON | | |`);
  lines.push(`| RSS growth per processed ticket | ${n(r.memory.rssGrowthPerGrantedTicketBytes)} B | | |`);
  lines.push(`| live heap growth per processed ticket (after full GC) | ${n(r.memory.liveHeapGrowthPerTicketBytes)} B | | |`, '');
  const rows = [
    ['with echoes', r.sourceRequests.withEchoes?.stages],
    ['saturation run', r.sourceRequests.saturation],
    ['bursts', r.sourceRequests.bursts],
  ] as const;
  lines.push('Source requests per granted ticket, by stage:', '');
  lines.push(`| run | ${STAGES.join(' | ')} | total |`, `|---|${STAGES.map(() => '---').join('|')}|---|`);
  for (const [label, st] of rows) if (st) lines.push(`| ${label} | ${STAGES.map((x) => st.perTicket[x]).join(' | ')} | ${st.totalPerTicket} |`);
  lines.push('', 'Kafka records per granted ticket, by topic (saturation run):', '', '| topic | records per ticket | bytes per record |', '|---|---|---|');
  for (const [topic, c] of Object.entries(r.kafkaRecords.perTopic)) if (c.records > 0) lines.push(`| ${topic} | ${c.perTicket} | ${Math.round(c.bytes / c.records)} |`);
  lines.push('');
  return [...lines, ...targets(r.targets)];
}

function history(dir: string, r: HistoryReport): string[] {
  const { small, large } = r.history;
  const lines = [`## ${r.name} (history of ${r.tickets} tickets, ${r.startedAt})`, '', machineLine(r), ''];
  // Files written before the bench set the pipeline have no `pipeline`: retirement was at its 7-day default.
  const p = r.history.pipeline;
  lines.push(p === undefined ? 'Pipeline: `retireAfterMs` at its default (7 days): no ticket retired during the run.' : `Pipeline: ${Object.entries(p).map(([k, v]) => `\`${k}: ${v}\``).join(', ')}.`, '');
  lines.push(...charts(dir, [`${r.name}-memory.svg`, `${r.name}-startup.svg`]));
  lines.push(`| measure | ${small.tickets} tickets | ${large.tickets} tickets |`, '|---|---|---|');
  const row = (label: string, f: (run: typeof small) => string): void => {
    lines.push(`| ${label} | ${f(small)} | ${f(large)} |`);
  };
  row('cancelled and revoked (confirmed) / still granted', (x) => `${x.closedAndRevoked} / ${x.activeGrants}`);
  row('time to build the history', (x) => s(x.buildMs));
  row('building process: peak RSS', (x) => `${mb(x.build.peakRssBytes)} MB`);
  row('building process: live heap empty → end', (x) => `${mb(x.build.liveHeapEmptyBytes)} → ${mb(x.build.liveHeapEndBytes)} MB`);
  row('building process: live heap slope per active grant, per ticket of history', (x) => `${n(x.buildSlope.perActiveGrantBytes)} B, ${n(x.buildSlope.perTicketBytes)} B`);
  row('new process on the history: to /readyz 200 (median, where timed over several starts)', (x) => s(x.restart.readyAfterMs));
  row('new process on the history: to its first grant (median, where timed over several starts)', (x) => s(x.restart.firstGrantAfterMs));
  row('new process on the history: peak RSS, live heap', (x) => `${mb(x.restart.peakRssBytes)} MB, ${mb(x.restart.liveHeapBytes)} MB`);
  row('new process on the history: ticket states held (`grantline_state_tickets`)', (x) => n(x.restart.heldTickets ?? null));
  lines.push(`| live heap per active grant: new process on ${large.tickets} minus on ${small.tickets}, over the difference in active grants | | ${n(r.history.bytesPerActiveGrant)} B |`);
  lines.push(`| start-up ratio, ${large.tickets} vs ${small.tickets} (first grant; /readyz) | | ${n(r.history.startupRatio.firstGrant)}; ${n(r.history.startupRatio.ready)} |`, '');
  return [...lines, ...targets(r.targets)];
}

/** Files written before issue 16 (no `kind`): their own table, as it was. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function legacy(r: any): string[] {
  const b = r.baselines;
  const lines = [`## ${r.name} (${r.tickets} tickets, ${r.startedAt})`, '', machineLine(r), '', '(Written by the issue 8 benchmark, before source requests by stage, Kafka records, CPU per ticket and the minimal-I/O baseline were measured; its baselines ran in the benchmark process, beside the stubs.)', ''];
  lines.push('| measure | value | baseline | ratio |', '|---|---|---|---|');
  lines.push(`| raw produce, grant-size messages (${r.messageBytes.grant} B, batches of 100) | | ${b.rawProduceGrants.perSec}/s | |`);
  lines.push(`| raw consume → produce, tx per batch | | ${b.consumeProduceLoop.perSec}/s | |`);
  lines.push(`| raw consume → GET → produce, tx per batch (I/O-equivalent) | | ${b.consumeGetProduceLoop.perSec}/s | |`);
  lines.push(`| ingress at saturation: webhooks → ticket-events | ${r.ingress.saturation.perSec}/s, p50 ${r.ingress.saturation.latency.p50Ms} ms, p99 ${r.ingress.saturation.latency.p99Ms} ms | raw produce, singles, ${b.rawProduceEventsSingles.perSec}/s | ${r.ratios.ingressVsRawProduceSingles} |`);
  lines.push(`| ingress at ${r.load.fixedRate}/s offered | p50 ${r.ingress.fixedRate.latency.p50Ms} ms, p99 ${r.ingress.fixedRate.latency.p99Ms} ms | | |`);
  lines.push(`| end to end at saturation: webhook → grant (${r.e2e.saturation.events} tickets) | ${r.e2e.saturation.perSec}/s, p50 ${r.e2e.saturation.latency.p50Ms} ms, p99 ${r.e2e.saturation.latency.p99Ms} ms | I/O-equivalent ${b.consumeGetProduceLoop.perSec}/s | ${r.ratios.e2eVsIoEquivalentLoop} |`);
  lines.push(`| end to end at ${r.load.fixedRate}/s offered | p50 ${r.e2e.fixedRate.latency.p50Ms} ms, p99 ${r.e2e.fixedRate.latency.p99Ms} ms | | |`);
  lines.push(`| bursts (${r.burst.tickets} tickets × ${r.burst.updatesPerTicket} updates) | ${r.burst.fetchesPerEvent} fetches/event, ${r.burst.sourceRequestsPerEvent} source HTTP requests/event | 1 fetch/event | |`);
  lines.push(`| peak RSS of grantline | ${mb(r.memory.peakRssBytes)} MB | | |`);
  lines.push(`| per tracked active grant (ticket state) | ${r.memory.heapBytesPerTicketState ?? 'n/a'} B heap held${r.memory.heapBytesPerParsedState === undefined ? '' : ` (packed; ${r.memory.heapBytesPerParsedState ?? 'n/a'} B parsed)`}, ${r.memory.jsonBytesPerTicketState} B JSON | | |`);
  lines.push(`| RSS growth per processed ticket | ${r.memory.rssGrowthPerGrantedTicketBytes ?? 'n/a'} B | | |`);
  lines.push(`| live heap growth per processed ticket (after full GC) | ${r.memory.liveHeapGrowthPerTicketBytes ?? 'n/a'} B | | |`, '');
  return [...lines, ...targets(r.targets)];
}

/** The Markdown summary of every results file in the directory. */
export function resultsReadme(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const lines = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` / `npm run bench:large` (see `bench/README.md` for what each figure is and how it is measured). One section per results file; the charts are the SVG files beside it.',
    '',
  ];
  for (const f of files) {
    const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as E2eReport | HistoryReport | EvidenceReport | { kind?: undefined };
    if (r.kind === 'e2e') lines.push(...e2e(dir, r));
    else if (r.kind === 'evidence') lines.push(...evidenceSection(r, machineLine(r), targets(r.targets)));
    else if (r.kind === 'history') lines.push(...history(dir, r));
    else lines.push(...legacy(r));
  }
  return `${lines.join('\n')}\n`;
}
