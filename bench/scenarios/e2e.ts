/**
 * End to end on one grantline process with all roles: warm-up, the saturation run (throughput,
 * latency, source requests by stage, Kafka records per ticket, CPU per ticket, RSS and live heap),
 * open-loop runs below capacity, and bursts of updates to one ticket.
 */
import type { StubIssue } from '../../dev/stubs/jira-stub.js';
import { startGrantline, type GrantlineProcess } from '../grantline.js';
import { countRecords, follow, bytesOf, prefixTopics, topicEnds, watchDecisions, type DecisionWatch, type TopicCount } from '../kafka.js';
import { avg, latencyCdf, log, round3, runLoad, sleep, summarize, waitFor, type LatencySummary } from '../lib.js';
import { RequestTally, type StageCounts } from '../source-requests.js';
import { postDelivery, seedGranted } from '../tickets.js';
import { CONCURRENCY, FETCH_CONCURRENCY, settle, type BenchContext } from './context.js';
import { stateMemory, type StateMemory } from './state-memory.js';

export const WARMUP = 300;
const BURST_TICKETS = 1000;
const BURST_UPDATES = 5;
/** Offered rates of the open-loop runs below capacity (webhooks/s). */
export const OPEN_LOOP_RATES = [50, 200] as const;

export interface LoadRun {
  offered: string;
  ratePerSec: number | null;
  events: number;
  accepted: number;
  refused: number;
  granted: number;
  complete: boolean;
  durationMs: number;
  perSec: number;
  /** Webhook (sent, or due in an open loop) → grant seen by a read_committed consumer. */
  latency: LatencySummary;
  /** The same at every quantile of `CDF_QUANTILES` (lib.ts), for the charts. */
  latencyCdf: number[];
  webhookLatency: LatencySummary;
  /**
   * The latency split at the grant record's timestamp (grantline's producer clock, ms): webhook →
   * record sent, and record sent → seen (the transaction's commit and the benchmark's consumer).
   */
  latencySplit: { toRecord: LatencySummary; recordToSeen: LatencySummary };
  generatorLate: number;
}

export interface E2eResults {
  messageBytes: { grant: number; ticketEvent: number; custody: number; ticketState: number };
  saturation: LoadRun;
  openLoop: LoadRun[];
  sourceRequests: { saturation: StageCounts; bursts: StageCounts };
  kafkaRecords: { perTopic: Record<string, TopicCount & { perTicket: number }>; perTicket: number; bytesPerTicket: number };
  cpu: { cpuMs: number; wallMs: number; perTicketMs: number; busyShare: number; window: string } | null;
  burst: { tickets: number; updatesPerTicket: number; events: number; accepted: number; fetchesPerEvent: number; sourceRequestsPerEvent: number };
  memory: StateMemory & {
    peakRssBytes: number | null;
    rssBeforeE2eBytes: number | null;
    rssAfterE2eBytes: number | null;
    rssGrowthPerGrantedTicketBytes: number | null;
    liveHeapBeforeE2eBytes: number | null;
    liveHeapAfterE2eBytes: number | null;
    liveHeapGrowthPerTicketBytes: number | null;
    rssSamples: { tMs: number; granted: number; rssBytes: number }[];
  };
  /** The saturation run's tickets, for the baselines (same stub, same issues). */
  issues: StubIssue[];
}

/** Posts one delivery per ticket (closed loop, or open loop at `ratePerSec`) and waits for every grant. */
async function loadRun(ctx: BenchContext, gl: GrantlineProcess, watch: DecisionWatch, issues: StubIssue[], ratePerSec: number | null): Promise<LoadRun> {
  const sentAt = new Map<string, number>();
  const accepted = new Set<string>();
  const budget = Math.max(120_000, issues.length * 20);
  const load = await runLoad({
    count: issues.length,
    concurrency: ratePerSec === null ? CONCURRENCY : 256,
    ...(ratePerSec === null ? {} : { ratePerSec }),
    maxMs: budget,
    onStart: (i, at) => sentAt.set((issues[i] as StubIssue).key, at),
    send: async (i) => {
      const t = issues[i] as StubIssue;
      const ok = await postDelivery(ctx.agent, gl.url, t);
      if (ok) accepted.add(t.key);
      return ok;
    },
  });
  // A refused webhook (503: Kafka did not take it in time) is counted as refused; its ticket is not waited for.
  const granted = await waitFor(() => [...accepted].every((k) => watch.granted.has(k)), budget, `${ratePerSec ?? 'saturation'} grants`);
  const complete = granted && load.failed === 0;
  const latencies: number[] = [];
  const toRecord: number[] = [];
  const recordToSeen: number[] = [];
  let first = Infinity;
  let last = 0;
  for (const t of issues) {
    const s = sentAt.get(t.key);
    const g = watch.granted.get(t.key);
    if (s === undefined || g === undefined) continue;
    latencies.push(g - s);
    const r = watch.grantRecordAt.get(t.key);
    if (r !== undefined) {
      toRecord.push(r - s);
      recordToSeen.push(g - r);
    }
    first = Math.min(first, s);
    last = Math.max(last, g);
  }
  return {
    offered: ratePerSec === null ? `saturation (${CONCURRENCY} webhook requests in flight)` : `${ratePerSec} webhooks/s, open loop`,
    ratePerSec,
    events: issues.length,
    accepted: load.ok,
    refused: load.failed,
    granted: latencies.length,
    complete,
    durationMs: Math.round(last - first),
    perSec: Math.round((latencies.length * 1000) / (last - first)),
    latency: summarize(latencies),
    latencyCdf: latencyCdf(latencies),
    webhookLatency: summarize(load.latenciesMs),
    latencySplit: { toRecord: summarize(toRecord), recordToSeen: summarize(recordToSeen) },
    generatorLate: load.late,
  };
}

