/**
 * Issue 7 on the real broker: every way a grant ends (TTL expiry across a restart, cancellation,
 * offboarding, directory check, manual revoke), fulfillment outcomes and the overdue-revocation
 * alert, the break-glass review, and `grantline evidence` telling the whole verified story.
 *
 * One stack (all roles in this process) with a clock the tests move forward; tests run in order
 * and the clock only ever moves forward, so each test asserts only on its own tickets.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startStack, startStubs, writeStackConfig, type Stack, type StackOptions, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, people, post, seedJiraTicket, type AccessTicket } from '../../dev/scenarios.js';
import type { StubIssue } from '../../dev/stubs/jira-stub.js';
import { run as evidence } from '../../src/cli/commands/evidence.js';
import { run as revoke } from '../../src/cli/commands/revoke.js';
import { createProducer, type GrantlineProducer, type InboundMessage } from '../../src/kafka/index.js';
import type { FulfillmentResult, IdentityLifecycleEvent } from '../../src/model/index.js';
import { CE_TYPES } from '../../src/pipeline/cloudevents.js';
import { Lifecycle } from '../../src/pipeline/lifecycle.js';
import { createPipelineMetrics } from '../../src/pipeline/metrics.js';
import { TopicTail } from '../../src/pipeline/state-view.js';
import { Registry } from 'prom-client';
import { sign } from '../../src/custody/index.js';
import { adapterTrust, freshKey } from '../../dev/signed-grants.js';
import { brokers, randomTopicSuffix, testKafka, testLogger } from './helpers/kafka.js';
import { until } from './helpers/wait.js';

const EXAMPLES = resolve(fileURLToPath(new URL('../../examples/', import.meta.url)));
/** erin's DEV ONLY operator key, listed in the example config's trust.operators. */
const OPERATOR_KEY = join(EXAMPLES, 'keys/dev-operator-erin.pem');
const PAM_ADAPTER = freshKey('cyberark-pam-it');
const WORKDAY_FEED = freshKey('workday');
const prefix = `lc-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-lifecycle-reader');
const work = mkdtempSync(join(tmpdir(), 'grantline-lifecycle-'));
const directoryFile = join(work, 'directory.yaml');
const configFile = join(work, 'grantline.yaml');

const topic = {
  pam: `${prefix}access.grants.pam.v1`,
  custody: `${prefix}access.custody.v1`,
  alerts: `${prefix}grantline.alerts.v1`,
  lifecycle: `${prefix}identity.lifecycle.v1`,
  fulfillment: `${prefix}access.fulfillment.results.v1`,
  ticketEvents: `${prefix}grantline.ticket-events.v1`,
  dlq: `${prefix}grantline.dlq.v1`,
};

/** The pipeline's clock: the wall clock plus an offset the tests only ever move forward. */
let offsetMs = 0;
const clock = (): Date => new Date(Date.now() + offsetMs);
function setClock(at: number): void {
  offsetMs = Math.max(offsetMs, at - Date.now());
}

type Directory = { principals: Record<string, unknown>[]; groups: Record<string, string[]>; nhis: Record<string, unknown>[] };
const baseDirectory = parseYaml(readFileSync(join(EXAMPLES, 'directory.yaml'), 'utf8')) as Directory;

/**
 * The example directory plus: alice owns three prod service accounts (offboarding one owner ends
 * several NHIs' grants), grace owns svc-billing, and henry (active at first) owns svc-batch.
 */
function writeDirectory(henryActive: boolean): void {
  const doc: Directory = structuredClone(baseDirectory);
  doc.principals.push({ id: 'henry', displayName: 'Henry Hale', active: henryActive, manager: 'dave', identities: { email: 'henry@example.com' } });
  doc.nhis.push(
    { id: 'svc-reports', type: 'service_account', owner: 'alice', environment: 'prod', description: 'Orders reporting account.' },
    { id: 'svc-ledger', type: 'service_account', owner: 'alice', environment: 'prod', description: 'Ledger export account.' },
    { id: 'svc-billing', type: 'service_account', owner: 'grace', environment: 'prod', description: 'Billing account.' },
    { id: 'svc-batch', type: 'service_account', owner: 'henry', environment: 'prod', description: 'Batch account.' },
  );
  writeFileSync(directoryFile, stringifyYaml(doc));
}

let stubs: Stubs;
let stack: Stack;
let stackOptions: StackOptions;

/** Everything read from a topic so far, in partition/offset order. */
interface Seen {
  partition: number;
  offset: bigint;
  key: string | null;
  type: string;
  value: Record<string, unknown>;
}
const tails: TopicTail[] = [];
const seen = new Map<string, Seen[]>();

async function follow(name: string): Promise<void> {
  const list: Seen[] = [];
  seen.set(name, list);
  const tail = new TopicTail(kafka, name, (message: InboundMessage, partition: number) => {
    let value: Record<string, unknown> = {};
    try {
      value = JSON.parse(message.value?.toString('utf8') ?? 'null') as Record<string, unknown>;
    } catch {
      value = {};
    }
    list.push({ partition, offset: BigInt(message.offset), key: message.key?.toString('utf8') ?? null, type: message.headers?.ce_type?.toString() ?? '', value });
  });
  tails.push(tail);
  await tail.start();
}

async function waitFor(name: string, match: (s: Seen) => boolean, count = 1, timeoutMs = 30_000): Promise<Seen[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (seen.get(name) ?? []).filter(match);
    if (found.length >= count || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const isRevocation = (grantId: string) => (s: Seen) => s.type === CE_TYPES.grantRevoked && s.value.grantId === grantId;
const custodyOf = (grantId: string, kind: string) => (s: Seen) => s.value.grantId === grantId && s.value.kind === kind;

/** Files a Jira ticket, delivers its webhook, and returns the grant it produced. */
async function granted(ticket: AccessTicket): Promise<{ issue: StubIssue; grant: Seen }> {
  const issue = seedJiraTicket(stubs.jira, ticket);
  const res = await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)));
  expect(res.status).toBe(202);
  const [grant] = await waitFor(topic.pam, (s) => s.type === CE_TYPES.grantIssued && (s.value.source as { ticketKey: string }).ticketKey === issue.key);
  if (!grant) throw new Error(`no grant for ${issue.key}`);
  return { issue, grant };
}

function ordersTicket(subjectId: string, ttlHours = 4): AccessTicket {
  return {
    entitlement: 'db-orders-prod-readwrite',
    requester: 'alice',
    subject: { type: 'service_account', id: subjectId },
    environment: 'prod',
    resource: 'orders-db',
    ttlHours,
    approvedBy: ['bob', 'carol'],
  };
}

/** The grant's revocation, checked to come after the grant on the same topic, partition and key. */
async function revocationOf(grant: Seen, timeoutMs = 30_000): Promise<Seen> {
  const grantId = String(grant.value.grantId);
  const [revocation] = await waitFor(topic.pam, isRevocation(grantId), 1, timeoutMs);
  expect(revocation, `grant.revoked for ${grantId}`).toBeDefined();
  const r = revocation as Seen;
  expect(r.key).toBe(grantId);
  expect(grant.key).toBe(grantId);
  expect(r.partition).toBe(grant.partition);
  expect(r.offset > grant.offset).toBe(true);
  return r;
}

function commentsWith(issue: StubIssue, text: string): string[] {
  return stubs.jira.state.comments(issue.id).map((c) => c.text).filter((t) => t.includes(text));
}

async function produce(name: string, key: string, value: unknown): Promise<void> {
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    await producer.send(name, [{ key, value: JSON.stringify(value), headers: {} }]);
  } finally {
    await producer.disconnect();
  }
}

/** A result signed by the pam adapter's key, which the stack's config registers for the pam channel. */
function fulfillment(grantId: string, action: FulfillmentResult['action'], status: FulfillmentResult['status'], reference: string, detail?: string): FulfillmentResult {
  return sign({ grantId, action, status, adapter: 'cyberark-pam', reference, at: clock().toISOString(), ...(detail === undefined ? {} : { detail }) }, PAM_ADAPTER.keys);
}

/** Runs a CLI command's `run()` and returns its exit code and what it printed on stdout. */
async function cli(command: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await command([...argv, '--config', configFile]);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${stack.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Whether a gauge without labels on the stack's /metrics comes to satisfy `ok` within 30 s. */
async function gaugeComes(name: string, ok: (value: number) => boolean): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    if (line !== undefined && ok(Number(line.slice(name.length + 1)))) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  writeDirectory(true);
  stubs = await startStubs();
  stackOptions = {
    brokers: brokers().join(','),
    topicPrefix: prefix,
    stubs,
    clock,
    pipeline: { lifecycleTickMs: 200, reviewPollMs: 500, directoryCheckMs: 500, revocationConfirmMs: 60_000 },
    edit: (tree) => {
      tree.directory = { path: directoryFile };
      const feed = adapterTrust('-', WORKDAY_FEED);
      (tree.trust as Record<string, unknown>).identityFeeds = [{ id: 'workday', publicKeyPem: feed.publicKeyPem }];
    },
    adapters: [adapterTrust('pam', PAM_ADAPTER)],
  };
  writeStackConfig(stackOptions, configFile);
  stack = await startStack(stackOptions);
  await Promise.all(Object.values(topic).map((t) => follow(t)));
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all(tails.map((t) => t.stop()));
  await stubs?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('grant lifecycle on the real broker', () => {
  it('revokes an expired grant on time after a restart, from the state kept in Kafka', async () => {
    const { grant } = await granted(ordersTicket('svc-orders', 1));
    const grantId = String(grant.value.grantId);
    const expiresAt = Date.parse(String(grant.value.expiresAt));
    expect(expiresAt - Date.parse(String(grant.value.validFrom))).toBe(3600_000);

    // A new stack (new process state: runtime, views, consumers) knows the grant only from Kafka.
    await stack.stop();
    stack = await startStack(stackOptions);
    // Two seconds before expiry by the pipeline's clock, once the new stack is up.
    setClock(expiresAt - 2_000);

    const revocation = await revocationOf(grant);
    expect(revocation.value.trigger).toBe('ttl-expired');
    const late = Date.parse(String(revocation.value.revokedAt)) - expiresAt;
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(5_000);
    const [custody] = await waitFor(topic.custody, custodyOf(grantId, 'grant.revoked'));
    expect((custody?.value.data as { trigger: string }).trigger).toBe('ttl-expired');
  }, 120_000);

  it('revokes when the ticket is cancelled in Jira, and says so on the ticket', async () => {
    const { issue, grant } = await granted(ordersTicket('svc-orders'));
    const grantId = String(grant.value.grantId);
    const alice = people.get('alice')?.identities.jiraAccountId;
    stubs.jira.state.transition(issue.id, 'Cancelled', { accountId: alice ?? 'alice', displayName: 'alice' }, new Date());
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);

    const revocation = await revocationOf(grant);
    expect(revocation.value.trigger).toBe('ticket-cancelled');
    expect(String(revocation.value.reason)).toContain(issue.key);
    const [custody] = await waitFor(topic.custody, custodyOf(grantId, 'grant.revoked'));
    expect((custody?.value.data as { trigger: string }).trigger).toBe('ticket-cancelled');
    expect(await until(() => commentsWith(issue, `Access revoked: grant ${grantId}`).length === 1)).toBe(true);
    expect(commentsWith(issue, `Access revoked: grant ${grantId}`)[0]).toMatch(/cancelled.*\[ticket-cancelled\]/);
  });

  it('revokes when an approval is withdrawn after the grant', async () => {
    const { issue, grant } = await granted(ordersTicket('svc-orders'));
    const grantId = String(grant.value.grantId);
    // Carol changes her mind: JSM now shows her decision, and so the approval, as declined.
    const approval = issue.approvals?.[0];
    if (!approval) throw new Error('seeded ticket has no approval');
    const carol = approval.approvers.find((a) => a.approver.displayName === 'carol');
    if (!carol) throw new Error('carol is not an approver');
    carol.approverDecision = 'declined';
    approval.finalDecision = 'declined';
    expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);

    const revocation = await revocationOf(grant);
    expect(revocation.value.trigger).toBe('approval-withdrawn');
    const [custody] = await waitFor(topic.custody, custodyOf(grantId, 'grant.revoked'));
    expect((custody?.value.data as { trigger: string }).trigger).toBe('approval-withdrawn');
    expect(await until(() => commentsWith(issue, `Access revoked: grant ${grantId}`).length === 1)).toBe(true);
    expect(commentsWith(issue, `Access revoked: grant ${grantId}`)[0]).toContain('[approval-withdrawn]');
  });

  it("revokes every grant to the NHIs an offboarded owner owns, and nobody else's", async () => {
    const alices = [await granted(ordersTicket('svc-orders')), await granted(ordersTicket('svc-reports')), await granted(ordersTicket('svc-ledger'))];
    const graces = await granted(ordersTicket('svc-billing'));

    // Signed by the workday feed's key, which the stack's config registers (trust.identityFeeds).
    const event: IdentityLifecycleEvent = sign({ type: 'principal.offboarded', principalId: 'alice', at: clock().toISOString(), source: 'workday' }, WORKDAY_FEED.keys);
    await produce(topic.lifecycle, 'alice', event);

    for (const { issue, grant } of alices) {
      const revocation = await revocationOf(grant);
      expect(revocation.value.trigger).toBe('owner-offboarded');
      expect(String(revocation.value.reason)).toContain(`alice, owner of ${(grant.value.subject as { id: string }).id}, was offboarded (workday`);
      const id = String(grant.value.grantId);
      expect(await until(() => commentsWith(issue, `Access revoked: grant ${id}`).length === 1)).toBe(true);
      expect(commentsWith(issue, `Access revoked: grant ${id}`)[0]).toContain('alice, owner of');
    }
    // Grace's NHI is untouched, by the time all of alice's revocations are out and a while after.
    await new Promise((r) => setTimeout(r, 2_000));
    expect((seen.get(topic.pam) ?? []).filter(isRevocation(String(graces.grant.value.grantId)))).toEqual([]);
  });

  it('revokes grants of an NHI whose owner is found inactive at the periodic directory check', async () => {
    const { issue, grant } = await granted(ordersTicket('svc-batch'));
    const grantId = String(grant.value.grantId);
    // Give the lifecycle a few checks with henry active: nothing happens.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((seen.get(topic.pam) ?? []).filter(isRevocation(grantId))).toEqual([]);

    writeDirectory(false);
    const revocation = await revocationOf(grant);
    expect(revocation.value.trigger).toBe('owner-offboarded');
    expect(String(revocation.value.reason)).toContain('henry, the owner of svc-batch, is no longer active in the directory');
    expect(await until(() => commentsWith(issue, `Access revoked: grant ${grantId}`).length === 1)).toBe(true);
  });

  it('revokes by hand through `grantline revoke`, recorded with its actor', async () => {
    const { issue, grant } = await granted(ordersTicket('svc-orders'));
    const grantId = String(grant.value.grantId);
    // Only an active directory principal may sign a revocation: an inactive or unknown actor is
    // refused before anything is published (had it been, the revocation below would name them, as
    // the ticket's commands are applied in order).
    for (const [actor, message] of [
      ['mallory', '--actor "mallory" (Mallory Moss) is not active in the directory'],
      ['someone-else', '--actor "someone-else" is not a principal in the directory'],
    ]) {
      const refused = await cli(revoke, [grantId, '--reason', 'not mine to end', '--actor', actor as string, '--key', OPERATOR_KEY]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(message);
    }
    const result = await cli(revoke, [grantId, '--reason', 'incident INC-42 is over', '--actor', 'erin', '--key', OPERATOR_KEY]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ grantId, revoked: true, actor: 'erin', ticket: issue.key });

    const revocation = await revocationOf(grant);
    expect(revocation.value).toMatchObject({ trigger: 'manual', actor: 'erin', reason: 'incident INC-42 is over' });
    const [custody] = await waitFor(topic.custody, custodyOf(grantId, 'grant.revoked'));
    expect(custody?.value).toMatchObject({ actor: 'erin', data: { trigger: 'manual' } });
    expect(await until(() => commentsWith(issue, `Access revoked: grant ${grantId}`).length === 1)).toBe(true);
    expect(commentsWith(issue, `Access revoked: grant ${grantId}`)[0]).toContain('incident INC-42 is over [manual]');

    // Revoking again is not an error and changes nothing.
    const again = await cli(revoke, [grantId, '--reason', 'again', '--actor', 'erin', '--key', OPERATOR_KEY]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ grantId, alreadyRevoked: true, revocationId: revocation.value.revocationId });
  });

  it('records fulfillment outcomes, and alerts and re-sends a revocation no adapter confirms in time', async () => {
    const confirmed = await granted(ordersTicket('svc-orders'));
    const silent = await granted(ordersTicket('svc-reports'));
    const failing = await granted(ordersTicket('svc-ledger'));
    const confirmedId = String(confirmed.grant.value.grantId);
    const silentId = String(silent.grant.value.grantId);
    const failingId = String(failing.grant.value.grantId);

    await produce(topic.fulfillment, confirmedId, fulfillment(confirmedId, 'provision', 'provisioned', 'acct-7781'));
    const [provisioned] = await waitFor(topic.custody, custodyOf(confirmedId, 'fulfillment.reported'));
    expect(provisioned?.value.data).toMatchObject({ status: 'provisioned', adapter: 'cyberark-pam', reference: 'acct-7781' });
    expect(await until(() => commentsWith(confirmed.issue, `reports grant ${confirmedId} provisioned`).length === 1)).toBe(true);

    for (const id of [confirmedId, silentId, failingId]) expect((await cli(revoke, [id, '--reason', 'job finished', '--actor', 'erin', '--key', OPERATOR_KEY])).code).toBe(0);
    const first = await revocationOf(silent.grant);
    await revocationOf(confirmed.grant);

    // An adapter that fails to revoke is answered at once: alert, and the same revocation again.
    const failingRevocation = await revocationOf(failing.grant);
    await produce(topic.fulfillment, failingId, fulfillment(failingId, 'revoke', 'failed', 'acct-7790', 'account locked by another session'));
    const [failedAlert] = await waitFor(topic.alerts, (s) => s.value.grantId === failingId);
    expect(failedAlert?.value).toMatchObject({ kind: 'revocation.failed', ticket: { ticketKey: failing.issue.key } });
    const again = await waitFor(topic.pam, isRevocation(failingId), 2);
    expect(again.map((r) => r.value.revocationId)).toEqual([failingRevocation.value.revocationId, failingRevocation.value.revocationId]);
    expect(await until(() => commentsWith(failing.issue, `reports grant ${failingId} failed`).length === 1)).toBe(true);

    await produce(topic.fulfillment, confirmedId, fulfillment(confirmedId, 'revoke', 'revoked', 'acct-7781'));
    await waitFor(topic.custody, (s) => custodyOf(confirmedId, 'fulfillment.reported')(s) && (s.value.data as { status: string }).status === 'revoked');
    expect(await until(() => commentsWith(confirmed.issue, `reports grant ${confirmedId} revoked`).length === 1)).toBe(true);

    const overdueAlerts = (): number => (seen.get(topic.alerts) ?? []).filter((s) => s.value.kind === 'revocation.overdue').length;
    const overdueBefore = await metric('grantline_lifecycle_events_total', 'kind="alert:revocation.overdue"');
    const alertsBefore = overdueAlerts();
    setClock(Date.parse(String(first.value.revokedAt)) + 61_000);
    const [alert] = await waitFor(topic.alerts, (s) => s.value.grantId === silentId && s.value.kind === 'revocation.overdue');
    expect(alert?.value).toMatchObject({ kind: 'revocation.overdue', ticket: { ticketKey: silent.issue.key } });
    expect(String(alert?.value.message)).toContain('not confirmed');
    expect(alert?.type).toBe(CE_TYPES.lifecycleAlert);
    // The very same signed revocation goes out again on the grant's topic and key.
    const resent = await waitFor(topic.pam, isRevocation(silentId), 2);
    expect(resent).toHaveLength(2);
    expect(resent.map((r) => r.value.revocationId)).toEqual([first.value.revocationId, first.value.revocationId]);
    expect(resent.map((r) => r.key)).toEqual([silentId, silentId]);
    expect(await waitFor(topic.custody, custodyOf(silentId, 'revocation.overdue'))).toHaveLength(1);
    // The metric counts each alert once: as many as were published (earlier tests' unconfirmed
    // revocations went overdue with the same jump of the clock).
    let counted = 0;
    for (let i = 0; i < 50; i += 1) {
      counted = (await metric('grantline_lifecycle_events_total', 'kind="alert:revocation.overdue"')) - overdueBefore;
      if (counted >= 1 && counted === overdueAlerts() - alertsBefore) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(counted).toBeGreaterThanOrEqual(1);
    expect(counted).toBe(overdueAlerts() - alertsBefore);
    // The confirmed revocation raised no alert.
    expect((seen.get(topic.alerts) ?? []).filter((s) => s.value.grantId === confirmedId)).toEqual([]);
  });

  it('break-glass: short TTL, review ticket opened and linked, escalation when overdue, outcome recorded; evidence tells the story', async () => {
    const { issue, grant } = await granted({
      entitlement: 'prod-breakglass-admin',
      requester: 'alice',
      subject: { type: 'human', id: 'alice' },
      environment: 'prod',
      resource: 'prod-fleet',
      breakGlass: true,
      description: 'Prod outage, need root on the fleet now.',
    });
    const grantId = String(grant.value.grantId);
    // The catalog's break-glass cap is 1 h (the entry's normal maximum is 4 h).
    expect(grant.value.ttlSeconds).toBe(3600);
    expect(grant.value.breakGlass).toMatchObject({ active: true });
    const reviewDueAt = Date.parse(String((grant.value.breakGlass as { reviewDueAt: string }).reviewDueAt));
    expect(reviewDueAt - Date.parse(String(grant.value.validFrom))).toBe(24 * 3600_000);

    // The review ticket is opened in the review project, linked to the request, and noted on it.
    const [opened] = await waitFor(topic.custody, custodyOf(grantId, 'review.opened'));
    const reviewKey = String((opened?.value.data as { ticketKey: string }).ticketKey);
    expect(reviewKey).toMatch(/^REV-\d+$/);
    const review = stubs.jira.state.issue(reviewKey) as StubIssue;
    expect(review.fields.summary).toContain(grantId);
    expect(review.links).toContainEqual(expect.objectContaining({ inward: reviewKey, outward: issue.key }));
    expect(await until(() => commentsWith(issue, `Post-event review opened for break-glass grant ${grantId}: ${reviewKey}`).length === 1)).toBe(true);

    await produce(topic.fulfillment, grantId, fulfillment(grantId, 'provision', 'provisioned', 'sess-99'));
    await waitFor(topic.custody, custodyOf(grantId, 'fulfillment.reported'));

    // A day later: the grant has long expired, and the review is still open.
    setClock(reviewDueAt + 1_000);
    const revocation = await revocationOf(grant);
    expect(revocation.value.trigger).toBe('ttl-expired');
    const [escalation] = await waitFor(topic.alerts, (s) => s.value.grantId === grantId && s.value.kind === 'review.overdue');
    expect(String(escalation?.value.message)).toContain(`still open (${reviewKey})`);
    await waitFor(topic.custody, custodyOf(grantId, 'review.overdue'));
    // The escalation is also where people look: a note on the ticket and on the review ticket, once, and a gauge.
    expect(await until(() => commentsWith(issue, `ESCALATION: the post-event review of break-glass grant ${grantId}`).length === 1)).toBe(true);
    expect(await until(() => stubs.jira.state.comments(review.id).filter((c) => c.text.includes(`ESCALATION: this review of break-glass grant ${grantId}`)).length === 1)).toBe(true);
    expect(await gaugeComes('grantline_reviews_overdue', (v) => v >= 1)).toBe(true);
    await produce(topic.fulfillment, grantId, fulfillment(grantId, 'revoke', 'revoked', 'sess-99'));

    // The reviewer closes the review.
    review.fields.status = { name: 'Done', id: '3', statusCategory: { key: 'done' } };
    review.fields.resolution = { name: 'Access justified' };
    review.fields.resolutiondate = new Date().toISOString().replace('Z', '+0000');
    const [closed] = await waitFor(topic.custody, custodyOf(grantId, 'review.closed'));
    expect(closed?.value.data).toMatchObject({ review: reviewKey, outcome: 'access justified' });
    expect(await gaugeComes('grantline_reviews_overdue', (v) => v === 0)).toBe(true);
    expect(commentsWith(issue, `ESCALATION: the post-event review of break-glass grant ${grantId}`)).toHaveLength(1);
    await waitFor(topic.custody, (s) => custodyOf(grantId, 'fulfillment.reported')(s) && (s.value.data as { status: string }).status === 'revoked');

    const story = await cli(evidence, ['--grant', grantId]);
    expect(story.stderr).toBe('');
    expect(story.code).toBe(0);
    const text = story.stdout;
    expect(text).toContain(`Ticket ${issue.key}`);
    expect(text).toMatch(/requested by alice \(jira-account-id [0-9a-f]+\): prod-breakglass-admin for \{"type":"human","id":"alice"\} as BREAK-GLASS/);
    expect(text).toMatch(/GRANTED prod-breakglass-admin .* for 3600 s .*; approvals \[\]/);
    expect(text).toContain('BREAK-GLASS, review due');
    expect(text).toContain('2026-01'); // policy version
    expect(text).toContain(`post-event review opened: ${reviewKey}`);
    expect(text).toMatch(/adapter cyberark-pam reports provision → provisioned \(ref sess-99\)/);
    expect(text).toMatch(/REVOKED \(ttl-expired\)/);
    expect(text).toMatch(/adapter cyberark-pam reports revoke → revoked \(ref sess-99\)/);
    expect(text).toContain('ESCALATION');
    expect(text).toContain(`post-event review ${reviewKey} closed with outcome access justified`);
    expect(text).toContain(`✔ grant ${grantId}`);
    expect(text).toContain(`✔ revocation ${String(revocation.value.revocationId)}`);
    expect(text).toContain('Evidence verified: chain intact, every signature valid.');
  }, 90_000);

  it('a lifecycle consumer that crashes for good reports itself instead of looking healthy', async () => {
    const broken: GrantlineProducer = {
      transactional: false,
      connect: async () => undefined,
      disconnect: async () => undefined,
      send: async () => {
        throw new TypeError('producer is broken');
      },
      sendBatch: async () => {
        throw new TypeError('producer is broken');
      },
      transaction: async () => {
        throw new TypeError('producer is broken');
      },
    };
    const fatal: unknown[] = [];
    const lifecycle = new Lifecycle({
      kafka,
      producer: broken,
      topics: { ticketEvents: topic.ticketEvents, lifecycle: topic.lifecycle, fulfillmentResults: topic.fulfillment, dlq: topic.dlq },
      groupId: `${prefix}crash-${randomTopicSuffix()}`,
      logger: testLogger(),
      metrics: createPipelineMetrics(new Registry()),
      onFatal: (err) => fatal.push(err),
      // Opens anything (this test is about a failing DLQ write, not about signatures).
      trust: { open: (_topic, _partition, message) => ({ ok: true, value: JSON.parse(message.value?.toString('utf8') ?? 'null') as unknown, kid: 'test' }), serves: () => true, refuse: async () => undefined },
    });
    try {
      await lifecycle.start();
      // Not an identity event: it goes to the DLQ, and the broken producer makes that throw.
      await produce(topic.lifecycle, 'junk', { hello: 'world' });
      expect(await until(() => fatal.length > 0, 30_000)).toBe(true);
      expect(String(fatal[0])).toContain('producer is broken');
    } finally {
      await lifecycle.stop();
    }
  });
});
