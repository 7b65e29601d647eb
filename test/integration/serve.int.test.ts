import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runGrantline, type GrantlineRun } from './helpers/grantline.js';

const repo = resolve(import.meta.dirname, '../..');
const brokers = process.env.KAFKA_BROKERS ?? '';
let dir: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'grantline-serve-'));
  const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
  writeFileSync(join(dir, 'signing.pem'), key);
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function serve(configPath: string): GrantlineRun {
  const run = runGrantline(['serve', '--config', configPath], { ...process.env, KAFKA_BROKERS: brokers });
  children.push(run.child);
  return run;
}

/** The URL the service logged when its HTTP server listened (it binds port 0). */
async function listeningUrl(run: GrantlineRun, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const line of run.stdout().split('\n')) {
      if (!line.includes('"http listening"')) continue;
      return (JSON.parse(line) as { url: string }).url;
    }
    if (run.child.exitCode !== null) throw new Error(`serve exited ${run.child.exitCode}:\n${run.stderr()}\n${run.stdout()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`serve did not listen within ${timeoutMs} ms:\n${run.stdout()}\n${run.stderr()}`);
}

describe('grantline serve', () => {
  it('becomes ready against the real broker, and exits 0 after SIGTERM', async () => {
    const prefix = `it-serve-${randomBytes(4).toString('hex')}.`;
    const config = join(dir, 'good.yaml');
    writeFileSync(
      config,
      [
        'kafka:',
        `  brokers: ["${brokers.split(',')[0]}"]`,
        `  topicPrefix: "${prefix}"`,
        '  partitions: 1',
        'http: { host: 127.0.0.1, port: 0 }',
        `catalog: { path: ${join(repo, 'examples/catalog.yaml')} }`,
        `directory: { path: ${join(repo, 'examples/directory.yaml')} }`,
        'signing:',
        '  activeKid: it-1',
        '  keys: [{ kid: it-1, privateKeyPem: "${file:signing.pem}" }]',
        'trust: { internal: { activeKid: i1, keys: [{ kid: i1, secret: dGVzdC1pbnRlcm5hbC1tYWMta2V5LTMyLWJ5dGVzLSE= }] } }',
        'policy: { version: it }',
        'service: { shutdownTimeoutMs: 30000 }',
      ].join('\n'),
    );
    const run = serve(config);
    const url = await listeningUrl(run, 60_000);

    let ready: Response | undefined;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      ready = await fetch(`${url}/readyz`).catch(() => undefined);
      if (ready?.status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(ready?.status).toBe(200);
    expect(await ready?.json()).toMatchObject({ status: 'ready', checks: { config: { ok: true }, kafka: { ok: true }, service: { ok: true } } });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // The topics the service needs exist now (it logged what it created).
    expect(run.stdout()).toContain(`${prefix}grantline.ticket-events.v1`);

    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toContain('"stopping on signal"');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('serves /readyz and /metrics on the admin listener only, /metrics behind its bearer token', async () => {
    const token = randomBytes(24).toString('base64');
    const config = join(dir, 'admin.yaml');
    writeFileSync(
      config,
      [
        'kafka:',
        `  brokers: ["${brokers.split(',')[0]}"]`,
        `  topicPrefix: "it-serve-admin-${randomBytes(4).toString('hex')}."`,
        '  partitions: 1',
        'http: { host: 127.0.0.1, port: 0, admin: { port: 0, metricsToken: "${env:IT_METRICS_TOKEN}" } }',
        `catalog: { path: ${join(repo, 'examples/catalog.yaml')} }`,
        `directory: { path: ${join(repo, 'examples/directory.yaml')} }`,
        'signing:',
        '  activeKid: it-1',
        '  keys: [{ kid: it-1, privateKeyPem: "${file:signing.pem}" }]',
        'policy: { version: it }',
        // Every serving process holds the internal MAC key (docs/security.md).
        `trust: { internal: { activeKid: dev-internal-1, keys: [{ kid: dev-internal-1, secret: "\${file:${join(repo, 'examples/keys/dev-internal-1.key')}}" }] } }`,
      ].join('\n'),
    );
    const run = runGrantline(['serve', '--config', config], { ...process.env, KAFKA_BROKERS: brokers, IT_METRICS_TOKEN: token });
    children.push(run.child);
    const url = await listeningUrl(run, 60_000);
    const adminLine = run.stdout().split('\n').find((l) => l.includes('"admin http listening'));
    const admin = (JSON.parse(adminLine ?? '{}') as { url: string }).url;
    expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    let ready: Response | undefined;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      ready = await fetch(`${admin}/readyz`).catch(() => undefined);
      if (ready?.status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(ready?.status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${admin}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${admin}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('grantline_webhook_deliveries_total');
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.stdout() + run.stderr()).not.toContain(token);
  });

  it('exits 2 on a config with three mistakes and names all three paths on stderr', async () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(
      config,
      [
        'kafka: { brokers: ["127.0.0.1:9092"], partitions: zero }',
        'http: { port: 70000 }',
        `catalog: { path: ${join(repo, 'examples/catalog.yaml')} }`,
        `directory: { path: ${join(repo, 'examples/directory.yaml')} }`,
        'signing:',
        '  activeKid: it-1',
        '  keys: [{ kid: it-1, privateKeyPem: "${env:GRANTLINE_IT_UNSET_KEY}" }]',
        'trust: { internal: { activeKid: i1, keys: [{ kid: i1, secret: dGVzdC1pbnRlcm5hbC1tYWMta2V5LTMyLWJ5dGVzLSE= }] } }',
        'policy: { version: it }',
      ].join('\n'),
    );
    const run = serve(config);
    expect(await run.exit).toBe(2);
    const stderr = run.stderr();
    expect(stderr).toContain('kafka.partitions: ');
    expect(stderr).toContain('http.port: ');
    expect(stderr).toContain('signing.keys[0].privateKeyPem: environment variable GRANTLINE_IT_UNSET_KEY is not set');
    expect(run.stdout()).toBe('');
  });
});
