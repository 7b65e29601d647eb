/**
 * grantline as the benchmark runs it: `grantline serve` in a child process (plain node with tsx as
 * a loader, so /proc/<pid> is grantline's own memory and CPU), configured from the example config
 * pointed at the stubs, the broker and a topic prefix (`dev/harness.ts`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeStackConfig, type Stubs } from '../dev/harness.js';
import { freePort, httpCall, ROOT, sleep } from './lib.js';

export interface GrantlineProcess {
  readonly pid: number;
  readonly url: string;
  readonly logFile: string;
  /** From spawning the process to its first `/readyz` 200 (polled every 50 ms). */
  readonly readyAfterMs: number;
  /** When it was spawned (`performance.now()` clock). */
  readonly spawnedAt: number;
  /** Live heap bytes after a full GC in grantline (bench/heap-probe.mjs), or null if it did not answer. */
  liveHeap(): Promise<number | null>;
  /** Peak and current RSS in bytes, read from /proc (Linux). */
  memory(): { rssBytes: number; peakRssBytes: number } | null;
  /** User + system CPU time the process has used so far, in ms (/proc/<pid>/stat), or null. */
  cpuMs(): number | null;
  stop(): Promise<number | null>;
}

export type Role = 'all' | 'ingress' | 'processor' | 'lifecycle';

let clockTicks: number | undefined;
/** Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`, 100 on Linux almost always). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a process in ms. Fields 14 and 15 of /proc/<pid>/stat, counted after the `)` of the name. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / ticksPerSecond() : null;
  } catch {
    return null;
  }
}

/**
 * Writes a config for grantline and starts `grantline serve` in a child process, waiting for
 * `/readyz` 200. `pipeline` is merged over the example's `pipeline:` section.
 */
export async function startGrantline(options: {
  brokers: string;
  prefix: string;
  stubs: Stubs;
  role: Role;
  instanceId: string;
  pipeline?: Record<string, unknown>;
  /** Directory for a V8 CPU profile (`--cpu-prof`), when profiling. */
  cpuProfDir?: string;
  readyTimeoutMs?: number;
}): Promise<GrantlineProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'grantline-bench-'));
  const port = await freePort();
  const configFile = join(dir, 'grantline.yaml');
  writeStackConfig(
    {
      brokers: options.brokers,
      topicPrefix: options.prefix,
      stubs: options.stubs,
      httpPort: port,
      logLevel: 'warn',
      instanceId: options.instanceId,
      ...(options.pipeline ? { pipeline: options.pipeline } : {}),
      edit: (tree) => {
        tree.service = { ...(tree.service as Record<string, unknown>), shutdownTimeoutMs: 20_000 };
      },
    },
    configFile,
  );
  const logFile = join(dir, 'grantline.log');
  const log = createWriteStream(logFile);
  // The heap probe answers SIGUSR2 with the live heap after a full GC; the benchmark only.
  const heapFile = join(dir, 'heap.json');
  const nodeArgs = ['--expose-gc', '--import', join(ROOT, 'bench', 'heap-probe.mjs')];
  if (options.cpuProfDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
  const env = { ...process.env, KAFKA_BROKERS: options.brokers, GRANTLINE_HEAP_PROBE_FILE: heapFile };
  const spawnedAt = performance.now();
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
  const readyTimeoutMs = options.readyTimeoutMs ?? 300_000;
  const agent = new Agent({ keepAlive: false });
  let readyAfterMs = NaN;
  for (;;) {
    if (gone) throw new Error(`grantline exited during start; see ${logFile}`);
    const status = await httpCall(agent, `${url}/readyz`, 'GET').catch(() => 0);
    if (status === 200) {
      readyAfterMs = performance.now() - spawnedAt;
      break;
    }
    if (performance.now() - spawnedAt > readyTimeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`grantline not ready within ${readyTimeoutMs} ms; see ${logFile}`);
    }
    await sleep(50);
  }
  const pid = child.pid as number;
  return {
    pid,
    url,
    logFile,
    readyAfterMs: Math.round(readyAfterMs),
    spawnedAt,
    memory: () => {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
        return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
      } catch {
        return null;
      }
    },
    cpuMs: () => (gone ? null : processCpuMs(pid)),
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
