/**
 * Issue 13 end to end on the real broker: the identity provider speaks over SCIM and grantline
 * acts. Group membership from the IdP decides who may approve new requests; the IdP deactivating
 * alice revokes the grant to svc-orders, which she owns (`grant.revoked`, trigger
 * `owner-offboarded`, a note on the ticket), and a new request for svc-orders is refused
 * `OWNER_INACTIVE`; bad SCIM input gets the right SCIM error and writes nothing.
 *
 * The periodic owner check runs once an hour here, so what revokes is the offboarding event the
 * SCIM endpoint writes, which the lifecycle consumes as it arrives.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startStack, startStubs, writeStackConfig, type Stack, type StackOptions, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket, type AccessTicket } from '../../dev/scenarios.js';
import type { StubIssue } from '../../dev/stubs/jira-stub.js';
import { run as directoryCommand } from '../../src/cli/commands/directory.js';
import type { InboundMessage } from '../../src/kafka/index.js';
import { CE_TYPES } from '../../src/pipeline/cloudevents.js';
import { readTopic, TopicTail } from '../../src/pipeline/state-view.js';
import { fixtureText } from '../fixtures/scim/requests.js';
import { brokers, randomTopicSuffix, testKafka } from './helpers/kafka.js';
import { until } from './helpers/wait.js';

const TOKEN = `scim-e2e-${randomTopicSuffix()}-0123456789abcdefghijkl`;
const prefix = `scimoff-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-scim-offboarding');
const topic = {
  pam: `${prefix}access.grants.pam.v1`,
  rejected: `${prefix}access.requests.rejected.v1`,
  lifecycle: `${prefix}identity.lifecycle.v1`,
  directory: `${prefix}grantline.directory.v1`,
};
const BODY_LIMIT = 16 * 1024;

let stubs: Stubs;
let stack: Stack;

interface Seen {
  key: string | null;
  type: string;
  value: Record<string, unknown>;
}
const seen = new Map<string, Seen[]>();
const tails: TopicTail[] = [];

async function follow(name: string): Promise<void> {
  const list: Seen[] = [];
  seen.set(name, list);
  const tail = new TopicTail(kafka, name, (message: InboundMessage) => {
    list.push({ key: message.key?.toString('utf8') ?? null, type: message.headers?.ce_type?.toString() ?? '', value: JSON.parse(message.value?.toString('utf8') ?? '{}') as Record<string, unknown> });
  });
  tails.push(tail);
  await tail.start();
}

async function waitFor(name: string, match: (s: Seen) => boolean, timeoutMs = 30_000): Promise<Seen> {
  expect(await until(() => (seen.get(name) ?? []).some(match), timeoutMs), `a message on ${name}`).toBe(true);
  return (seen.get(name) ?? []).find(match) as Seen;
}

const ofTicket = (issue: StubIssue) => (s: Seen) => (s.value.source as { ticketKey?: string } | undefined)?.ticketKey === issue.key;

async function file(ticket: AccessTicket): Promise<StubIssue> {
  const issue = seedJiraTicket(stubs.jira, ticket);
  expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)))).status).toBe(202);
  return issue;
}

async function granted(ticket: AccessTicket): Promise<{ issue: StubIssue; grantId: string }> {
  const issue = await file(ticket);
  const grant = await waitFor(topic.pam, (s) => s.type === CE_TYPES.grantIssued && ofTicket(issue)(s));
  return { issue, grantId: String(grant.value.grantId) };
}

async function rejected(ticket: AccessTicket): Promise<{ codes: string[]; value: Record<string, unknown> }> {
  const issue = await file(ticket);
  const rejection = await waitFor(topic.rejected, ofTicket(issue));
  return { codes: (rejection.value.reasons as { code: string }[]).map((r) => r.code), value: rejection.value };
}

async function scim(method: string, path: string, body?: unknown, token = TOKEN): Promise<{ status: number; json: Record<string, unknown> | null }> {
  const res = await fetch(`${stack.url}/scim/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? null : (JSON.parse(text) as Record<string, unknown>) };
}

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const createUser = async (userName: string): Promise<string> => {
  const res = await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, emails: [{ primary: true, value: userName, type: 'work' }], active: true });
  expect(res.status).toBe(201);
  return String(res.json?.id);
};

const work = mkdtempSync(join(tmpdir(), 'grantline-scim-offboarding-'));
const configFile = join(work, 'grantline.yaml');

beforeAll(async () => {
  stubs = await startStubs();
  const options: StackOptions = {
    brokers: brokers().join(','),
    topicPrefix: prefix,
    stubs,
    pipeline: { pollIntervalMs: 0, lifecycleTickMs: 200, directoryCheckMs: 3_600_000 },
    edit: (tree) => {
      tree.scim = { enabled: true, bearerToken: TOKEN };
      tree.http = { ...(tree.http as object), bodyLimitBytes: BODY_LIMIT };
    },
  };
  writeStackConfig(options, configFile);
  stack = await startStack(options);
  await Promise.all(Object.values(topic).map((t) => follow(t)));
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all(tails.map((t) => t.stop()));
  await stubs?.close();
  rmSync(work, { recursive: true, force: true });
});

/** `grantline directory ...` against the running stack's config; its exit code and stdout. */
async function directoryCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    return { code: await directoryCommand([...argv, '--config', configFile]), stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

const ids: Record<string, string> = {};

describe('the identity provider over SCIM, end to end', () => {
  it('group membership from the IdP decides whose approvals count for new decisions', async () => {
    ids.bob = await createUser('bob@example.com');
    ids.carol = await createUser('carol@example.com');
    const group = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'data-platform-owners', members: [{ value: ids.bob }, { value: ids.carol }] });
    expect(group.status).toBe(201);
    ids.group = String(group.json?.id);
    const first = await granted(nhiDualApproval());

    // The IdP takes carol out of the group (Okta's form of the request).
    const removal = { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${ids.carol}"]` }] };
    expect((await scim('PATCH', `/Groups/${ids.group}`, removal)).status).toBe(204);
    const refused = await rejected(nhiDualApproval());
    expect(refused.codes).toEqual(expect.arrayContaining(['APPROVER_NOT_AUTHORIZED', 'INSUFFICIENT_APPROVALS']));
    // A grant already given stays: the removal counts for new decisions only.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((seen.get(topic.pam) ?? []).filter((s) => s.type === CE_TYPES.grantRevoked && s.value.grantId === first.grantId)).toEqual([]);

    expect((await scim('PATCH', `/Groups/${ids.group}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: ids.carol }] }] })).status).toBe(204);
  });

  it('the IdP deactivates alice: the grant to svc-orders she owns is revoked, the ticket says why, a new request is refused OWNER_INACTIVE; reactivation grants nothing', async () => {
    // Okta's order: look alice up by userName, then create her; she is the directory file's alice.
    expect((await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "alice@example.com"')}`)).json).toMatchObject({ totalResults: 0 });
    ids.alice = await createUser('alice@example.com');
    expect((await scim('GET', `/Users/${ids.alice}`)).json).toMatchObject({ 'urn:grantline:scim:schemas:extension:2.0:User': { principalId: 'alice' } });
    const { issue, grantId } = await granted(nhiDualApproval());
    const grantDecision = await waitFor(topic.pam, (s) => s.value.grantId === grantId && s.type === CE_TYPES.grantIssued);

    // Okta's deactivation, as published, for alice.
    const deactivate = fixtureText('okta/06-deactivate-user-patch.http').split('\n\n')[1] as string;
    expect((await scim('PATCH', `/Users/${ids.alice}`, deactivate)).json).toMatchObject({ active: false });

    const offboarding = await waitFor(topic.lifecycle, (s) => s.key === 'alice');
    expect(offboarding.value).toMatchObject({ type: 'principal.deactivated', principalId: 'alice', source: 'scim' });
    const revocation = await waitFor(topic.pam, (s) => s.type === CE_TYPES.grantRevoked && s.value.grantId === grantId);
    expect(revocation.value.trigger).toBe('owner-offboarded');
    expect(String(revocation.value.reason)).toContain('alice, owner of svc-orders, was offboarded (scim');
    const note = (): string | undefined => stubs.jira.state.comments(issue.id).map((c) => c.text).find((t) => t.includes(`Access revoked: grant ${grantId}`));
    expect(await until(() => note() !== undefined)).toBe(true);
    expect(note()).toContain('alice, owner of svc-orders, was offboarded (scim');
    expect(note()).toContain('[owner-offboarded]');

    const refused = await rejected(nhiDualApproval());
    expect(refused.codes).toContain('OWNER_INACTIVE');
    // The decision records the directory SCIM changed.
    const policyOf = (v: Record<string, unknown>) => (v.policy as { directoryVersion: string }).directoryVersion;
    expect(policyOf(refused.value)).not.toBe(policyOf(grantDecision.value));

    // Reactivated, alice gets nothing back by that alone: no grant, no event.
    const grantsBefore = (seen.get(topic.pam) ?? []).filter((s) => s.type === CE_TYPES.grantIssued).length;
    const eventsBefore = (seen.get(topic.lifecycle) ?? []).length;
    expect((await scim('PATCH', `/Users/${ids.alice}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: true } }] })).json).toMatchObject({ active: true });
    await new Promise((r) => setTimeout(r, 1_500));
    expect((seen.get(topic.pam) ?? []).filter((s) => s.type === CE_TYPES.grantIssued)).toHaveLength(grantsBefore);
    expect(seen.get(topic.lifecycle) ?? []).toHaveLength(eventsBefore);
  });

  it('bad input gets the right SCIM error and writes nothing', async () => {
    const count = async (name: string) => (await readTopic(kafka, name)).length;
    const before = { directory: await count(topic.directory), lifecycle: await count(topic.lifecycle) };
    const deactivate = { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] };

    const filter = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "alice@example.com" or userName eq "bob@example.com"')}`);
    expect(filter).toMatchObject({ status: 400, json: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidFilter' } });
    const path = await scim('PATCH', `/Users/${ids.alice}`, { schemas: [PATCH_OP], Operations: [deactivate.Operations[0], { op: 'replace', path: 'favouriteColour', value: 'red' }] });
    expect(path).toMatchObject({ status: 400, json: { status: '400', scimType: 'invalidPath' } });
    const token = await scim('PATCH', `/Users/${ids.alice}`, deactivate, `${TOKEN}-wrong`);
    expect(token).toMatchObject({ status: 401, json: { status: '401' } });
    const big = await scim('PATCH', `/Users/${ids.alice}`, { ...deactivate, padding: 'x'.repeat(BODY_LIMIT) });
    expect(big).toMatchObject({ status: 413, json: { status: '413' } });

    expect({ directory: await count(topic.directory), lifecycle: await count(topic.lifecycle) }).toEqual(before);
    expect((await scim('GET', `/Users/${ids.alice}`)).json).toMatchObject({ active: true });
  });

  it('`grantline directory show` says what grantline knows of a person and where each fact came from; a conflict is reported', async () => {
    const bob = await directoryCli(['show', 'bob']);
    expect(bob.stderr).toBe('');
    expect(bob.code).toBe(0);
    expect(bob.stdout).toMatch(/active\s+true\s+SCIM/);
    expect(bob.stdout).toMatch(/email\s+bob@example\.com\s+SCIM/);
    expect(bob.stdout).toMatch(/jiraAccountId\s+a7dcc13a56eec540b8e04fe8\s+file/);
    expect(bob.stdout).toMatch(/groups\s+data-platform-owners \(SCIM\)/);
    expect(bob.stdout).toContain(`SCIM user ${ids.bob}, userName bob@example.com`);
    const alice = JSON.parse((await directoryCli(['show', 'alice', '--json'])).stdout) as Record<string, unknown>;
    expect(alice).toMatchObject({ kind: 'principal', owns: [{ id: 'svc-orders' }], scim: { id: ids.alice, deleted: false } });
    expect(alice.facts).toContainEqual({ field: 'active', value: true, source: 'scim' });

    // The file says mallory left; the IdP provisions her as active: SCIM wins, and it is reported.
    await createUser('mallory@example.com');
    const mallory = await directoryCli(['show', 'mallory']);
    expect(mallory.stdout).toMatch(/active\s+true\s+SCIM/);
    expect(mallory.stdout).toContain("conflict: active: the file says active false, SCIM says true; SCIM's word is in force");
    const metrics = async () => (await (await fetch(`${stack.url}/metrics`)).text()).split('\n').find((l) => l.startsWith('grantline_directory_conflicts{kind="principal"}'));
    let line: string | undefined;
    for (let i = 0; i < 50 && !(line = await metrics())?.endsWith(' 1'); i += 1) await new Promise((r) => setTimeout(r, 100));
    expect(line).toBe('grantline_directory_conflicts{kind="principal"} 1');
  });
});
