/**
 * The charts written beside each results file: latency distribution per load level, RSS and live
 * heap against tickets processed, source requests per ticket by stage, and (history) start-up.
 * Each returns SVG text; `chartsFor` names the files.
 */
import { CDF_QUANTILES } from '../lib.js';
import type { E2eReport, HistoryReport } from './types.js';
import { barChart, lineChart, PALETTE, type Series } from './svg.js';
import { STAGES } from '../source-requests.js';

const MB = 1048576;

export function latencyChart(r: E2eReport): string {
  const levels = [...r.e2e.openLoop, r.e2e.saturation].filter((l) => l.latencyCdf.length > 0);
  const series: Series[] = levels.map((l) => ({
    name: `${l.ratePerSec === null ? 'saturation' : `${l.ratePerSec}/s`}: p50 ${l.latency.p50Ms} ms, p99 ${l.latency.p99Ms} ms`,
    points: l.latencyCdf.map((ms, i) => [Math.max(ms, 0.1), (CDF_QUANTILES[i] as number) * 100] as const),
  }));
  return lineChart({
    title: `${r.name}: webhook → grant latency, per load level`,
    xLabel: 'latency (ms, log scale)',
    yLabel: 'tickets granted within (%)',
    xLog: true,
    series,
    vLines: [
      { x: 100, label: 'target p99 at 50/s' },
      { x: 250, label: 'target p99 at 200/s' },
    ],
  });
}

export function e2eMemoryChart(r: E2eReport): string {
  const m = r.memory;
  const series: Series[] = [{ name: 'RSS of grantline (MB)', points: m.rssSamples.map((s) => [s.granted, s.rssBytes / MB] as const) }];
  // The live heap is probed before the saturation run (after the warm-up) and once it settled.
  const heap: (readonly [number, number])[] = [];
  if (m.liveHeapBeforeE2eBytes !== null) heap.push([r.load.warmup, m.liveHeapBeforeE2eBytes / MB]);
  if (m.liveHeapAfterE2eBytes !== null) heap.push([r.load.warmup + r.e2e.saturation.granted, m.liveHeapAfterE2eBytes / MB]);
  if (heap.length > 0) series.push({ name: 'live heap after full GC (MB)', points: heap, markers: true });
  return lineChart({ title: `${r.name}: grantline memory against tickets granted`, xLabel: 'tickets granted over the run (warm-up, saturation, open loop, bursts)', yLabel: 'MB', series });
}

export function requestsChart(r: E2eReport): string {
  const rows = [
    { label: 'with echoes (note → poll, webhook)', stages: r.sourceRequests.withEchoes?.stages },
    { label: `saturation run (${r.e2e.saturation.events} tickets)`, stages: r.sourceRequests.saturation },
    { label: `bursts (${r.burst.updatesPerTicket} updates per ticket)`, stages: r.sourceRequests.bursts },
  ].filter((row) => row.stages !== undefined);
  return barChart({
    title: `${r.name}: source requests per granted ticket, by stage`,
    xLabel: 'requests to Jira per ticket',
    rows: rows.map((row) => ({ label: row.label, parts: STAGES.map((s) => ({ name: s, value: row.stages?.perTicket[s] ?? 0 })) })),
    target: { value: 3, label: 'target ≤ 3' },
  });
}

export function historyMemoryChart(r: HistoryReport): string {
  const series: Series[] = [];
  for (const [k, run] of [r.history.large, r.history.small].entries()) {
    const label = `${run.tickets} tickets`;
    const color = PALETTE[k] as string;
    series.push({ name: `RSS, ${label} (MB)`, color, points: run.samples.filter((s) => s.rssBytes !== null).map((s) => [s.tickets, (s.rssBytes as number) / MB] as const) });
    series.push({
      name: `live heap after full GC, ${label} (MB)`,
      color,
      points: run.samples.filter((s) => s.liveHeapBytes !== null).map((s) => [s.tickets, (s.liveHeapBytes as number) / MB] as const),
      markers: true,
      dashed: true,
    });
  }
  // What the bytes-per-active-grant figure compares: a new process on each history.
  const restarted = [r.history.small, r.history.large].filter((run) => run.restart.liveHeapBytes !== null);
  series.push({
    name: 'live heap after full GC, new process on the history (MB)',
    color: PALETTE[2] as string,
    points: restarted.map((run) => [run.tickets, (run.restart.liveHeapBytes as number) / MB] as const),
    markers: true,
  });
  return lineChart({ title: `${r.name}: memory against tickets processed (90% cancelled and revoked)`, xLabel: 'tickets processed', yLabel: 'MB', series });
}

export function startupChart(r: HistoryReport): string {
  const rows = [r.history.small, r.history.large].flatMap((run) => [
    { label: `${run.tickets} tickets: to /readyz`, parts: [{ name: 'to /readyz 200', value: run.restart.readyAfterMs / 1000 }] },
    { label: `${run.tickets} tickets: to first grant`, parts: [{ name: 'to the first grant', value: (run.restart.firstGrantAfterMs ?? 0) / 1000 }] },
  ]);
  const small = r.history.small.restart.firstGrantAfterMs;
  return barChart({
    title: `${r.name}: start-up of grantline serve on a history`,
    xLabel: 'seconds from spawning the process',
    rows,
    ...(small === null ? {} : { target: { value: (2 * small) / 1000, label: `goal: ≤ 2 × first grant with ${r.history.small.tickets}` } }),
  });
}

/** Chart files for one results object, by file name (beside `<name>.json`). */
export function chartsFor(r: E2eReport | HistoryReport): Record<string, string> {
  if (r.kind === 'history') return { [`${r.name}-memory.svg`]: historyMemoryChart(r), [`${r.name}-startup.svg`]: startupChart(r) };
  return { [`${r.name}-latency.svg`]: latencyChart(r), [`${r.name}-memory.svg`]: e2eMemoryChart(r), [`${r.name}-requests.svg`]: requestsChart(r) };
}
