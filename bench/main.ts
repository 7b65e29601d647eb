/**
 * grantline benchmark (issue 8): baselines, ingress, end to end, bursts, ratios and memory, in one
 * run on one broker and one pair of stubs. Started by `bench/run.sh`, which provides the broker
 * (KAFKA_BROKERS) and runs this under `node --expose-gc`.
 *
 *   --tickets N     tickets of the end-to-end throughput run and of the baselines (default 10000)
 *   --name NAME     results file bench/results/NAME.json (default e2e-<N>)
 *   --profile DIR   run grantline with --cpu-prof, profiles in DIR
 *   --e2e-only      stop after the end-to-end throughput run, write no results (for profiling)
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startStubs, type Stubs } from '../dev/harness.js';
import { jiraDelivery, seedJiraTicket } from '../dev/scenarios.js';
import type { StubIssue } from '../dev/stubs/jira-stub.js';
import { TicketState } from '../src/pipeline/events.js';
import type { Kafka } from '../src/kafka/index.js';
import { consumeProduceLoop, rawProduceBatched, rawProduceSingles } from './baselines.js';
import { benchKafka, follow, groupLag } from './kafka.js';
import { httpCall, machine, ROOT, runLoad, sleep, startGrantline, summarize, type GrantlineProcess } from './lib.js';

const { values: args } = parseArgs({
  options: {
    tickets: { type: 'string', default: '10000' },
    name: { type: 'string' },
    profile: { type: 'string' },
    'e2e-only': { type: 'boolean', default: false },
  },
  strict: true,
});
const N = Number(args.tickets);
if (!Number.isInteger(N) || N < 100 || N > 1_000_000) throw new Error('--tickets must be an integer between 100 and 1000000');
const NAME = args.name ?? `e2e-${N >= 1000 ? `${N / 1000}k` : N}`;
const BROKERS = process.env.KAFKA_BROKERS;
if (!BROKERS) throw new Error('KAFKA_BROKERS is not set (bench/run.sh starts a broker and sets it)');

// Load shape. Every phase is bounded in count and in time.
const CONCURRENCY = 32; // webhook requests in flight at saturation
const FETCH_CONCURRENCY = 8; // grantline's default `pipeline.fetchConcurrency`, used by the I/O baseline too
const FIXED_RATE = 500; // events/s offered for the latency target
const FIXED_SECONDS = 10;
const BURST_TICKETS = 1000;
const BURST_UPDATES = 5;
const WARMUP = 300;
const INGRESS_SATURATION_COUNT = Math.min(N, 20_000);

const JIRA_SECRET = process.env.JIRA_WEBHOOK_SECRET || 'dev-only-jira-webhook-secret';
const JIRA_AUTH = `Basic ${Buffer.from(`${process.env.JIRA_EMAIL || 'grantline@example.com'}:${process.env.JIRA_API_TOKEN || 'dev-only-jira-token'}`).toString('base64')}`;
const runId = Date.now().toString(36);
const gc = (globalThis as { gc?: () => void }).gc;

function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** A Jira request that the example policy grants: two native approvals, service account, prod. */
function seed(stubs: Stubs, count: number): StubIssue[] {
  const out: StubIssue[] = [];
  for (let i = 0; i < count; i += 1) {
    out.push(
      seedJiraTicket(stubs.jira, {
        entitlement: 'db-orders-prod-readwrite',
        requester: 'alice',
        subject: { type: 'service_account', id: 'svc-orders' },
        environment: 'prod',
        resource: 'orders-db',
        ttlHours: 4,
        approvedBy: ['bob', 'carol'],
      }),
    );
  }
  return out;
}

const bytesOf = (m: { key: Buffer | null; value: Buffer | null; headers?: Record<string, unknown> }): number =>
  (m.key?.length ?? 0) + (m.value?.length ?? 0) + Object.entries(m.headers ?? {}).reduce((a, [k, v]) => a + k.length + String(v).length, 0);

/** Counts the Jira stub's requests since `from`, by kind, and forgets them (the list grows otherwise). */
function jiraCalls(stubs: Stubs): { issueGets: number; reads: number; writes: number; total: number } {
  const reqs = stubs.jira.requests.splice(0);
  const issueGets = reqs.filter((r) => r.method === 'GET' && /^\/rest\/api\/[23]\/issue\/[^/]+$/.test(r.path)).length;
  const reads = reqs.filter((r) => r.method === 'GET').length;
  return { issueGets, reads, writes: reqs.length - reads, total: reqs.length };
}

