import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { GRANTLINE_VERSION } from '../../src/version.js';

const repo = resolve(import.meta.dirname, '../..');
const packageVersion = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;

describe('the grantline version', () => {
  it('is the version in package.json', () => {
    expect(GRANTLINE_VERSION).toBe(packageVersion);
  });

  it('is read from the grantline package.json above the module, as in an installed dist/ (another package.json on the way is skipped)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'grantline-version-'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'grantline', version: '9.8.7-test' }));
    mkdirSync(join(root, 'dist/src'), { recursive: true });
    writeFileSync(join(root, 'dist/package.json'), JSON.stringify({ name: 'not-grantline', version: '0.0.0' }));
    copyFileSync(join(repo, 'src/version.ts'), join(root, 'dist/src/version.ts'));
    const moved = (await import(join(root, 'dist/src/version.ts'))) as { GRANTLINE_VERSION: string };
    expect(moved.GRANTLINE_VERSION).toBe('9.8.7-test');
  });

  it('grantline --version prints it and exits 0', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--version'], { cwd: repo });
    expect(stdout).toBe(`${packageVersion}\n`);
  });
});
