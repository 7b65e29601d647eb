import { request } from 'node:http';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpSection, type RefusalLimits } from '../../src/config/http-schema.js';
import type { Connector } from '../../src/connector/contract.js';
import { createApp, createMetricsRegistry, listen, type HttpServer } from '../../src/http/index.js';
import { webhookMount } from '../../src/http/webhooks.js';
import { FakeProducer, ingress, issueEvent, jira, signed } from '../fixtures/ingress.js';

const open: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close(1000)));
});

const defaults = HttpSection.parse({});

/** Log lines the app wrote, parsed. */
function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function serve(options: { limits?: Partial<RefusalLimits>; timeouts?: Partial<typeof defaults.timeouts>; logger?: pino.Logger } = {}) {
  const producer = new FakeProducer();
  const real = jira();
  let verifications = 0;
  const counting: Connector = { ...real, verify: (d) => ((verifications += 1), real.verify(d)) };
  const subject = ingress(producer, { connectors: new Map([['jira-main', counting]]) });
  const app = createApp({
    logger: options.logger ?? pino({ level: 'silent' }),
    registry: createMetricsRegistry(),
    bodyLimitBytes: 1024,
    readiness: [],
    mounts: [webhookMount(subject, { ...defaults.refusals, ...options.limits })],
  });
  const server = await listen(app, { host: '127.0.0.1', port: 0, timeouts: { ...defaults.timeouts, ...options.timeouts } });
  open.push(server);
  return { server, producer, verifications: () => verifications };
}

/** POST from a chosen loopback address (127.0.0.0/8 is all local on Linux). */
function post(server: HttpServer, path: string, body: Buffer, headers: Record<string, string> = {}, localAddress = '127.0.0.1') {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: 'POST', localAddress, headers: { 'content-type': 'application/json', ...headers }, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Generous timeouts: the first request of a file can take seconds on a loaded machine.
describe('webhook route under abuse', { timeout: 30_000 }, () => {
  it('answers an unknown connector id 404 before reading the body (an oversized body is not 413)', async () => {
    const { server } = await serve();
    const res = await post(server, '/webhooks/nope', Buffer.alloc(64 * 1024, 'x'));
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'unknown_connector' } });
  });

  it('closes a connection whose headers do not arrive within http.timeouts.headersMs (slowloris)', async () => {
    const { server } = await serve({ timeouts: { headersMs: 1_000, requestMs: 2_000 } });
    const socket = connect(server.port, '127.0.0.1');
    socket.write('POST /webhooks/jira-main HTTP/1.1\r\nHost: x\r\n');
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString()));
    const closed = await new Promise<boolean>((resolve) => {
      socket.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 8_000).unref();
    });
    socket.destroy();
    expect(closed).toBe(true);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });

  it('answers 429 without verifying once an address used up its refusals, per connector and address', async () => {
    const { server, producer, verifications } = await serve({ limits: { burst: 3, perMinute: 1 } });
    const forged = Buffer.from(issueEvent('10001'));
    const forgedHeaders = { 'x-hub-signature': `sha256=${'0'.repeat(64)}` };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(server, '/webhooks/jira-main', forged, forgedHeaders)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    expect(verifications()).toBe(3);
    const limited = await post(server, '/webhooks/jira-main', forged, forgedHeaders);
    expect(limited.headers['retry-after']).toBe('60');
    // Another address is not affected, and signs correctly: accepted.
    const good = signed(issueEvent('10002'));
    const other = await post(server, '/webhooks/jira-main', good.rawBody, good.headers as Record<string, string>, '127.0.0.2');
    expect(other.status).toBe(202);
    expect(producer.sent).toHaveLength(1);
    // Oversized bodies and unknown ids from one address are refusals too.
    const { server: s2 } = await serve({ limits: { burst: 2, perMinute: 1 } });
    expect((await post(s2, '/webhooks/jira-main', Buffer.alloc(4096, 'x'))).status).toBe(413);
    expect((await post(s2, '/webhooks/jira-main', Buffer.alloc(4096, 'x'))).status).toBe(413);
    expect((await post(s2, '/webhooks/other', Buffer.from('{}'))).status).toBe(404);
    expect((await post(s2, '/webhooks/other', Buffer.from('{}'))).status).toBe(404);
    expect((await post(s2, '/webhooks/other', Buffer.from('{}'))).status).toBe(429);
    expect((await post(s2, '/webhooks/jira-main', Buffer.alloc(4096, 'x'))).status).toBe(429);
  });

  it('logs a refused burst once per interval with a count, not once per request', async () => {
    const { logger, lines } = capture();
    const { server } = await serve({ limits: { burst: 5, perMinute: 1, logIntervalMs: 1_000 }, logger });
    const forgedHeaders = { 'x-hub-signature': `sha256=${'0'.repeat(64)}` };
    for (let i = 0; i < 40; i++) await post(server, '/webhooks/jira-main', Buffer.from(issueEvent('10001')), forgedHeaders);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    const refused = lines.filter((l) => l.msg === 'webhook deliveries refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: 40, connector: 'jira-main', client: '127.0.0.1', refused: 40, byCode: { bad_signature: 5, rate_limited: 35 } });
    expect(lines.filter((l) => (l.level as number) >= 40)).toHaveLength(1);
  });
});
