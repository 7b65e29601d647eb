/**
 * Issue 14: the PostgreSQL adapter as its own process, killed (SIGKILL) between a grant and its
 * revocation, restarted after it. The membership must be gone after the restart and never be
 * added again. Replaying the topic from its start must not provision a grant whose revocation
 * comes later in the replay: a second grant is issued and revoked while the adapter is down, and
 * the adapter's own log of GRANT and REVOKE statements (written in the transaction of each) must
 * never show it. An edge-triggered adapter, which provisions as it reads, fails here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startStack, startStubs, writeStackConfig, type Stack, type StackOptions, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, post, seedJiraTicket, type AccessTicket } from '../../dev/scenarios.js';
import { freshKey } from '../../dev/signed-grants.js';
import { run as revoke } from '../../src/cli/commands/revoke.js';
import { CE_TYPES } from '../../src/pipeline/cloudevents.js';
import { follow, type Follower } from './helpers/follow.js';
import { brokers, randomTopicSuffix, testKafka } from './helpers/kafka.js';
import { createScratch, eventually, type Scratch } from '../../dev/pg-scratch.js';

const repo = resolve(import.meta.dirname, '../..');
const prefix = `pgrs-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-pg-restart-it');
const work = mkdtempSync(join(tmpdir(), 'grantline-pg-restart-'));
const grantlineConfig = join(work, 'grantline.yaml');
const adapterConfig = join(work, 'adapter.yaml');
const ENTITLEMENT = 'db-orders-prod-readwrite';
const ticket: AccessTicket = { entitlement: ENTITLEMENT, requester: 'alice', subject: { type: 'service_account', id: 'svc-orders' }, environment: 'prod', resource: 'orders-db', ttlHours: 4, approvedBy: ['bob', 'carol'] };

let stubs: Stubs;
let stack: Stack;
let scratch: Scratch;
let grants: Follower;
let results: Follower;
let child: ChildProcess | null = null;
let childErr = '';

/** The adapter as an installed team would run it: its own process, its config file. */
function startAdapterProcess(): ChildProcess {
  const c = spawn(process.execPath, ['--import', 'tsx', 'adapters/postgres/main.ts', '--config', adapterConfig], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  c.stderr?.on('data', (b: Buffer) => (childErr += b.toString()));
  return c;
}

async function kill(c: ChildProcess): Promise<void> {
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await exited;
}

async function grantFor(): Promise<string> {
  const issue = seedJiraTicket(stubs.jira, ticket);
  expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);
  const [grant] = await grants.wait((m) => m.type === CE_TYPES.grantIssued && (m.value.source as { ticketKey: string }).ticketKey === issue.key);
  if (!grant) throw new Error(`no grant for ${issue.key}`);
  return String(grant.value.grantId);
}

async function revokeByHand(grantId: string): Promise<string> {
  const quiet = [vi.spyOn(console, 'log').mockImplementation(() => undefined), vi.spyOn(console, 'error').mockImplementation(() => undefined)];
  try {
    // erin's DEV ONLY operator key, which the example config lists in trust.operators.
    expect(await revoke([grantId, '--reason', 'access no longer needed', '--actor', 'erin', '--key', resolve(import.meta.dirname, '../../examples/keys/dev-operator-erin.pem'), '--config', grantlineConfig])).toBe(0);
  } finally {
    for (const spy of quiet) spy.mockRestore();
  }
  const [revocation] = await grants.wait((m) => m.type === CE_TYPES.grantRevoked && m.value.grantId === grantId);
  if (!revocation) throw new Error(`no revocation of ${grantId}`);
  return String(revocation.value.revocationId);
}

async function statementLog(): Promise<{ action: string; grant_ids: string[] }[]> {
  const { rows } = await scratch.admin.query<{ action: string; grant_ids: string[] }>('SELECT action, grant_ids FROM grantline_adapter.membership_log ORDER BY id');
  return rows;
}

beforeAll(async () => {
  scratch = await createScratch([ENTITLEMENT], ['svc-orders']);
  stubs = await startStubs();
  const options: StackOptions = { brokers: brokers().join(','), topicPrefix: prefix, stubs, pipeline: { lifecycleTickMs: 500, revocationConfirmMs: 600_000 } };
  writeStackConfig(options, grantlineConfig);
  stack = await startStack(options);
  writeFileSync(
    adapterConfig,
    stringifyYaml({
      adapter: { name: 'postgres-restart', channel: 'pam', reconcileIntervalMs: 500 },
      jwks: `${stack.url}/.well-known/jwks.json`,
      signingKey: freshKey('pg-restart-1').input,
      kafka: { brokers: brokers(), topicPrefix: prefix },
      postgres: scratch.targetConfig(),
      log: { level: 'error' },
    }),
  );
  [grants, results] = await Promise.all([follow(kafka, `${prefix}access.grants.pam.v1`), follow(kafka, `${prefix}access.fulfillment.results.v1`)]);
}, 120_000);

afterAll(async () => {
  if (child !== null && child.exitCode === null) await kill(child);
  await Promise.all([grants, results].map((f) => f?.stop()));
  await stack?.stop();
  await stubs?.close();
  await scratch?.drop();
  rmSync(work, { recursive: true, force: true });
});

describe('the PostgreSQL adapter killed and restarted', () => {
  it('ends a membership revoked while it was down, and never adds back what was revoked before it read the revocation', async () => {
    child = startAdapterProcess();
    const first = await grantFor();
    expect(await eventually(() => scratch.isMember('svc-orders', ENTITLEMENT), 60_000)).toBe(true);
    expect((await results.wait((m) => m.value.grantId === first && m.value.status === 'provisioned')).length).toBe(1);
    await kill(child);

    // While the adapter is down: the first grant is revoked, and a second one is issued and revoked.
    const firstRevocation = await revokeByHand(first);
    const second = await grantFor();
    await revokeByHand(second);
    // Nobody else takes the membership away: the adapter really was down.
    expect(await scratch.isMember('svc-orders', ENTITLEMENT)).toBe(true);

    child = startAdapterProcess();
    expect(await eventually(async () => !(await scratch.isMember('svc-orders', ENTITLEMENT)), 60_000), childErr).toBe(true);
    const confirmed = await results.wait((m) => m.value.grantId === first && m.value.action === 'revoke');
    expect(confirmed.map((m) => [m.value.status, m.value.reference])).toEqual([['revoked', firstRevocation]]);

    // Several reconciles later (every 500 ms), still nothing: one GRANT, for the first grant, then its REVOKE.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await scratch.isMember('svc-orders', ENTITLEMENT)).toBe(false);
    expect(await statementLog()).toEqual([
      { action: 'grant', grant_ids: [first] },
      { action: 'revoke', grant_ids: [first] },
    ]);
    expect(results.messages.filter((m) => m.value.grantId === second)).toEqual([]);
    expect(results.messages.filter((m) => m.value.grantId === first && m.value.status === 'provisioned')).toHaveLength(1);
  }, 180_000);
});
