/**
 * Shared pieces of the benchmark: latency statistics, a bounded loopback load generator, waiting,
 * logging and the machine description. Nothing here is used by grantline itself.
 */
import { readFileSync } from 'node:fs';
import { request, type Agent } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Nearest-rank percentiles over latencies in milliseconds. */
export function summarize(latenciesMs: readonly number[]): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const n = sorted.length;
  const rank = (p: number): number => (n === 0 ? NaN : (sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))] as number));
  const round = (v: number): number => Math.round(v * 100) / 100;
  return {
    count: n,
    p50Ms: round(rank(50)),
    p99Ms: round(rank(99)),
    maxMs: round(n === 0 ? NaN : (sorted[n - 1] as number)),
    meanMs: round(n === 0 ? NaN : sorted.reduce((a, b) => a + b, 0) / n),
  };
}

export const round1 = (v: number): number => Math.round(v * 10) / 10;
export const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** The quantiles a latency distribution is kept at for the charts: every percent, then the tail. */
export const CDF_QUANTILES: readonly number[] = [...Array.from({ length: 100 }, (_, i) => i / 100), 0.995, 0.999, 1];

/** Latency (ms) at each of `CDF_QUANTILES`, nearest rank; empty when there are no samples. */
export function latencyCdf(latenciesMs: readonly number[]): number[] {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return [];
  return CDF_QUANTILES.map((q) => Math.round((sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] as number) * 100) / 100);
}

export function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** Polls `cond` every 50 ms until it holds or `timeoutMs` passes; false (and a log line) on timeout. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await sleep(50);
  }
  log(`timed out after ${timeoutMs} ms waiting for ${what}`);
  return false;
}

/** At most `max` evenly spaced elements of `xs` (for samples kept in the results). */
export function thin<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return [...xs];
  const step = xs.length / max;
  return Array.from({ length: max }, (_, i) => xs[Math.floor(i * step)] as T);
}

export function mb(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined || Number.isNaN(bytes) ? 'n/a' : (bytes / 1048576).toFixed(1);
}

export const avg = (xs: readonly number[]): number => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

/** One keep-alive HTTP request on loopback; resolves with the status once the body is read. */
export function httpCall(agent: Agent, url: string, method: 'GET' | 'POST', body?: Buffer | string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const req = request(url, { method, agent, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolveStatus(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.end(body);
  });
}

export interface LoadResult {
  /** Requests started. */
  sent: number;
  /** Requests answered with the expected status. */
  ok: number;
  failed: number;
  durationMs: number;
  /** Per request, from its scheduled start (fixed rate) or its start (closed loop) to the answer. */
  latenciesMs: number[];
  /** Requests a fixed-rate run could not start on time because `maxOutstanding` were in flight. */
  late: number;
}

export interface LoadOptions {
  count: number;
  /** Offered rate in requests/s; absent = saturation (closed loop with `concurrency` workers). */
  ratePerSec?: number;
  concurrency: number;
  /** Hard stop: no request starts after this many ms. */
  maxMs: number;
  /** Sends request `i`; resolves true when the answer was the expected one. */
  send: (i: number) => Promise<boolean>;
  /** Called with request `i`'s start time (ms, `performance.now()` clock) before it is sent. */
  onStart?: (i: number, atMs: number) => void;
}

/**
 * A bounded load generator: at most `count` requests and `maxMs` of time. With `ratePerSec` it is
 * open loop (request i is due at i/rate; latency counts from when it was due, so a slow server is
 * not hidden by a generator that waits for it), else closed loop with `concurrency` workers.
 */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let sent = 0;
  let late = 0;
  const t0 = performance.now();
  const one = async (i: number, dueMs: number): Promise<void> => {
    opts.onStart?.(i, dueMs);
    try {
      if (await opts.send(i)) ok += 1;
      else failed += 1;
    } catch {
      failed += 1;
    }
    latencies.push(performance.now() - dueMs);
  };
  if (opts.ratePerSec === undefined) {
    let next = 0;
    const workers = Array.from({ length: opts.concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= opts.count || performance.now() - t0 > opts.maxMs) return;
        sent += 1;
        await one(i, performance.now());
      }
    });
    await Promise.all(workers);
  } else {
    const rate = opts.ratePerSec;
    const inflight = new Set<Promise<void>>();
    let i = 0;
    while (i < opts.count && performance.now() - t0 <= opts.maxMs) {
      const now = performance.now();
      while (i < opts.count && t0 + (i * 1000) / rate <= now) {
        const due = t0 + (i * 1000) / rate;
        if (inflight.size >= opts.concurrency) {
          late += 1;
          await Promise.race(inflight);
          continue;
        }
        sent += 1;
        const p: Promise<void> = one(i, due).finally(() => inflight.delete(p));
        inflight.add(p);
        i += 1;
      }
      await sleep(1);
    }
    await Promise.all(inflight);
  }
  return { sent, ok, failed, durationMs: performance.now() - t0, latenciesMs: latencies, late };
}

/** Machine description for the results (the load average says how shared the machine was). */
export function machine(): Record<string, unknown> {
  let cpuModel = 'unknown';
  let memTotalBytes = NaN;
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
    memTotalBytes = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? NaN) * 1024;
  } catch {
    // not Linux: leave unknown
  }
  return { cpuModel, memTotalBytes, nproc: availableParallelism(), loadAverageAtStart: loadavg().map(round1), node: process.version, platform: `${process.platform} ${process.arch}` };
}