interface GrantWatch {
  seen: Map<string, number>;
  grantBytes: number[];
  stop(): Promise<void>;
}

async function watchGrants(kafka: Kafka, prefix: string): Promise<GrantWatch> {
  const seen = new Map<string, number>();
  const grantBytes: number[] = [];
  const f = await follow(kafka, `${prefix}access.grants.pam.v1`, (m, at) => {
    const v = JSON.parse(m.value?.toString('utf8') ?? 'null') as { outcome?: string; source?: { ticketKey?: string } } | null;
    if (v?.outcome !== 'granted' || !v.source?.ticketKey) return;
    if (!seen.has(v.source.ticketKey)) seen.set(v.source.ticketKey, at);
    if (grantBytes.length < 1000) grantBytes.push(bytesOf(m));
  });
  return { seen, grantBytes, stop: () => f.stop() };
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await sleep(50);
  }
  log(`timed out after ${timeoutMs} ms waiting for ${what}`);
  return false;
}

const avg = (xs: number[]): number => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));

async function main(): Promise<void> {
  const started = new Date();
  const tBench = performance.now();
  log(`run ${runId}: ${N} tickets, broker ${BROKERS}`);
  const stubs = await startStubs();
  const kafka = benchKafka(BROKERS as string, 'grantline-bench');
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });
  const results: Record<string, unknown> = { name: NAME, startedAt: started.toISOString(), tickets: N };
  results.machine = { ...machine(), nproc: availableParallelism() };
  results.load = { concurrency: CONCURRENCY, fetchConcurrency: FETCH_CONCURRENCY, fixedRate: FIXED_RATE, fixedSeconds: FIXED_SECONDS, burst: { tickets: BURST_TICKETS, updates: BURST_UPDATES } };

  const post = (url: string, issue: StubIssue): Promise<boolean> => {
    const d = jiraDelivery(issue, JIRA_SECRET);
    return httpCall(agent, `${url}/webhooks/jira-main`, 'POST', d.body, d.headers).then((s) => s === 202);
  };

  // ---------------------------------------------------------------- end to end (all roles, one process)
  const prefix = `bench-${runId}-e2e.`;
  log('starting grantline (all roles) in a child process');
  const gl: GrantlineProcess = await startGrantline({
    brokers: BROKERS as string,
    prefix,
    stubs,
    role: 'all',
    instanceId: `bench-${runId}`,
    pipeline: { fetchConcurrency: FETCH_CONCURRENCY },
    ...(args.profile ? { cpuProfDir: args.profile } : {}),
  });
  const rssSamples: { tMs: number; granted: number; rssBytes: number }[] = [];
  const watch = await watchGrants(kafka, prefix);
  const eventSizes: number[] = [];
  const eventsFollow = await follow(kafka, `${prefix}grantline.ticket-events.v1`, (m) => {
    if (eventSizes.length < 1000) eventSizes.push(bytesOf(m));
  });
  const sampler = setInterval(() => {
    const mem = gl.memory();
    if (mem) rssSamples.push({ tMs: Math.round(performance.now() - tBench), granted: watch.seen.size, rssBytes: mem.rssBytes });
  }, 250);

  /** Posts one delivery per ticket, records send times, waits for every grant. */
  const e2eRun = async (issues: StubIssue[], ratePerSec: number | undefined, label: string) => {
    const sentAt = new Map<string, number>();
    const load = await runLoad({
      count: issues.length,
      concurrency: ratePerSec === undefined ? CONCURRENCY : 256,
      ...(ratePerSec === undefined ? {} : { ratePerSec }),
      maxMs: Math.max(120_000, issues.length * 20),
      onStart: (i, at) => sentAt.set((issues[i] as StubIssue).key, at),
      send: (i) => post(gl.url, issues[i] as StubIssue),
    });
    const allSeen = await waitFor(() => issues.every((t) => watch.seen.has(t.key)), Math.max(120_000, issues.length * 20), `${label} grants`);
    const latencies: number[] = [];
    let first = Infinity;
    let last = 0;
    for (const t of issues) {
      const s = sentAt.get(t.key);
      const g = watch.seen.get(t.key);
      if (s === undefined || g === undefined) continue;
      latencies.push(g - s);
      first = Math.min(first, s);
      last = Math.max(last, g);
    }
    return {
      offered: ratePerSec === undefined ? `saturation (${CONCURRENCY} webhook requests in flight)` : `${ratePerSec} events/s`,
      events: issues.length,
      accepted: load.ok,
      refused: load.failed,
      granted: latencies.length,
      complete: allSeen,
      durationMs: Math.round(last - first),
      perSec: Math.round((latencies.length * 1000) / (last - first)),
      latency: summarize(latencies),
      webhookLatency: summarize(load.latenciesMs),
      generatorLate: load.late,
    };
  };

  log(`warm-up: ${WARMUP} tickets`);
  await e2eRun(seed(stubs, WARMUP), undefined, 'warm-up');
  jiraCalls(stubs);
  const grantBytes = avg(watch.grantBytes);
  const eventBytes = avg(eventSizes);
  log(`message sizes: grant ${grantBytes} B, ticket event ${eventBytes} B`);

  log(`end to end at saturation: ${N} tickets`);
  const issues = seed(stubs, N);
  const rssBefore = gl.memory();
  const liveHeapBefore = await gl.liveHeap();
  const e2e = await e2eRun(issues, undefined, 'e2e');
  const e2eCalls = jiraCalls(stubs);
  const rssAfter = gl.memory();
  // The RSS slope ends here: the live-heap probe below runs a full GC, which would bend it.
  const e2eEndMs = Math.round(performance.now() - tBench);
  // Live heap after a full GC once the run's write-backs and records have settled.
  await sleep(3000);
  const liveHeapAfter = await gl.liveHeap();
  log(`e2e: ${e2e.perSec}/s, p50 ${e2e.latency.p50Ms} ms, p99 ${e2e.latency.p99Ms} ms`);

  if (args['e2e-only']) {
    clearInterval(sampler);
    await eventsFollow.stop();
    await watch.stop();
    log(`grantline stopped with ${await gl.stop()}; fetches/event ${e2eCalls.issueGets / N}; peak RSS ${mb(gl.memory()?.peakRssBytes ?? rssAfter?.peakRssBytes)} MB`);
    await stubs.close();
    return;
  }

  log(`end to end at ${FIXED_RATE}/s for ${FIXED_SECONDS} s`);
  const fixed = await e2eRun(seed(stubs, FIXED_RATE * FIXED_SECONDS), FIXED_RATE, 'fixed-rate');
  jiraCalls(stubs);
  log(`fixed rate: p50 ${fixed.latency.p50Ms} ms, p99 ${fixed.latency.p99Ms} ms`);

  log(`bursts: ${BURST_TICKETS} tickets x ${BURST_UPDATES} updates in a row`);
  const burstIssues = seed(stubs, BURST_TICKETS);
  const burstLoad = await runLoad({
    count: BURST_TICKETS,
    concurrency: CONCURRENCY,
    maxMs: 120_000,
    send: async (i) => {
      let ok = true;
      for (let u = 0; u < BURST_UPDATES; u += 1) ok = (await post(gl.url, burstIssues[i] as StubIssue)) && ok;
      return ok;
    },
  });
  await waitFor(() => burstIssues.every((t) => watch.seen.has(t.key)), 120_000, 'burst grants');
  // The processor's group id carries the topic prefix in newer builds; either one drained is enough.
  const lag = async (): Promise<number> =>
    Math.min(...(await Promise.all([`${prefix}grantline-processor`, 'grantline-processor'].map((g) => groupLag(kafka, g, `${prefix}grantline.ticket-events.v1`)))));
  await waitFor(async () => (await lag()) === 0, 120_000, 'processor to drain the bursts');
  await sleep(1000); // write-backs of the last grants
  const burstCalls = jiraCalls(stubs);
  const burstEvents = BURST_TICKETS * BURST_UPDATES;
  const burst = {
    tickets: BURST_TICKETS,
    updatesPerTicket: BURST_UPDATES,
    events: burstEvents,
    accepted: burstLoad.ok * BURST_UPDATES,
    fetchesPerEvent: Math.round((burstCalls.issueGets / burstEvents) * 1000) / 1000,
    sourceReadRequestsPerEvent: Math.round((burstCalls.reads / burstEvents) * 1000) / 1000,
    sourceRequestsPerEvent: Math.round((burstCalls.total / burstEvents) * 1000) / 1000,
    calls: burstCalls,
    note: 'a fetch is one connector.fetchTicket (Jira: GET issue + GET approvals, and GET comments only when the issue does not embed all of them); reads also count the write-back marker check, writes are the write-back notes',
  };
  log(`bursts: ${burst.fetchesPerEvent} fetches/event, ${burst.sourceRequestsPerEvent} source requests/event`);

  clearInterval(sampler);
  const peak = gl.memory();
  await eventsFollow.stop();
  await watch.stop();

  // Bytes per tracked grant: the ticket states grantline wrote, loaded into a map as its StateView holds them.
  log('memory: loading the ticket states into a map');
  const stateRaw = new Map<string, string>();
  const stateFollow = await follow(kafka, `${prefix}grantline.ticket-state.v1`, (m) => {
    if (m.key && m.value) stateRaw.set(m.key.toString('utf8'), m.value.toString('utf8'));
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
  const view = new Map<string, TicketState>();
  let activeGrants = 0;
  raws.forEach((raw, i) => {
    const state = TicketState.parse(JSON.parse(raw));
    activeGrants += state.grants.filter((g) => g.revocation === null).length;
    view.set(`k${i}`, state);
  });
  gc?.();
  gc?.();
  const heap1 = process.memoryUsage().heapUsed;
  const jsonBytes = raws.reduce((a, r) => a + Buffer.byteLength(r), 0);
  const memory = {
    peakRssBytes: peak?.peakRssBytes ?? null,
    rssBeforeE2eBytes: rssBefore?.rssBytes ?? null,
    rssAfterE2eBytes: rssAfter?.rssBytes ?? null,
    ticketStates: view.size,
    activeGrants,
    heapBytesPerTicketState: gc ? Math.round((heap1 - heap0) / Math.max(1, view.size)) : null,
    jsonBytesPerTicketState: Math.round(jsonBytes / Math.max(1, raws.length)),
    heapMethod: 'heapUsed after gc(), before and after parsing the ticket-state topic into a Map the way StateView holds it (zod-parsed TicketState objects); JSON bytes are the serialized state on the topic',
    rssGrowthPerGrantedTicketBytes: null as number | null,
    liveHeapBeforeE2eBytes: liveHeapBefore,
    liveHeapAfterE2eBytes: liveHeapAfter,
    liveHeapGrowthPerTicketBytes: liveHeapBefore !== null && liveHeapAfter !== null ? Math.round((liveHeapAfter - liveHeapBefore) / N) : null,
    liveHeapMethod: "grantline's used heap after a full gc() (bench/heap-probe.mjs, on SIGUSR2), before the end-to-end run and 3 s after its last grant, divided by its tickets",
    rssSamples: thin(rssSamples, 200),
  };
  view.clear();
  // RSS slope over the end-to-end run: from a fifth of the way in (heap sized, JIT warm) to the end.
  const during = rssSamples.filter((s) => s.granted >= WARMUP && s.tMs <= e2eEndMs);
  const from = during.find((s) => s.granted >= WARMUP + N / 5);
  const to = [...during].reverse().find((s) => s.granted <= WARMUP + N);
  if (from && to && to.granted > from.granted) memory.rssGrowthPerGrantedTicketBytes = Math.round((to.rssBytes - from.rssBytes) / (to.granted - from.granted));
  log(`memory: peak RSS ${mb(memory.peakRssBytes)} MB, ${memory.heapBytesPerTicketState} B heap per ticket state, RSS growth ${memory.rssGrowthPerGrantedTicketBytes} B per granted ticket, live heap growth ${memory.liveHeapGrowthPerTicketBytes} B per ticket`);
  const code = await gl.stop();
  if (code !== 0) log(`grantline exited with ${code}; log: ${gl.logFile}`);

  // ---------------------------------------------------------------- ingress only
  const iprefix = `bench-${runId}-ingress.`;
  log('starting grantline (ingress role only)');
  const ing = await startGrantline({ brokers: BROKERS as string, prefix: iprefix, stubs, role: 'ingress', instanceId: `bench-${runId}-i` });
  const ingressRun = async (count: number, ratePerSec?: number) => {
    const r = await runLoad({
      count,
      concurrency: ratePerSec === undefined ? CONCURRENCY : 256,
      ...(ratePerSec === undefined ? {} : { ratePerSec }),
      maxMs: 90_000,
      send: (i) => post(ing.url, issues[i % issues.length] as StubIssue),
    });
    return {
      offered: ratePerSec === undefined ? `saturation (${CONCURRENCY} in flight)` : `${ratePerSec} deliveries/s`,
      sent: r.sent,
      accepted: r.ok,
      refused: r.failed,
      durationMs: Math.round(r.durationMs),
      perSec: Math.round((r.ok * 1000) / r.durationMs),
      latency: summarize(r.latenciesMs),
      generatorLate: r.late,
    };
  };
  await ingressRun(500); // warm-up
  const ingressFixed = await ingressRun(FIXED_RATE * FIXED_SECONDS, FIXED_RATE);
  const ingressSat = await ingressRun(INGRESS_SATURATION_COUNT);
  await ing.stop();
  jiraCalls(stubs);
  log(`ingress: ${ingressSat.perSec}/s at saturation (p99 ${ingressSat.latency.p99Ms} ms); at ${FIXED_RATE}/s p99 ${ingressFixed.latency.p99Ms} ms`);

  // ---------------------------------------------------------------- baselines
  const bprefix = `bench-${runId}-base.`;
  log('baselines');
  const rawGrants = await rawProduceBatched(kafka, `${bprefix}raw-grants.v1`, N, grantBytes, 100);
  log(`raw produce (grant size): ${rawGrants.perSec}/s`);
  const rawSingles = await rawProduceSingles(kafka, `${bprefix}raw-events.v1`, INGRESS_SATURATION_COUNT, eventBytes, CONCURRENCY, 90_000);
  log(`raw produce (event size, singles): ${rawSingles.perSec}/s`);
  const loop = await consumeProduceLoop(kafka, { prefix: `${bprefix}plain.`, count: N, inBytes: eventBytes, outBytes: grantBytes, fetchConcurrency: FETCH_CONCURRENCY, maxMs: 600_000 });
  log(`consume -> produce (tx per batch): ${loop.perSec}/s`);
  const loopGet = await consumeProduceLoop(kafka, {
    prefix: `${bprefix}get.`,
    count: N,
    inBytes: eventBytes,
    outBytes: grantBytes,
    fetchConcurrency: FETCH_CONCURRENCY,
    maxMs: 600_000,
    get: { url: (i) => `${stubs.jira.baseUrl}/rest/api/3/issue/${(issues[i % issues.length] as StubIssue).id}`, headers: { authorization: JIRA_AUTH, accept: 'application/json' } },
  });
  jiraCalls(stubs);
  log(`consume -> GET -> produce (tx per batch): ${loopGet.perSec}/s`);

  // ---------------------------------------------------------------- ratios and targets
  const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;
  const ratios = {
    ingressVsRawProduceSingles: ratio(ingressSat.perSec, rawSingles.perSec),
    e2eVsIoEquivalentLoop: ratio(e2e.perSec, loopGet.perSec),
    e2eVsPlainLoop: ratio(e2e.perSec, loop.perSec),
    e2eVsRawProduce: ratio(e2e.perSec, rawGrants.perSec),
  };
  const stateBytes = memory.heapBytesPerTicketState ?? memory.jsonBytesPerTicketState;
  const targets = [
    { target: 'e2e throughput >= 50% of the I/O-equivalent baseline', value: ratios.e2eVsIoEquivalentLoop, met: ratios.e2eVsIoEquivalentLoop >= 0.5 },
    { target: `p99 e2e latency < 100 ms at ${FIXED_RATE} events/s`, value: fixed.latency.p99Ms, met: fixed.latency.p99Ms < 100 && fixed.complete },
    { target: 'source fetches per event < 1 in bursts', value: burst.fetchesPerEvent, met: burst.fetchesPerEvent < 1 },
    {
      target: 'RSS flat beyond the per-ticket decision state (RSS growth per ticket <= 2 x heap bytes per ticket state)',
      value: memory.rssGrowthPerGrantedTicketBytes,
      met: memory.rssGrowthPerGrantedTicketBytes !== null && memory.rssGrowthPerGrantedTicketBytes <= 2 * stateBytes,
    },
  ];
  Object.assign(results, {
    messageBytes: { grant: grantBytes, ticketEvent: eventBytes },
    baselines: { rawProduceGrants: rawGrants, rawProduceEventsSingles: rawSingles, consumeProduceLoop: loop, consumeGetProduceLoop: loopGet },
    ingress: { fixedRate: ingressFixed, saturation: ingressSat },
    e2e: { saturation: e2e, fixedRate: fixed, fetchesPerEvent: Math.round((e2eCalls.issueGets / N) * 1000) / 1000, sourceRequestsPerEvent: Math.round((e2eCalls.total / N) * 1000) / 1000 },
    burst,
    ratios,
    memory,
    targets,
    durationS: Math.round((performance.now() - tBench) / 1000),
  });
  for (const t of targets) log(`${t.met ? 'MET   ' : 'MISSED'} ${t.target}: ${t.value}`);

  const outDir = join(ROOT, 'bench/results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${NAME}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'README.md'), markdown(outDir));
  log(`wrote bench/results/${NAME}.json and bench/results/README.md`);
  agent.destroy();
  await stubs.close();
}

function thin<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const step = xs.length / max;
  return Array.from({ length: max }, (_, i) => xs[Math.floor(i * step)] as T);
}

function mb(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? 'n/a' : (bytes / 1048576).toFixed(1);
}

/** The Markdown summary of every results file in the directory. */
function markdown(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const lines = ['# Benchmark results', '', 'Written by `npm run bench` / `npm run bench:large` (see `bench/README.md`). One section per results file.', ''];
  for (const f of files) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as any;
    const m = r.machine;
    lines.push(`## ${r.name} (${r.tickets} tickets, ${r.startedAt})`, '');
    lines.push(`Machine: ${m.nproc} cores (nproc), ${mb(m.memTotalBytes)} MB memory, ${m.cpuModel}, Node ${m.node}. Run took ${r.durationS} s.`, '');
    lines.push('| measure | value | baseline | ratio |', '|---|---|---|---|');
    const b = r.baselines;
    lines.push(`| raw produce, grant-size messages (${r.messageBytes.grant} B, batches of 100) | | ${b.rawProduceGrants.perSec}/s | |`);
    lines.push(`| raw consume → produce, tx per batch | | ${b.consumeProduceLoop.perSec}/s | |`);
    lines.push(`| raw consume → GET → produce, tx per batch (I/O-equivalent) | | ${b.consumeGetProduceLoop.perSec}/s | |`);
    lines.push(`| ingress at saturation: webhooks → ticket-events | ${r.ingress.saturation.perSec}/s, p50 ${r.ingress.saturation.latency.p50Ms} ms, p99 ${r.ingress.saturation.latency.p99Ms} ms | raw produce, singles, ${b.rawProduceEventsSingles.perSec}/s | ${r.ratios.ingressVsRawProduceSingles} |`);
    lines.push(`| ingress at ${r.load.fixedRate}/s offered | p50 ${r.ingress.fixedRate.latency.p50Ms} ms, p99 ${r.ingress.fixedRate.latency.p99Ms} ms | | |`);
    lines.push(`| end to end at saturation: webhook → grant (${r.e2e.saturation.events} tickets) | ${r.e2e.saturation.perSec}/s, p50 ${r.e2e.saturation.latency.p50Ms} ms, p99 ${r.e2e.saturation.latency.p99Ms} ms | I/O-equivalent ${b.consumeGetProduceLoop.perSec}/s | ${r.ratios.e2eVsIoEquivalentLoop} |`);
    lines.push(`| end to end at ${r.load.fixedRate}/s offered | p50 ${r.e2e.fixedRate.latency.p50Ms} ms, p99 ${r.e2e.fixedRate.latency.p99Ms} ms | | |`);
    lines.push(`| bursts (${r.burst.tickets} tickets × ${r.burst.updatesPerTicket} updates) | ${r.burst.fetchesPerEvent} fetches/event, ${r.burst.sourceRequestsPerEvent} source HTTP requests/event | 1 fetch/event | |`);
    lines.push(`| peak RSS of grantline | ${mb(r.memory.peakRssBytes)} MB | | |`);
    lines.push(`| per tracked active grant (ticket state) | ${r.memory.heapBytesPerTicketState ?? 'n/a'} B heap, ${r.memory.jsonBytesPerTicketState} B JSON | | |`);
    lines.push(`| RSS growth per processed ticket | ${r.memory.rssGrowthPerGrantedTicketBytes ?? 'n/a'} B | | |`);
    lines.push(`| live heap growth per processed ticket (after full GC) | ${r.memory.liveHeapGrowthPerTicketBytes ?? 'n/a'} B | | |`, '');
    lines.push('| target | value | met |', '|---|---|---|');
    for (const t of r.targets) lines.push(`| ${t.target} | ${t.value} | ${t.met ? 'yes' : 'NO'} |`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
