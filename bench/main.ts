/**
 * grantline benchmark (issues 8, 15, 16), in one run on one broker and one pair of stubs. Started
 * by `bench/run.sh`, which provides the broker (KAFKA_BROKERS) and runs this under `node --expose-gc`.
 * What each scenario measures and how: bench/README.md.
 *
 *   --tickets N          tickets of the end-to-end saturation run and of the baselines (default 10000)
 *   --name NAME          results file bench/results/NAME.json (default e2e-<N>, or history-<N>)
 *   --rate-seconds S     length of each open-loop run below capacity (default 20)
 *   --requests-tickets T tickets of the source-requests run with echoes (default 300)
 *   --history N          instead: the history bench (N tickets, 90% cancelled and revoked), against 1,000
 *   --profile DIR        run grantline with --cpu-prof, profiles in DIR
 *   --e2e-only           stop after the saturation run, write no results (for profiling)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startStubs } from '../dev/harness.js';
import { benchKafka } from './kafka.js';
import { log, machine, round1, round3, ROOT, thin } from './lib.js';
import { chartsFor } from './report/charts.js';
import { resultsReadme } from './report/markdown.js';
import { e2eTargets, historyTargets } from './report/targets.js';
import type { E2eReport, HistoryReport } from './report/types.js';
import { baselinesScenario } from './scenarios/baselines.js';
import { CONCURRENCY, FETCH_CONCURRENCY, type BenchContext } from './scenarios/context.js';
import { e2eScenario, OPEN_LOOP_RATES, WARMUP } from './scenarios/e2e.js';
import { historyScenario } from './scenarios/history.js';
import { INGRESS_FIXED_RATE, INGRESS_FIXED_SECONDS, ingressScenario } from './scenarios/ingress.js';
import { requestsScenario } from './scenarios/requests.js';

const { values: args } = parseArgs({
  options: {
    tickets: { type: 'string', default: '10000' },
    name: { type: 'string' },
    'rate-seconds': { type: 'string', default: '20' },
    'requests-tickets': { type: 'string', default: '300' },
    history: { type: 'string' },
    profile: { type: 'string' },
    'e2e-only': { type: 'boolean', default: false },
  },
  strict: true,
});

function whole(flag: string, value: string | undefined, min: number, max: number): number {
  const v = Number(value);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${flag} must be a whole number from ${min} to ${max}`);
  return v;
}
const N = whole('tickets', args.tickets, 100, 1_000_000);
const RATE_SECONDS = whole('rate-seconds', args['rate-seconds'], 1, 600);
const REQUESTS_TICKETS = whole('requests-tickets', args['requests-tickets'], 10, 100_000);
const HISTORY = args.history === undefined ? null : whole('history', args.history, 100, 1_000_000);
const short = (k: number): string => (k >= 1000 && k % 1000 === 0 ? `${k / 1000}k` : String(k));
const NAME = args.name ?? (HISTORY === null ? `e2e-${short(N)}` : `history-${short(HISTORY)}`);
const BROKERS = process.env.KAFKA_BROKERS;
if (!BROKERS) throw new Error('KAFKA_BROKERS is not set (bench/run.sh starts a broker and sets it)');
const OUT = join(ROOT, 'bench/results');

function write(report: E2eReport | HistoryReport): void {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, `${report.name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  const charts = chartsFor(report);
  for (const [file, svg] of Object.entries(charts)) writeFileSync(join(OUT, file), svg);
  writeFileSync(join(OUT, 'README.md'), resultsReadme(OUT));
  log(`wrote bench/results/${report.name}.json, ${Object.keys(charts).join(', ')} and bench/results/README.md`);
  for (const t of report.targets) log(`${t.met ? 'MET   ' : 'MISSED'} ${t.target}: ${t.value}`);
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const m = machine() as unknown as E2eReport['machine'];
  const stubs = await startStubs();
  const ctx: BenchContext = {
    brokers: BROKERS as string,
    kafka: benchKafka(BROKERS as string, 'grantline-bench'),
    stubs,
    agent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 }),
    runId: Date.now().toString(36),
    t0,
  };
  const finish = (): { durationS: number; machine: E2eReport['machine'] } => ({ durationS: Math.round((performance.now() - t0) / 1000), machine: { ...m, loadAverageAtEnd: loadavg().map(round1) } });
  try {
    if (HISTORY !== null) {
      log(`run ${ctx.runId}: history of ${HISTORY} tickets (and of 1,000), broker ${BROKERS}`);
      const history = await historyScenario(ctx, HISTORY);
      const report: Omit<HistoryReport, 'targets'> = { kind: 'history', name: NAME, startedAt, tickets: HISTORY, ...finish(), history };
      write({ ...report, targets: historyTargets(report) });
      return;
    }
    log(`run ${ctx.runId}: ${N} tickets, broker ${BROKERS}`);
    const e2e = await e2eScenario(ctx, { tickets: N, rateSeconds: RATE_SECONDS, onlySaturation: args['e2e-only'], ...(args.profile ? { profileDir: args.profile } : {}) });
    if (e2e === null) return;
    const withEchoes = await requestsScenario(ctx, { tickets: REQUESTS_TICKETS, ratePerSec: OPEN_LOOP_RATES[0] });
    const ingress = await ingressScenario(ctx, e2e.issues, Math.min(N, 20_000));
    ctx.stubs.jira.requests.splice(0);
    const baselines = await baselinesScenario(ctx, { count: N, singles: Math.min(N, 20_000), issues: e2e.issues, bytes: e2e.messageBytes });
    const ratio = (a: number, b: number): number => round3(a / b);
    const sat = e2e.saturation;
    const report: Omit<E2eReport, 'targets'> = {
      kind: 'e2e',
      name: NAME,
      startedAt,
      tickets: N,
      ...finish(),
      load: {
        warmup: WARMUP,
        concurrency: CONCURRENCY,
        fetchConcurrency: FETCH_CONCURRENCY,
        openLoopRates: OPEN_LOOP_RATES,
        openLoopSeconds: RATE_SECONDS,
        ingressFixedRate: INGRESS_FIXED_RATE,
        ingressFixedSeconds: INGRESS_FIXED_SECONDS,
        burst: { tickets: e2e.burst.tickets, updates: e2e.burst.updatesPerTicket },
      },
      messageBytes: e2e.messageBytes,
      baselines,
      ingress,
      e2e: { saturation: sat, openLoop: e2e.openLoop },
      sourceRequests: { saturation: e2e.sourceRequests.saturation, bursts: e2e.sourceRequests.bursts, withEchoes },
      kafkaRecords: e2e.kafkaRecords,
      cpu: e2e.cpu,
      burst: e2e.burst,
      ratios: {
        ingressVsRawProduceSingles: ratio(ingress.saturation.perSec, baselines.rawProduceEventsSingles.perSec),
        e2eVsMinimalIo: ratio(sat.perSec, baselines.minimalIoLoop.perSec),
        e2eVsIoEquivalentLoop: ratio(sat.perSec, baselines.consumeGetProduceLoop.perSec),
        e2eVsPlainLoop: ratio(sat.perSec, baselines.consumeProduceLoop.perSec),
        e2eVsRawProduce: ratio(sat.perSec, baselines.rawProduceGrants.perSec),
      },
      memory: { ...e2e.memory, rssSamples: thin(e2e.memory.rssSamples, 300) },
    };
    write({ ...report, targets: e2eTargets(report) });
  } finally {
    ctx.agent.destroy();
    await stubs.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
