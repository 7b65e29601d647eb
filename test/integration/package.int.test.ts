/**
 * The installable build, end to end: `npm pack` (whose `prepack` builds `dist/`), the tarball
 * installed into an empty folder with `npm install --omit=dev` from the npm registry (npm's cache
 * is reused), then the installed `grantline` command run the way a user runs it: `--version`,
 * `evaluate` on an example request, and `serve` against the test broker until `/readyz` is 200.
 *
 * It fails when the packed build is stale (a stale `dist/` is planted before packing), when a
 * source module is missing from the build, when code under `dist/` imports a package that is not a
 * runtime dependency (devDependencies are not installed), and when the example files a user needs
 * are not in the tarball.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const brokers = process.env.KAFKA_BROKERS ?? '';
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
// The environment of a user's shell: without the `npm_*` variables of an `npm test` or `npx` that
// started these tests (npm reads `npm_config_*` as settings), and with the Node running these tests
// (>= 22.12) first on PATH, since the installed bin says `#!/usr/bin/env node`.
const env: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name))),
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
};

interface PackedFile {
  path: string;
}
let work: string;
let packed: { filename: string; size: number; entryCount: number; files: PackedFile[] };
let installDir: string;
let installed: string; // node_modules/grantline
let bin: string;
const children: ChildProcess[] = [];

/** Every file under `dir`, relative to `base`, with `/` separators. */
function filesUnder(dir: string, base: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(base, join(e.parentPath, e.name)).split('\\').join('/'));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'grantline-pack-'));
  // A stale build from some earlier day: a main.js that is not what the sources compile to, and a
  // module whose source is gone. `npm pack` must rebuild dist/ from scratch, so neither may ship.
  mkdirSync(join(repo, 'dist/src/cli'), { recursive: true });
  writeFileSync(join(repo, 'dist/src/cli/main.js'), "console.log('stale dist'); process.exit(99);\n");
  writeFileSync(join(repo, 'dist/src/stale-orphan.js'), 'export {};\n');

  const pack = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: repo, env, maxBuffer: 16 * 1024 * 1024 });
  packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]!;

  installDir = join(work, 'app');
  mkdirSync(installDir);
  writeFileSync(join(installDir, 'package.json'), JSON.stringify({ name: 'grantline-install-check', private: true }));
  await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', join(work, packed.filename)], {
    cwd: installDir,
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
  installed = join(installDir, 'node_modules/grantline');
  bin = join(installDir, 'node_modules/.bin/grantline');
}, 600_000);

afterAll(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the build, the bin, the schemas and the runnable examples, and no tests, bench, dev tools or sources', () => {
    const paths = packed.files.map((f) => f.path);
    for (const needed of [
      'package.json',
      'README.md',
      'bin/grantline.js',
      'dist/src/cli/main.js',
      'dist/connectors/registry.js',
      'schemas/grant.v1.json',
      'examples/grantline.yaml',
      'examples/catalog.yaml',
      'examples/directory.yaml',
      'examples/keys/dev-signing-key.pem',
      'examples/keys/dev-internal-1.key',
      'examples/requests/nhi-dual-approval.granted.json',
    ]) {
      expect(paths).toContain(needed);
    }
    const unwanted = paths.filter((p) => /^(test|bench|dev|scripts|src|connectors|node_modules|\.tools)\//.test(p) || /\.test\.(d\.ts|js)$|(?<!\.d)\.ts$|\.map$/.test(p));
    expect(unwanted).toEqual([]);
  });

  it('was built from the current sources: every module compiled, the planted stale build gone', () => {
    const paths = new Set(packed.files.map((f) => f.path));
    const sources = [...filesUnder(join(repo, 'src'), repo), ...filesUnder(join(repo, 'connectors'), repo), ...filesUnder(join(repo, 'adapters'), repo)].filter(
      (p) => p.endsWith('.ts') && !p.endsWith('.test.ts'),
    );
    expect(sources.length).toBeGreaterThan(50);
    expect(sources.map((p) => `dist/${p.replace(/\.ts$/, '.js')}`).filter((p) => !paths.has(p))).toEqual([]);
    expect(paths.has('dist/src/stale-orphan.js')).toBe(false);
    expect(readFileSync(join(installed, 'dist/src/cli/main.js'), 'utf8')).not.toContain('stale dist');
  });
});

