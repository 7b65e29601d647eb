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
