/** Ingress alone (grantline with only the ingress role): a fixed rate, then saturation. */
import type { StubIssue } from '../../dev/stubs/jira-stub.js';
import { startGrantline } from '../grantline.js';
import { log, runLoad, summarize, type LatencySummary } from '../lib.js';
import { postDelivery } from '../tickets.js';
import { CONCURRENCY, type BenchContext } from './context.js';

export const INGRESS_FIXED_RATE = 500;
export const INGRESS_FIXED_SECONDS = 10;

export interface IngressRun {
  offered: string;
  sent: number;
  accepted: number;
  refused: number;
  durationMs: number;
  perSec: number;
  latency: LatencySummary;
  generatorLate: number;
}

export async function ingressScenario(ctx: BenchContext, issues: StubIssue[], saturationCount: number): Promise<{ fixedRate: IngressRun; saturation: IngressRun }> {
  const prefix = `bench-${ctx.runId}-ingress.`;
  log('starting grantline (ingress role only)');
  const ing = await startGrantline({ brokers: ctx.brokers, prefix, stubs: ctx.stubs, role: 'ingress', instanceId: `bench-${ctx.runId}-i` });
  const run = async (count: number, ratePerSec?: number): Promise<IngressRun> => {
    const r = await runLoad({
      count,
      concurrency: ratePerSec === undefined ? CONCURRENCY : 256,
      ...(ratePerSec === undefined ? {} : { ratePerSec }),
      maxMs: 90_000,
      send: (i) => postDelivery(ctx.agent, ing.url, issues[i % issues.length] as StubIssue),
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
  try {
    await run(500); // warm-up
    const fixedRate = await run(INGRESS_FIXED_RATE * INGRESS_FIXED_SECONDS, INGRESS_FIXED_RATE);
    const saturation = await run(saturationCount);
    log(`ingress: ${saturation.perSec}/s at saturation (p99 ${saturation.latency.p99Ms} ms); at ${INGRESS_FIXED_RATE}/s p99 ${fixedRate.latency.p99Ms} ms`);
    return { fixedRate, saturation };
  } finally {
    await ing.stop();
  }
}
