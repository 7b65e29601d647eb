/**
 * Shared pieces of the benchmark: latency statistics, a bounded loopback load generator, a
 * grantline child process (so its RSS is its own) and a few Kafka helpers. Nothing here is used by
 * grantline itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { Stubs } from '../dev/harness.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLES = join(ROOT, 'examples');

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

export interface GrantlineProcess {
  readonly pid: number;
  readonly url: string;
  readonly logFile: string;
  /** Live heap bytes after a full GC in grantline (bench/heap-probe.mjs), or null if it did not answer. */
  liveHeap(): Promise<number | null>;
  /** Peak and current RSS in bytes, read from /proc (Linux). */
  memory(): { rssBytes: number; peakRssBytes: number } | null;
  stop(): Promise<number | null>;
}

/**
 * Writes a config for grantline (the example config pointed at the stubs, the broker and a topic
 * prefix) and starts `grantline serve` in a child process, waiting for `/readyz`.
 */
export async function startGrantline(options: {
  brokers: string;
  prefix: string;
  stubs: Stubs;
  role: 'all' | 'ingress' | 'processor' | 'lifecycle';
  instanceId: string;
  pipeline?: Record<string, unknown>;
  /** Directory for a V8 CPU profile (`--cpu-prof`), when profiling. */
  cpuProfDir?: string;
  nodeArgs?: string[];
}): Promise<GrantlineProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'grantline-bench-'));
  const tree = parseYaml(readFileSync(join(EXAMPLES, 'grantline.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  const port = await freePort();
  tree.kafka = { ...tree.kafka, brokers: options.brokers.split(','), topicPrefix: options.prefix };
  tree.http = { ...tree.http, port };
  tree.log = { level: 'warn' };
  tree.service = { ...tree.service, instanceId: options.instanceId, shutdownTimeoutMs: 20_000 };
  tree.catalog = { path: join(EXAMPLES, 'catalog.yaml') };
  tree.directory = { path: join(EXAMPLES, 'directory.yaml') };
  const signing = tree.signing as { keys: { privateKeyPem: string }[] };
  for (const key of signing.keys) key.privateKeyPem = key.privateKeyPem.replace('${file:', `\${file:${EXAMPLES}/`);
  tree.pipeline = { ...tree.pipeline, ...options.pipeline };
  for (const c of tree.connectors as unknown as Record<string, unknown>[]) {
    if (c.type === 'jira') c.baseUrl = options.stubs.jira.baseUrl;
    if (c.type === 'servicenow') c.instanceUrl = options.stubs.servicenow.baseUrl;
  }
  const configFile = join(dir, 'grantline.yaml');
  writeFileSync(configFile, stringifyYaml(tree));
  const logFile = join(dir, 'grantline.log');
  const log = createWriteStream(logFile);
  // The heap probe answers SIGUSR2 with the live heap after a full GC; the benchmark only.
  const heapFile = join(dir, 'heap.json');
  const nodeArgs = ['--expose-gc', '--import', join(ROOT, 'bench', 'heap-probe.mjs'), ...(options.nodeArgs ?? [])];
  if (options.cpuProfDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
  const env = { ...process.env, KAFKA_BROKERS: options.brokers, GRANTLINE_HEAP_PROBE_FILE: heapFile };
  // Plain node with tsx as a loader: one process, so /proc/<pid> is grantline's own memory.
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/cli/main.ts', 'serve', '--config', configFile, '--role', options.role], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  const agent = new Agent({ keepAlive: false });
  for (;;) {
    if (gone) throw new Error(`grantline exited during start; see ${logFile}`);
    const status = await httpCall(agent, `${url}/readyz`, 'GET').catch(() => 0);
    if (status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`grantline not ready within 120 s; see ${logFile}`);
    }
    await sleep(250);
  }
  const pid = child.pid as number;
  return {
    pid,
    url,
    logFile,
    memory: () => {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
        return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
      } catch {
        return null;
      }
    },
    liveHeap: async () => {
      let before = 0;
      try {
        before = (JSON.parse(readFileSync(heapFile, 'utf8')) as { seq: number }).seq;
      } catch {
        before = 0;
      }
      child.kill('SIGUSR2');
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        await sleep(100);
        try {
          const probe = JSON.parse(readFileSync(heapFile, 'utf8')) as { seq: number; usedHeapBytes: number };
          if (probe.seq > before) return probe.usedHeapBytes;
        } catch {
          // not written yet
        }
      }
      return null;
    },
    stop: async () => {
      if (gone) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Machine description for the results. */
export function machine(): Record<string, unknown> {
  let cpuModel = 'unknown';
  let memTotalBytes = NaN;
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
    memTotalBytes = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? NaN) * 1024;
  } catch {
    // not Linux: leave unknown
  }
  return { cpuModel, memTotalBytes, node: process.version, platform: `${process.platform} ${process.arch}` };
}
