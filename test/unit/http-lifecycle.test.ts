import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp, createMetricsRegistry, listen } from '../../src/http/index.js';
import { Service, type Component } from '../../src/service/service.js';

const silent = pino({ level: 'silent' });

function recorder() {
  const events: string[] = [];
  const component = (name: string, behaviour: { failStart?: boolean; failStop?: boolean; hangStop?: boolean } = {}): Component => ({
    name,
    start: async () => {
      if (behaviour.failStart) throw new Error(`${name} cannot connect`);
      events.push(`start ${name}`);
    },
    stop: async () => {
      if (behaviour.hangStop) return new Promise<void>(() => undefined);
      if (behaviour.failStop) throw new Error(`${name} stop broke`);
      events.push(`stop ${name}`);
    },
  });
  return { events, component };
}

/** A stand-in for `process` that a test can send signals to. */
function fakeProcess() {
  const emitter = new EventEmitter();
  return {
    proc: { on: emitter.on.bind(emitter), once: emitter.once.bind(emitter), off: emitter.off.bind(emitter) } as unknown as Pick<NodeJS.Process, 'on' | 'once' | 'off'>,
    signal: (s: NodeJS.Signals) => emitter.emit(s),
    listeners: () => emitter.listenerCount('SIGTERM') + emitter.listenerCount('SIGINT') + emitter.listenerCount('SIGHUP'),
  };
}

describe('Service lifecycle', () => {
  it('starts in order, stops in reverse on SIGTERM and exits 0', async () => {
    const { events, component } = recorder();
    const service = new Service({ logger: silent, components: [component('topics'), component('consumer'), component('http')], stopTimeoutMs: 1000 });
    const p = fakeProcess();
    const running = service.run(['SIGTERM', 'SIGINT'], p.proc);
    await expect.poll(() => service.state).toBe('running');
    expect(service.readiness.check()).toEqual({ ok: true });
    p.signal('SIGTERM');
    expect(await running).toBe(0);
    expect(events).toEqual(['start topics', 'start consumer', 'start http', 'stop http', 'stop consumer', 'stop topics']);
    expect(service.readiness.check()).toEqual({ ok: false, error: 'service is stopped' });
    expect(p.listeners()).toBe(0);
  });

  it('does not swallow a failed start: stops what started, and run() exits 1 without waiting for a signal', async () => {
    const { events, component } = recorder();
    const service = new Service({ logger: silent, components: [component('topics'), component('consumer', { failStart: true }), component('http')], stopTimeoutMs: 1000 });
    expect(await service.run(['SIGTERM'], fakeProcess().proc)).toBe(1);
    expect(events).toEqual(['start topics', 'stop topics']);

    const direct = new Service({ logger: silent, components: [component('broken', { failStart: true })], stopTimeoutMs: 1000 });
    await expect(direct.start()).rejects.toThrow('component broken failed to start');
  });

  it('stops and exits 1 when a running component reports a failure', async () => {
    const { events, component } = recorder();
    const service = new Service({ logger: silent, components: [component('consumer'), component('http')], stopTimeoutMs: 1000 });
    const running = service.run(['SIGTERM'], fakeProcess().proc);
    await expect.poll(() => service.state).toBe('running');
    service.fail(new Error('consumer crashed'), 'consumer');
    expect(await running).toBe(1);
    expect(events).toEqual(['start consumer', 'start http', 'stop http', 'stop consumer']);
  });

  it('exits 1 when a component will not stop in time, and still stops the others', async () => {
    const { events, component } = recorder();
    const service = new Service({ logger: silent, components: [component('producer'), component('stuck', { hangStop: true }), component('broken', { failStop: true })], stopTimeoutMs: 100 });
    const p = fakeProcess();
    const running = service.run(['SIGTERM'], p.proc);
    await expect.poll(() => service.state).toBe('running');
    p.signal('SIGTERM');
    expect(await running).toBe(1);
    expect(events).toContain('stop producer');
  });
});

