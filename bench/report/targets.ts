/**
 * The targets of issues 8, 15 and 16, checked against one run's figures. Reported as met or not,
 * never asserted anywhere: a missed target is a finding, not a failed benchmark.
 */
import type { E2eReport, HistoryReport, Target } from './types.js';

const under = (target: string, value: number | null | undefined, limit: number, orEqual = true): Target => ({
  target,
  value: value ?? null,
  met: value !== null && value !== undefined && Number.isFinite(value) && (orEqual ? value <= limit : value < limit),
});
const atLeast = (target: string, value: number | null | undefined, limit: number): Target => ({
  target,
  value: value ?? null,
  met: value !== null && value !== undefined && Number.isFinite(value) && value >= limit,
});

export function e2eTargets(r: Omit<E2eReport, 'targets'>): Target[] {
  const echoes = r.sourceRequests.withEchoes?.stages;
  const open = (rate: number) => r.e2e.openLoop.find((l) => l.ratePerSec === rate);
  const p99At = (rate: number, limitMs: number): Target => {
    const run = open(rate);
    const t = under(`p99 webhook → grant < ${limitMs} ms at ${rate} webhooks/s (open loop)`, run?.latency.p99Ms, limitMs, false);
    return { ...t, met: t.met && run?.complete === true };
  };
  const stateBytes = r.memory.heapBytesPerTicketState ?? r.memory.jsonBytesPerTicketState;
  return [
    under('source requests per granted ticket, all kinds, echoes included <= 3 (issue 16)', echoes?.totalPerTicket, 3),
    under("source requests caused by grantline's own note (echo) per ticket = 0 (issue 16)", echoes?.perTicket.echo, 0),
    under('Kafka records per granted ticket <= 4 (issue 16)', r.kafkaRecords.perTicket, 4),
    under('grantline CPU per granted ticket <= 1.5 ms (issue 16)', r.cpu?.perTicketMs, 1.5),
    atLeast('e2e throughput >= 0.5 of the minimal-I/O baseline (issue 16)', r.ratios.e2eVsMinimalIo, 0.5),
    p99At(50, 100),
    p99At(200, 250),
    atLeast('ingress at saturation >= 0.9 of raw single-message produce', r.ratios.ingressVsRawProduceSingles, 0.9),
    atLeast('e2e throughput >= 0.5 of the one-GET I/O-equivalent baseline (issue 8)', r.ratios.e2eVsIoEquivalentLoop, 0.5),
    under('source fetches per event < 1 in bursts (issue 8)', r.burst.fetchesPerEvent, 1, false),
    under('RSS growth per ticket <= 2 x heap bytes per ticket state (issue 8: RSS flat beyond the decision state)', r.memory.rssGrowthPerGrantedTicketBytes, 2 * stateBytes),
  ];
}

export function historyTargets(r: Omit<HistoryReport, 'targets'>): Target[] {
  const { large, small } = r.history;
  return [
    under(`live heap per active grant < 500 B, history of ${large.tickets} vs ${small.tickets} tickets (issue 15)`, r.history.bytesPerActiveGrant, 500, false),
    under(`start-up to the first grant with ${large.tickets} tickets of history <= 2 x with ${small.tickets} (issue 15)`, r.history.startupRatio.firstGrant, 2),
  ];
}