export async function e2eScenario(ctx: BenchContext, opts: { tickets: number; rateSeconds: number; profileDir?: string; onlySaturation?: boolean }): Promise<E2eResults | null> {
  const N = opts.tickets;
  const prefix = `bench-${ctx.runId}-e2e.`;
  log('starting grantline (all roles) in a child process');
  ctx.stubs.jira.state.commentsTouchUpdated = true;
  const gl = await startGrantline({
    brokers: ctx.brokers,
    prefix,
    stubs: ctx.stubs,
    role: 'all',
    instanceId: `bench-${ctx.runId}`,
    pipeline: { fetchConcurrency: FETCH_CONCURRENCY },
    ...(opts.profileDir ? { cpuProfDir: opts.profileDir } : {}),
  });
  const tally = new RequestTally(ctx.stubs.jira.requests, (ref) => ctx.stubs.jira.state.issue(ref)?.id);
  const pump = setInterval(() => tally.pump(), 100);
  const rssSamples: { tMs: number; granted: number; rssBytes: number }[] = [];
  const watch = await watchDecisions(ctx.kafka, prefix);
  const eventSizes: number[] = [];
  const eventsFollow = await follow(ctx.kafka, `${prefix}grantline.ticket-events.v1`, (m) => {
    if (eventSizes.length < 1000) eventSizes.push(bytesOf(m));
  });
  const sampler = setInterval(() => {
    const mem = gl.memory();
    if (mem) rssSamples.push({ tMs: Math.round(performance.now() - ctx.t0), granted: watch.granted.size, rssBytes: mem.rssBytes });
  }, 250);
  const idsOf = (issues: StubIssue[]): Set<string> => new Set(issues.map((t) => t.id));
  const allNoted = (issues: StubIssue[]) => () => issues.every((t) => tally.hasNote(t.id));

  log(`warm-up: ${WARMUP} tickets`);
  const warm = seedGranted(ctx.stubs, WARMUP);
  await loadRun(ctx, gl, watch, warm, null);
  const ends0 = await settle(ctx, prefix, allNoted(warm), 120_000);
  if (ends0 === null) log('warm-up did not settle; the record counts include its tail');
  tally.take(idsOf(warm), true);

  log(`end to end at saturation: ${N} tickets`);
  const issues = seedGranted(ctx.stubs, N);
  const rssBefore = gl.memory();
  const liveHeapBefore = await gl.liveHeap();
  const from = ends0 ?? (await topicEnds(ctx.kafka, await prefixTopics(ctx.kafka, prefix)));
  const cpu0 = gl.cpuMs();
  const wall0 = performance.now();
  const saturation = await loadRun(ctx, gl, watch, issues, null);
  const rssAfter = gl.memory();
  // The RSS slope ends here: the live-heap probe below runs a full GC, which would bend it.
  const e2eEndMs = Math.round(performance.now() - ctx.t0);
  const to = await settle(ctx, prefix, allNoted(issues), Math.max(120_000, N * 20));
  const cpu1 = gl.cpuMs();
  const wall1 = performance.now();
  const saturationRequests = tally.take(idsOf(issues), true);
  log(`e2e: ${saturation.perSec}/s, p50 ${saturation.latency.p50Ms} ms, p99 ${saturation.latency.p99Ms} ms; ${saturationRequests.totalPerTicket} source requests per ticket`);
  const cpu = cpu0 !== null && cpu1 !== null && to !== null
    ? { cpuMs: Math.round(cpu1 - cpu0), wallMs: Math.round(wall1 - wall0), perTicketMs: round3((cpu1 - cpu0) / N), busyShare: round3((cpu1 - cpu0) / (wall1 - wall0)), window: 'first webhook to settled (every note written, then 1 s without a new record on any grantline topic)' }
    : null;
  if (cpu) log(`grantline CPU: ${cpu.perTicketMs} ms per ticket (${cpu.cpuMs} ms over ${cpu.wallMs} ms)`);

  log('counting the records the run wrote on every grantline topic');
  const records = await countRecords(ctx.kafka, from, to ?? (await topicEnds(ctx.kafka, await prefixTopics(ctx.kafka, prefix))));
  const perTopic = Object.fromEntries(Object.entries(records).map(([t, c]) => [t.slice(prefix.length), { ...c, perTicket: round3(c.records / N) }]));
  const totalRecords = Object.values(records).reduce((a, c) => a + c.records, 0);
  const totalBytes = Object.values(records).reduce((a, c) => a + c.bytes, 0);
  const kafkaRecords = { perTopic, perTicket: round3(totalRecords / N), bytesPerTicket: Math.round(totalBytes / N) };
  log(`Kafka: ${kafkaRecords.perTicket} records per ticket (${kafkaRecords.bytesPerTicket} B)`);
  const sizeOf = (topic: string): number => {
    const c = perTopic[topic];
    return c && c.records > 0 ? Math.round(c.bytes / c.records) : 0;
  };
  const messageBytes = { grant: avg(watch.grantBytes), ticketEvent: avg(eventSizes), custody: sizeOf('access.custody.v1'), ticketState: sizeOf('grantline.ticket-state.v1') };

  await sleep(2000);
  const liveHeapAfter = await gl.liveHeap();

  const stopAll = async (): Promise<void> => {
    clearInterval(sampler);
    clearInterval(pump);
    await eventsFollow.stop();
    await watch.stop();
    const code = await gl.stop();
    if (code !== 0) log(`grantline exited with ${code}; log: ${gl.logFile}`);
  };
  if (opts.onlySaturation) {
    await stopAll();
    log(`peak RSS ${rssAfter?.peakRssBytes ?? 'n/a'} B`);
    return null;
  }

  const openLoop: LoadRun[] = [];
  for (const rate of OPEN_LOOP_RATES) {
    log(`end to end at ${rate}/s for ${opts.rateSeconds} s (open loop)`);
    const run = await loadRun(ctx, gl, watch, seedGranted(ctx.stubs, rate * opts.rateSeconds), rate);
    openLoop.push(run);
    log(`${rate}/s: p50 ${run.latency.p50Ms} ms, p99 ${run.latency.p99Ms} ms`);
  }
  tally.take(new Set(), true);

  log(`bursts: ${BURST_TICKETS} tickets x ${BURST_UPDATES} updates in a row`);
  const burstIssues = seedGranted(ctx.stubs, BURST_TICKETS);
  let burstAccepted = 0;
  const burstTaken = new Set<StubIssue>();
  await runLoad({
    count: BURST_TICKETS,
    concurrency: CONCURRENCY,
    maxMs: 120_000,
    send: async (i) => {
      const t = burstIssues[i] as StubIssue;
      for (let u = 0; u < BURST_UPDATES; u += 1) {
        if (await postDelivery(ctx.agent, gl.url, t)) {
          burstAccepted += 1;
          burstTaken.add(t);
        }
      }
      return true;
    },
  });
  await waitFor(() => [...burstTaken].every((t) => watch.granted.has(t.key)), 120_000, 'burst grants');
  await settle(ctx, prefix, allNoted([...burstTaken]), 120_000);
  const burstRequests = tally.take(idsOf(burstIssues), false);
  const burstEvents = BURST_TICKETS * BURST_UPDATES;
  const burst = {
    tickets: BURST_TICKETS,
    updatesPerTicket: BURST_UPDATES,
    events: burstEvents,
    accepted: burstAccepted,
    // Per accepted delivery: a refused one (503) never reached the processor.
    fetchesPerEvent: round3(burstRequests.issueReads / Math.max(1, burstAccepted)),
    sourceRequestsPerEvent: round3((burstRequests.totalPerTicket * BURST_TICKETS) / Math.max(1, burstAccepted)),
  };
  log(`bursts: ${burst.fetchesPerEvent} fetches/event, ${burst.sourceRequestsPerEvent} source requests/event`);
  const peak = gl.memory();
  await stopAll();

  const states = await stateMemory(ctx.kafka, `${prefix}grantline.ticket-state.v1`);
  // RSS slope over the end-to-end run: from a fifth of the way in (heap sized, JIT warm) to the end.
  const during = rssSamples.filter((s) => s.granted >= WARMUP && s.tMs <= e2eEndMs);
  const first = during.find((s) => s.granted >= WARMUP + N / 5);
  const lastSample = [...during].reverse().find((s) => s.granted <= WARMUP + N);
  const rssGrowth = first && lastSample && lastSample.granted > first.granted ? Math.round((lastSample.rssBytes - first.rssBytes) / (lastSample.granted - first.granted)) : null;
  return {
    messageBytes,
    saturation,
    openLoop,
    sourceRequests: { saturation: saturationRequests, bursts: burstRequests },
    kafkaRecords,
    cpu,
    burst,
    memory: {
      ...states,
      peakRssBytes: peak?.peakRssBytes ?? null,
      rssBeforeE2eBytes: rssBefore?.rssBytes ?? null,
      rssAfterE2eBytes: rssAfter?.rssBytes ?? null,
      rssGrowthPerGrantedTicketBytes: rssGrowth,
      liveHeapBeforeE2eBytes: liveHeapBefore,
      liveHeapAfterE2eBytes: liveHeapAfter,
      liveHeapGrowthPerTicketBytes: liveHeapBefore !== null && liveHeapAfter !== null ? Math.round((liveHeapAfter - liveHeapBefore) / N) : null,
      rssSamples,
    },
    issues,
  };
}
