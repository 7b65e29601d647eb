/**
 * `grantline tail` as a process against the real broker: genuine signed grants show as valid, a
 * grant altered after signing as invalid, every grant channel is read, `--ticket` filters, following
 * from now on prints only what comes after, and Ctrl-C (SIGINT) ends it cleanly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantTopicMessage, signedGrant } from '../../dev/signed-grants.js';
import { stackConfig, startStubs, writeStackConfig, type StackOptions, type Stubs } from '../../dev/harness.js';
import { loadSigningKeys, type SigningKeys } from '../../src/custody/index.js';
import { createProducer, ensureTopics, grantlineTopicSpecs, topicNames, type GrantlineProducer } from '../../src/kafka/index.js';
import type { Grant } from '../../src/model/index.js';
import { runGrantline, type GrantlineRun } from './helpers/grantline.js';
import { brokers, randomTopicSuffix, testKafka } from './helpers/kafka.js';
import { until } from './helpers/wait.js';

const prefix = `tail-${randomTopicSuffix()}.`;
const names = topicNames(prefix);
const kafka = testKafka('grantline-tail-it');
const work = mkdtempSync(join(tmpdir(), 'grantline-tail-'));
const configFile = join(work, 'grantline.yaml');
let stubs: Stubs;
let keys: SigningKeys;
let producer: GrantlineProducer;
const running: GrantlineRun[] = [];

function grant(id: string, ticketKey: string, channel: 'pam' | 'secrets'): Grant {
  return signedGrant(keys, { grantId: id, entitlementId: 'db-orders-prod-readwrite', subjectId: 'svc-orders', validFrom: new Date(), ttlSeconds: 3600, channel, ticketKey });
}

/** The grant as signed, then given a day more: what a tampered copy on the wire looks like. */
function tampered(g: Grant): Grant {
  return { ...g, expiresAt: new Date(Date.parse(g.expiresAt) + 86_400_000).toISOString(), ttlSeconds: g.ttlSeconds + 86_400 };
}

async function publish(channel: 'pam' | 'secrets', ...grants: Grant[]): Promise<void> {
  await producer.send(names.grants(channel), grants.map(grantTopicMessage));
}

function tail(...args: string[]): GrantlineRun {
  const run = runGrantline(['tail', '--config', configFile, ...args]);
  running.push(run);
  return run;
}

const jsonLines = (run: GrantlineRun) => run.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { topic: string; value: Grant; verdict?: { valid: boolean; failed: { name: string }[] } });

beforeAll(async () => {
  stubs = await startStubs();
  const options: StackOptions = { brokers: brokers().join(','), topicPrefix: prefix, stubs };
  writeStackConfig(options, configFile);
  keys = loadSigningKeys(stackConfig(options).signing);
  await ensureTopics(kafka, grantlineTopicSpecs(names, ['pam', 'secrets'], 1));
  producer = createProducer(kafka);
  await producer.connect();
  const genuine = grant('gr_tail_ok', 'ACC-101', 'pam');
  await publish('pam', genuine, tampered(grant('gr_tail_bad', 'ACC-102', 'pam')));
  await publish('secrets', grant('gr_tail_secrets', 'ACC-103', 'secrets'));
}, 60_000);

afterAll(async () => {
  for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  await producer?.disconnect();
  await stubs?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('grantline tail on the real broker', () => {
  it('prints every grant channel from the beginning as JSON lines, a genuine grant valid and a tampered one invalid, and stops on SIGINT with 0', async () => {
    const run = tail('--topic', 'grants', '--from-beginning', '--json');
    expect(await until(() => jsonLines(run).length >= 3, 60_000), run.stderr()).toBe(true);
    const byId = new Map(jsonLines(run).map((l) => [l.value.grantId, l]));
    expect(byId.get('gr_tail_ok')?.verdict).toEqual({ valid: true, kind: 'grant', failed: [] });
    expect(byId.get('gr_tail_ok')?.topic).toBe(names.grants('pam'));
    expect(byId.get('gr_tail_secrets')?.topic).toBe(names.grants('secrets'));
    expect(byId.get('gr_tail_secrets')?.verdict?.valid).toBe(true);
    const bad = byId.get('gr_tail_bad')?.verdict;
    expect(bad?.valid).toBe(false);
    expect(bad?.failed.map((c) => c.name)).toContain('signature-valid');

    run.child.kill('SIGINT');
    expect(await run.exitWithin(20_000)).toBe(0);
  }, 90_000);

  it('follows from now on, prints only the ticket asked for, readable with the verdict beside it', async () => {
    const run = tail('--topic', 'grants', '--ticket', 'ACC-202');
    expect(await until(() => run.stderr().includes('from now on'), 60_000), run.stderr()).toBe(true);
    // In one partition, in this order: once ACC-202's second grant is printed, the others were read.
    await publish('pam', grant('gr_tail_other', 'ACC-201', 'pam'), grant('gr_tail_202a', 'ACC-202', 'pam'), tampered(grant('gr_tail_202b', 'ACC-202', 'pam')));
    expect(await until(() => run.stdout().includes('gr_tail_202b'), 30_000), run.stderr()).toBe(true);
    const lines = run.stdout().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/grant gr_tail_202a ticket ACC-202 .*✔ VALID$/);
    expect(lines[1]).toMatch(/grant gr_tail_202b ticket ACC-202 .*✘ INVALID \(.*signature-valid/);
    expect(run.stdout()).not.toContain('gr_tail_ok'); // published before the tail started

    run.child.kill('SIGINT');
    expect(await run.exitWithin(20_000)).toBe(0);
  }, 90_000);
});
