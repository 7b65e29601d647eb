import express from 'express';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/connector/secret.js';
import { cachedCheck, createApp, createMetricsRegistry, listen, type AppDeps, type HttpServer, type ReadinessCheck } from '../../src/http/index.js';

const silent = pino({ level: 'silent' });
const open: HttpServer[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close(1000)));
});

async function serve(overrides: Partial<AppDeps> = {}): Promise<string> {
  const app = createApp({ logger: silent, registry: createMetricsRegistry(), bodyLimitBytes: 1024, readiness: [], ...overrides });
  const server = await listen(app, { host: '127.0.0.1', port: 0 });
  open.push(server);
  return server.url;
}

const kafkaDown: ReadinessCheck = { name: 'kafka', check: async () => ({ ok: false, error: 'KafkaJSConnectionError: Connection error: connect ECONNREFUSED 127.0.0.1:9' }) };
const ok = (name: string): ReadinessCheck => ({ name, check: () => ({ ok: true }) });

describe('HTTP app', () => {
  it('answers /healthz with 200 {status: ok}', async () => {
    const res = await fetch(`${await serve({ readiness: [kafkaDown] })}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz 503 naming the failed check, and 200 when every check passes', async () => {
    const down = await fetch(`${await serve({ readiness: [ok('config'), kafkaDown] })}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({
      status: 'not_ready',
      failed: ['kafka'],
      checks: { config: { ok: true }, kafka: { ok: false, error: 'KafkaJSConnectionError: Connection error: connect ECONNREFUSED 127.0.0.1:9' } },
    });
    const up = await fetch(`${await serve({ readiness: [ok('config'), ok('kafka')] })}/readyz`);
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ status: 'ready', failed: [] });
  });

  it('counts a readiness check that hangs or throws as failed', async () => {
    const hangs: ReadinessCheck = { name: 'kafka', check: () => new Promise(() => undefined) };
    const throws: ReadinessCheck = {
      name: 'other',
      check: () => {
        throw new Error('boom');
      },
    };
    const res = await fetch(`${await serve({ readiness: [hangs, throws], checkTimeoutMs: 50 })}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      failed: ['kafka', 'other'],
      checks: { kafka: { ok: false, error: 'timed out after 50 ms' }, other: { ok: false, error: 'boom' } },
    });
  });

  it('answers an unknown route with 404 JSON', async () => {
    const res = await fetch(`${await serve()}/nope?x=1`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no such route' } });
  });

  it('answers a body over the configured limit with 413 JSON, and passes the raw bytes below it', async () => {
    const url = await serve({
      mounts: [
        (app, ctx) => {
          app.post('/webhooks/:connectorId', ctx.rawBody, (req, res) => {
            res.status(202).json({ bytes: (req.body as Buffer).length, connector: req.params.connectorId });
          });
        },
      ],
    });
    const small = await fetch(`${url}/webhooks/jira-main`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(small.status).toBe(202);
    expect(await small.json()).toEqual({ bytes: 7, connector: 'jira-main' });

    const big = await fetch(`${url}/webhooks/jira-main`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(2048) });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ error: { code: 'payload_too_large', message: 'request body is larger than 1024 bytes' } });
  });

  it('answers a failing route with 500 JSON and no stack trace', async () => {
    const url = await serve({
      mounts: [
        (app) => {
          app.get('/explode', async () => {
            throw new Error('database password=hunter2 rejected');
          });
        },
      ],
    });
    const res = await fetch(`${url}/explode`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('at ');
  });

  it('mounts express Routers as well as mount functions', async () => {
    const router = express.Router();
    router.get('/.well-known/jwks.json', (_req, res) => {
      res.json({ keys: [] });
    });
    const res = await fetch(`${await serve({ routers: [router] })}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ keys: [] });
  });

  it('serves Prometheus text with process metrics and request durations by route pattern and status', async () => {
    const url = await serve({
      mounts: [
        (app) => {
          app.get('/things/:id', (_req, res) => {
            res.json({});
          });
        },
      ],
    });
    await fetch(`${url}/healthz`);
    await fetch(`${url}/things/42`);
    await fetch(`${url}/nope`);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toMatch(/grantline_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} 1/);
    // The route pattern, not the URL, so label values stay few.
    expect(text).toMatch(/grantline_http_request_duration_seconds_count\{method="GET",route="\/things\/:id",status="200"\} 1/);
    expect(text).toMatch(/grantline_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).not.toContain('/things/42');
  });
});

describe('ops routes on an admin listener', () => {
  const TOKEN = 'metrics-token-0123456789-abcdefghijklmnop';

  it('serves /readyz and /metrics only where configured, /healthz on both', async () => {
    const registry = createMetricsRegistry();
    const main = await serve({ registry, readiness: [ok('config')], ops: false });
    const admin = await serve({ registry, readiness: [ok('config')] });
    expect((await fetch(`${main}/metrics`)).status).toBe(404);
    expect((await fetch(`${main}/readyz`)).status).toBe(404);
    expect((await fetch(`${main}/healthz`)).status).toBe(200);
    expect((await fetch(`${admin}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${admin}/metrics`)).text()).toContain('process_cpu_seconds_total');
  });

  it('needs the bearer token for /metrics when one is set, and never echoes or logs it', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });
    const admin = await serve({ logger, metricsToken: new Secret(TOKEN) });
    const none = await fetch(`${admin}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await fetch(`${admin}/metrics`, { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}x` } });
    expect(wrong.status).toBe(401);
    const wrongText = await wrong.text();
    expect((await fetch(`${admin}/metrics`, { headers: { authorization: TOKEN } })).status).toBe(401);
    const right = await fetch(`${admin}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('grantline_http_request_duration_seconds');
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    expect(wrongText).not.toContain(TOKEN.slice(0, 16));
    expect(lines.join('\n')).not.toContain(TOKEN.slice(0, 16));
  });

  it('reuses the broker probe: one probe per cache period however often /readyz is asked', async () => {
    let probes = 0;
    let clock = 0;
    let release: () => void = () => undefined;
    const probe: ReadinessCheck = {
      name: 'kafka',
      check: async () => {
        probes += 1;
        await new Promise<void>((resolve) => (release = resolve));
        return { ok: false, error: 'broker 127.0.0.1:9 refused the connection' };
      },
    };
    const url = await serve({ readiness: [cachedCheck(probe, 5_000, () => clock)] });
    const first = Array.from({ length: 10 }, () => fetch(`${url}/readyz`));
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    const answers = await Promise.all(first);
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(503));
    expect(probes).toBe(1);
    clock = 4_999;
    for (let i = 0; i < 5; i++) expect((await fetch(`${url}/readyz`)).status).toBe(503);
    expect(probes).toBe(1);
    clock = 5_000;
    const later = fetch(`${url}/readyz`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    expect(await (await later).json()).toMatchObject({ failed: ['kafka'], checks: { kafka: { error: 'broker 127.0.0.1:9 refused the connection' } } });
    expect(probes).toBe(2);
  });
});