describe('Service reload (SIGHUP)', () => {
  function reloadable(name: string, events: string[], behaviour: { failReload?: boolean; gate?: Promise<void> } = {}): Component {
    return {
      name,
      start: async () => {
        await behaviour.gate;
        events.push(`start ${name}`);
      },
      stop: async () => void events.push(`stop ${name}`),
      reload: async () => {
        events.push(`reload ${name}`);
        if (behaviour.failReload) throw new Error(`${name} cannot reload`);
      },
    };
  }

  it('reloads every component that can on SIGHUP, keeps running, and still stops on SIGTERM', async () => {
    const events: string[] = [];
    const plain: Component = { name: 'plain', start: async () => void events.push('start plain'), stop: async () => void events.push('stop plain') };
    const service = new Service({ logger: silent, components: [reloadable('documents', events, { failReload: true }), plain, reloadable('other', events)], stopTimeoutMs: 1000 });
    const p = fakeProcess();
    const running = service.run(['SIGTERM'], p.proc);
    await expect.poll(() => service.state).toBe('running');
    p.signal('SIGHUP');
    // A failed reload of one component neither stops the service nor skips the next component.
    await expect.poll(() => events.filter((e) => e.startsWith('reload'))).toEqual(['reload documents', 'reload other']);
    p.signal('SIGHUP');
    await expect.poll(() => events.filter((e) => e.startsWith('reload')).length).toBe(4);
    expect(service.state).toBe('running');
    p.signal('SIGTERM');
    expect(await running).toBe(0);
    expect(p.listeners()).toBe(0);
  });

  it('defers a SIGHUP that arrives while starting until everything has started', async () => {
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const service = new Service({ logger: silent, components: [reloadable('documents', events), reloadable('slow', events, { gate })], stopTimeoutMs: 1000 });
    const p = fakeProcess();
    const running = service.run(['SIGTERM'], p.proc);
    await expect.poll(() => events).toEqual(['start documents']);
    p.signal('SIGHUP');
    expect(events).toEqual(['start documents']);
    release();
    await expect.poll(() => events).toEqual(['start documents', 'start slow', 'reload documents', 'reload slow']);
    p.signal('SIGTERM');
    expect(await running).toBe(0);
  });
});

describe('HTTP server drain', () => {
  it('lets an in-flight request finish, refuses new connections, and reports a clean drain', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const app = createApp({
      logger: silent,
      registry: createMetricsRegistry(),
      bodyLimitBytes: 1024,
      readiness: [],
      mounts: [
        (a) => {
          a.get('/slow', async (_req, res) => {
            await gate;
            res.json({ done: true });
          });
        },
      ],
    });
    const server = await listen(app, { host: '127.0.0.1', port: 0 });
    const inFlight = fetch(`${server.url}/slow`);
    await new Promise((r) => setTimeout(r, 50));
    const closing = server.close(2000);
    await new Promise((r) => setTimeout(r, 50));
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    expect(await closing).toBe(true);
  });

  it('cuts off a request that outlives the drain timeout and says so', async () => {
    const app = createApp({
      logger: silent,
      registry: createMetricsRegistry(),
      bodyLimitBytes: 1024,
      readiness: [],
      mounts: [(a) => a.get('/never', () => new Promise<void>(() => undefined))],
    });
    const server = await listen(app, { host: '127.0.0.1', port: 0 });
    const inFlight = fetch(`${server.url}/never`).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    expect(await server.close(100)).toBe(false);
    expect(await inFlight).toBeInstanceOf(Error);
  });

  it('rejects listen() when the port is taken, so a failed start is visible', async () => {
    const app = createApp({ logger: silent, registry: createMetricsRegistry(), bodyLimitBytes: 1024, readiness: [] });
    const first = await listen(app, { host: '127.0.0.1', port: 0 });
    await expect(listen(app, { host: '127.0.0.1', port: first.port })).rejects.toThrow(/EADDRINUSE/);
    await first.close(100);
  });
});
