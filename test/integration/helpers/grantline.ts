import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../../..');

/**
 * Runs the grantline CLI as one process: this Node with tsx as an import hook, not the `tsx` or
 * `npx` launchers. A launcher runs grantline in a second process, so a SIGKILL meant for grantline
 * killed only the launcher and left grantline running (an orphan, still consuming).
 */
export function spawnGrantline(args: readonly string[], options: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: repo,
    env: options.env ?? process.env,
    stdio: options.stdio ?? ['ignore', 'ignore', 'inherit'],
  });
}

/** A grantline process started by `runGrantline`, with what it printed so far. */
export interface GrantlineRun {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The JSON log lines printed on stdout so far. */
  lines(): Record<string, unknown>[];
  /** Resolves with the exit code once the process has exited. */
  readonly exit: Promise<number | null>;
  /** The exit code, or `'running'` when it had not exited within `ms`. */
  exitWithin(ms: number): Promise<number | null | 'running'>;
}

/** `spawnGrantline` with stdout and stderr captured; the caller kills the child when done. */
export function runGrantline(args: readonly string[], env: NodeJS.ProcessEnv = process.env): GrantlineRun {
  const child = spawnGrantline(args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    lines: () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
    exit,
    exitWithin: async (ms) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'running'>((resolve) => (timer = setTimeout(() => resolve('running'), ms)));
      try {
        return await Promise.race([exit, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
