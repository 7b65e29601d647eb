/**
 * Reloading the catalog and directory while running: the file watch (fake directory watches, and
 * the real one on a temp directory), and the reloader's metrics, logs and alerts with plain fakes of
 * its ports (files in memory, a recording publisher, a watch the test fires).
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyDocuments, watchFiles, type DirectoryWatcher, type FileWatch, type ReadText } from '../../src/catalog/index.js';
import type { PolicyAlert } from '../../src/model/index.js';
import { createPipelineMetrics } from '../../src/pipeline/metrics.js';
import { PolicyReloader } from '../../src/pipeline/policy-reload.js';
import { EXAMPLE_CATALOG_PATH, EXAMPLE_DIRECTORY_PATH } from '../fixtures/requests/factory.js';

const FILES = { catalog: '/policy/catalog.yaml', directory: '/policy/directory.yaml' };
const DIRECTORY = readFileSync(EXAMPLE_DIRECTORY_PATH, 'utf8');
const WITHOUT_BOB = DIRECTORY.replace('data-platform-owners: [bob, carol]', 'data-platform-owners: [carol]');
const BROKEN = DIRECTORY.replace('data-platform-owners: [bob, carol]', 'data-platform-owners: [bob, carol, bobby]');

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('watchFiles', () => {
  function fakeWatches() {
    const watchers = new Map<string, { emit: (name: string | null) => void; fail: () => void; closed: boolean }>();
    let opened = 0;
    const watchDirectory = (directory: string, listener: (event: string, filename: string | null) => void): DirectoryWatcher => {
      opened += 1;
      const emitter = new EventEmitter();
      const entry = { emit: (name: string | null) => listener('rename', name), fail: () => emitter.emit('error', new Error('EPERM')), closed: false };
      watchers.set(directory, entry);
      return { close: () => void (entry.closed = true), on: (event, l) => emitter.on(event, l) };
    };
    return { watchers, watchDirectory, opened: () => opened };
  }

  it('watches each directory once, calls back once per burst, and ignores other files there', async () => {
    const fake = fakeWatches();
    let changes = 0;
    const watch = watchFiles(['/policy/catalog.yaml', '/policy/directory.yaml'], () => (changes += 1), { debounceMs: 20, watchDirectory: fake.watchDirectory });
    cleanups.push(() => watch.close());
    expect([...fake.watchers.keys()]).toEqual(['/policy']);
    const dir = fake.watchers.get('/policy')!;
    dir.emit('notes.txt');
    dir.emit('catalog.yaml.swp');
    await new Promise((r) => setTimeout(r, 60));
    expect(changes).toBe(0);
    // An editor's save: a temp file, then a rename over the target, then a change event.
    dir.emit('4913');
    dir.emit('directory.yaml');
    dir.emit('directory.yaml');
    await expect.poll(() => changes).toBe(1);
    // A Kubernetes ConfigMap volume swaps its `..data` symlink.
    dir.emit('..data');
    await expect.poll(() => changes).toBe(2);
    // Some platforms name no file.
    dir.emit(null);
    await expect.poll(() => changes).toBe(3);
  });

  it('re-arms a watch that failed, then reports a change (one may have been missed)', async () => {
    const fake = fakeWatches();
    let changes = 0;
    const errors: unknown[] = [];
    const watch = watchFiles(['/policy/catalog.yaml'], () => (changes += 1), { debounceMs: 5, rearmMs: 10, watchDirectory: fake.watchDirectory, onError: (e) => errors.push(e) });
    cleanups.push(() => watch.close());
    const first = fake.watchers.get('/policy')!;
    first.fail();
    expect(first.closed).toBe(true);
    expect(errors).toHaveLength(1);
    await expect.poll(() => fake.opened()).toBe(2);
    await expect.poll(() => changes).toBe(1);
    watch.close();
    expect(fake.watchers.get('/policy')!.closed).toBe(true);
  });

  it('sees a file replaced by rename on the real file system, as editors save', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'grantline-watch-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'directory.yaml');
    writeFileSync(file, 'a: 1\n');
    let changes = 0;
    const watch = watchFiles([file], () => (changes += 1), { debounceMs: 20 });
    cleanups.push(() => watch.close());
    writeFileSync(join(dir, 'directory.yaml.tmp'), 'a: 2\n');
    renameSync(join(dir, 'directory.yaml.tmp'), file);
    await expect.poll(() => changes).toBeGreaterThanOrEqual(1);
    const afterRename = changes;
    // The watch is on the directory, so it survives the inode swap: an in-place write is seen too.
    writeFileSync(file, 'a: 3\n');
    await expect.poll(() => changes).toBeGreaterThan(afterRename);
  });
});

describe('PolicyReloader', () => {
  async function setup(options: { failPublish?: () => boolean; pollMs?: number } = {}) {
    const files = new Map([
      [FILES.catalog, readFileSync(EXAMPLE_CATALOG_PATH, 'utf8')],
      [FILES.directory, DIRECTORY],
    ]);
    const read: ReadText = async (file) => files.get(file) ?? Promise.reject(Object.assign(new Error('ENOENT'), { code: 'ENOENT' }));
    const documents = await PolicyDocuments.load(FILES, { read });
    const registry = new Registry();
    const metrics = createPipelineMetrics(registry);
    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    const alerts: PolicyAlert[] = [];
    let fire: (() => void) | null = null;
    let watched: readonly string[] = [];
    let closed = false;
    const reloader = new PolicyReloader({
      documents,
      metrics,
      logger,
      publish: async (list) => {
        if (options.failPublish?.()) throw new Error('broker unavailable');
        alerts.push(...list);
      },
      raisedBy: 'grantline@test-1',
      pollMs: options.pollMs ?? 3_600_000,
      watch: (paths, onChange): FileWatch => {
        watched = paths;
        fire = onChange;
        return { close: () => void (closed = true) };
      },
      now: () => new Date('2026-11-29T12:00:00.000Z'),
    });
    await reloader.start();
    cleanups.push(() => void reloader.stop());
    const metric = async (name: string, labels: Record<string, string>) => {
      const found = (await registry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
      return found?.value ?? 0;
    };
    return { files, documents, reloader, logs, alerts, metric, change: () => fire?.(), watched: () => watched, closed: () => closed };
  }

  it('applies an edit as soon as the watch reports it, counts it and logs the new versions', async () => {
    const t = await setup();
    expect(t.watched()).toEqual([FILES.catalog, FILES.directory]);
    expect(await t.metric('grantline_policy_document_valid', { document: 'directory' })).toBe(1);
    const before = t.documents.current().directory.version;
    t.files.set(FILES.directory, WITHOUT_BOB);
    t.change();
    await expect.poll(() => t.documents.current().directory.isMember('bob', 'data-platform-owners')).toBe(false);
    await expect.poll(() => t.metric('grantline_policy_reload_total', { document: 'directory', outcome: 'reloaded' })).toBe(1);
    expect(await t.metric('grantline_policy_reload_total', { document: 'catalog', outcome: 'unchanged' })).toBe(1);
    const line = t.logs.find((l) => l.msg === 'catalog and directory reloaded: the new version decides from now on');
    expect(line).toMatchObject({ trigger: 'file-change', directory: 'reloaded', catalog: 'unchanged', directoryVersion: t.documents.current().directory.version, previous: { directoryVersion: before } });
    expect(t.alerts).toEqual([]);
  });

  it('refuses an invalid edit: old version in force, every problem logged, gauge at 0, one alert', async () => {
    const t = await setup();
    const inForce = t.documents.current();
    t.files.set(FILES.directory, BROKEN);
    t.change();
    await expect.poll(() => t.alerts.length).toBe(1);
    expect(t.documents.current()).toBe(inForce);
    expect(t.alerts[0]).toMatchObject({
      kind: 'policy.reload.failed',
      problems: [{ document: 'directory', file: FILES.directory, path: 'groups.data-platform-owners[2]', message: 'unknown principal "bobby"' }],
      inForce: { catalogVersion: inForce.catalog.version, directoryVersion: inForce.directory.version },
      raisedBy: 'grantline@test-1',
      raisedAt: '2026-11-29T12:00:00.000Z',
    });
    expect(t.alerts[0]?.message).toContain(`${FILES.directory}: groups.data-platform-owners[2]: unknown principal "bobby"`);
    expect(await t.metric('grantline_policy_document_valid', { document: 'directory' })).toBe(0);
    expect(await t.metric('grantline_policy_document_valid', { document: 'catalog' })).toBe(1);
    expect(await t.metric('grantline_policy_reload_total', { document: 'directory', outcome: 'invalid' })).toBe(1);
    const error = t.logs.find((l) => l.level === 50);
    expect(error).toMatchObject({ trigger: 'file-change', outcome: 'invalid', problems: [{ path: 'groups.data-platform-owners[2]' }] });

    // The same bytes again (another event, a periodic check): nothing new to say.
    t.change();
    await new Promise((r) => setTimeout(r, 50));
    expect(await t.metric('grantline_policy_reload_total', { document: 'directory', outcome: 'invalid' })).toBe(1);
    // SIGHUP re-reads and logs again, but the on-call already has this alert.
    await t.reloader.reload();
    expect(await t.metric('grantline_policy_reload_total', { document: 'directory', outcome: 'invalid' })).toBe(2);
    expect(t.alerts).toHaveLength(1);

    // Fixed: valid again. A later, different mistake is alerted anew.
    t.files.set(FILES.directory, DIRECTORY);
    await t.reloader.reload();
    expect(await t.metric('grantline_policy_document_valid', { document: 'directory' })).toBe(1);
    t.files.set(FILES.directory, 'principals: [\n');
    await t.reloader.refresh('file-change');
    expect(t.alerts).toHaveLength(2);
    expect(t.alerts[1]?.problems[0]?.message).toMatch(/^not valid YAML/);
  });

  it('logs a SIGHUP that finds nothing new, at info', async () => {
    const t = await setup();
    await t.reloader.reload();
    expect(t.logs.find((l) => l.msg === 'catalog and directory reloaded: nothing changed')).toMatchObject({ level: 30, trigger: 'signal', outcome: 'unchanged' });
    expect(await t.metric('grantline_policy_reload_total', { document: 'catalog', outcome: 'unchanged' })).toBe(1);
  });

  it('sends an alert Kafka did not take at the next periodic check', async () => {
    let brokerDown = true;
    const t = await setup({ failPublish: () => brokerDown, pollMs: 20 });
    t.files.set(FILES.directory, BROKEN);
    await t.reloader.refresh('file-change');
    expect(t.alerts).toEqual([]);
    expect(t.logs.some((l) => l.msg === 'could not publish the policy alert; trying again at the next periodic check')).toBe(true);
    brokerDown = false;
    await expect.poll(() => t.alerts.length).toBe(1);
    expect(t.alerts[0]?.problems[0]?.path).toBe('groups.data-platform-owners[2]');
  });

  it('closes its watch on stop', async () => {
    const t = await setup();
    await t.reloader.stop();
    expect(t.closed()).toBe(true);
  });
});