describe('the installed package (npm install --omit=dev)', () => {
  it('has no devDependencies: tsx and typescript are absent', () => {
    const top = readdirSync(join(installDir, 'node_modules'));
    expect(top).toContain('grantline');
    expect(top).not.toContain('tsx');
    expect(top).not.toContain('typescript');
  });

  it('imports only its declared runtime dependencies, and every compiled module loads without the devDependencies', async () => {
    const files = filesUnder(join(installed, 'dist'), installed).filter((p) => p.endsWith('.js'));
    const builtins = new Set(builtinModules);
    const declared = new Set(Object.keys(pkg.dependencies));
    const undeclared = new Set<string>();
    for (const file of files) {
      const code = readFileSync(join(installed, file), 'utf8');
      for (const m of code.matchAll(/(?:from\s*|import\s*\(\s*|require\)?\s*\(\s*)'([^']+)'/g)) {
        const spec = m[1]!;
        if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!declared.has(name)) undeclared.add(`${name} (${file})`);
      }
    }
    expect([...undeclared]).toEqual([]);

    // Loading every module (main.js would run the CLI, so it is left to the next tests).
    const modules = files.filter((p) => p !== 'dist/src/cli/main.js').map((p) => join(installed, p));
    const script = 'for (const f of JSON.parse(process.env.GRANTLINE_MODULES)) await import(f); console.log("loaded");';
    const loaded = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: installDir,
      env: { ...env, GRANTLINE_MODULES: JSON.stringify(modules) },
    });
    expect(loaded.stdout.trim()).toBe('loaded');
    expect(modules.length).toBeGreaterThan(50);
  });

  it('grantline --version prints the version in package.json', async () => {
    const { stdout } = await run(bin, ['--version'], { cwd: installDir, env });
    expect(stdout.trim()).toBe(pkg.version);
  });

  it('grantline evaluate decides an example request against the example catalog and directory', async () => {
    const examples = join(installed, 'examples');
    const { stdout } = await run(
      bin,
      ['evaluate', '--request', join(examples, 'requests/nhi-dual-approval.granted.json'), '--config', join(examples, 'grantline.yaml'), '--at', '2025-03-06T10:00:00Z'],
      { cwd: installDir, env },
    );
    expect(JSON.parse(stdout)).toMatchObject({
      outcome: 'granted',
      entitlement: { id: 'db-orders-prod-readwrite' },
      subject: { type: 'service_account', id: 'svc-orders' },
      decidedAt: '2025-03-06T10:00:00.000Z',
    });
  });

  it('grantline serve runs the example config (against the test broker) until /readyz is 200, and exits 0 on SIGTERM', async () => {
    // The example config as shipped, with what a test must change: its own topic prefix on the
    // shared broker, a free port, pollers off (no stubs), and the file paths made absolute because
    // the copy lives elsewhere.
    const examples = join(installed, 'examples');
    const config = parseYaml(readFileSync(join(examples, 'grantline.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
    const prefix = `it-pack-${randomBytes(4).toString('hex')}.`;
    config.kafka = { ...config.kafka, topicPrefix: prefix, partitions: 1 };
    config.http = { ...config.http, port: 0 };
    config.catalog = { path: join(examples, 'catalog.yaml') };
    config.directory = { path: join(examples, 'directory.yaml') };
    config.signing = { ...config.signing, keys: [{ kid: 'dev-example-1', privateKeyPem: `\${file:${join(examples, 'keys/dev-signing-key.pem')}}` }] };
    const trust = config.trust as { internal: Record<string, unknown> };
    config.trust = { ...trust, internal: { ...trust.internal, keys: [{ kid: 'dev-internal-1', secret: `\${file:${join(examples, 'keys/dev-internal-1.key')}}` }] } };
    config.pipeline = { ...config.pipeline, pollIntervalMs: 0 };
    const configPath = join(work, 'grantline.yaml');
    writeFileSync(configPath, stringifyYaml(config));

    const child = spawn(bin, ['serve', '--config', configPath], { cwd: installDir, env: { ...env, KAFKA_BROKERS: brokers }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));

    let url: string | undefined;
    const listenBy = Date.now() + 60_000;
    while (url === undefined && Date.now() < listenBy && child.exitCode === null) {
      const line = out.split('\n').find((l) => l.includes('"http listening"'));
      if (line !== undefined) url = (JSON.parse(line) as { url: string }).url;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(url, `serve did not listen:\n${err}\n${out}`).toBeDefined();

    let status = 0;
    const readyBy = Date.now() + 30_000;
    while (status !== 200 && Date.now() < readyBy) {
      status = (await fetch(`${url}/readyz`).catch(() => undefined))?.status ?? 0;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status, `not ready:\n${err}\n${out}`).toBe(200);
    expect(out).toContain(`${prefix}grantline.ticket-events.v1`);

    child.kill('SIGTERM');
    expect(await exit, `serve did not stop cleanly:\n${err}`).toBe(0);
    expect(out).toContain('"stopping on signal"');
  });
});
