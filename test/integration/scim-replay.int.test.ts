/**
 * The requests Okta and Microsoft Entra ID publish as what they send a SCIM service provider
 * (vendored byte for byte in test/fixtures/vendor/scim/, sources in SOURCES.md), replayed in order
 * against a running grantline and the real broker: create a user, find it by userName, update it,
 * add it to a group and remove it, deactivate it, delete it. The published ids are the vendors'
 * examples; each is replaced by the id grantline assigned to the resource it stands for. Then what
 * reached `grantline.directory.v1` and `identity.lifecycle.v1` is checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, startStubs, type Stack, type Stubs } from '../../dev/harness.js';
import { verifyDetachedJws, type Jwks } from '../../src/custody/index.js';
import { readTopic } from '../../src/pipeline/state-view.js';
import { fixtureText, httpFixture } from '../fixtures/scim/requests.js';
import { brokers, randomTopicSuffix, testKafka } from './helpers/kafka.js';

const TOKEN = `scim-replay-${randomTopicSuffix()}-0123456789abcdefghij`;
const prefix = `scim-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-scim-replay');
let stubs: Stubs;
let stack: Stack;

beforeAll(async () => {
  stubs = await startStubs();
  stack = await startStack({
    brokers: brokers().join(','),
    topicPrefix: prefix,
    stubs,
    pipeline: { pollIntervalMs: 0 },
    edit: (tree) => {
      tree.scim = { enabled: true, bearerToken: TOKEN };
    },
  });
});

afterAll(async () => {
  await stack?.stop();
  await stubs?.close();
});

/** Published id → the id grantline gave the resource it stands for. */
const ids = new Map<string, string>();
const substitute = (text: string): string => [...ids].reduce((t, [published, ours]) => t.split(published).join(ours), text);

interface Answer {
  status: number;
  json: Record<string, unknown> | null;
}

async function send(method: string, target: string, body: string | null, headers: Record<string, string> = {}): Promise<Answer> {
  // Okta's targets are paths under /scim/v2; Entra's are relative to its tenant URL (`/Users`,
  // `~/scim/Users`, `https://.../scim/Users`), which is grantline's /scim/v2.
  const path = target.startsWith('/scim/v2/') ? target.slice('/scim/v2'.length) : target.replace(/^(?:https:\/\/\.\.\.|~)\/scim/, '');
  const sent: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (name !== 'authorization') sent[name] = value;
  const res = await fetch(`${stack.url}/scim/v2${substitute(path)}`, {
    method,
    headers: { ...sent, authorization: `Bearer ${TOKEN}` },
    ...(body === null ? {} : { body: substitute(body) }),
  });
  const text = await res.text();
  if (text !== '') expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  return { status: res.status, json: text === '' ? null : (JSON.parse(text) as Record<string, unknown>) };
}

/** Sends an `.http` fixture as published (headers included, but our token). */
const replay = (name: string): Promise<Answer> => {
  const f = httpFixture(name);
  return send(f.method, f.target, f.body, f.headers);
};

/** Sends a JSON body fixture with the request line the page gives above it. */
const replayJson = (requestLine: string, name: string): Promise<Answer> => {
  const [method, target] = requestLine.split(' ') as [string, string];
  return send(method, target, fixtureText(name), { 'content-type': 'application/scim+json' });
};

const grantline = (json: Record<string, unknown> | null) => json?.['urn:grantline:scim:schemas:extension:2.0:User'] as { principalId: string } | undefined;

async function records(topic: string): Promise<{ key: string | null; type: string | undefined; value: Record<string, unknown> }[]> {
  return (await readTopic(kafka, `${prefix}${topic}`)).map(({ message }) => ({
    key: message.key?.toString('utf8') ?? null,
    type: message.headers?.ce_type?.toString(),
    value: JSON.parse(message.value?.toString('utf8') ?? 'null') as Record<string, unknown>,
  }));
}

describe('Okta: the SCIM 2.0 requests of its provisioning reference, in order', () => {
  it('finds, creates, reads, updates and deactivates a user (PATCH, and PUT as AIW apps do), and never deletes it', async () => {
    expect(await replay('okta/01-find-user-by-username.http')).toMatchObject({ status: 200, json: { totalResults: 0, Resources: [] } });
    const created = await replay('okta/02-create-user.http');
    expect(created.status).toBe(201);
    ids.set('23a35c27-23d3-4c03-b4c5-6443c09e7173', String(created.json?.id));
    expect(grantline(created.json)?.principalId).toBe('test.user@okta.local');
    expect(JSON.stringify(created.json)).not.toContain('1mz050nq');
    // Okta looks the user up again before linking it.
    expect(await replay('okta/01-find-user-by-username.http')).toMatchObject({ status: 200, json: { totalResults: 1, Resources: [{ userName: 'test.user@okta.local' }] } });
    expect(await replay('okta/03-list-users.http')).toMatchObject({ status: 200, json: { totalResults: 1, startIndex: 1 } });
    expect(await replay('okta/04-get-user.http')).toMatchObject({ status: 200, json: { userName: 'test.user@okta.local', active: true } });
    expect(await replay('okta/05-update-user-put.http')).toMatchObject({ status: 200, json: { name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' } } });
    expect(await replay('okta/06-deactivate-user-patch.http')).toMatchObject({ status: 200, json: { active: false } });
    // Reassigned (the same PUT, active again), then deactivated by a PUT, as App Integration Wizard apps do.
    expect(await replay('okta/05-update-user-put.http')).toMatchObject({ status: 200, json: { active: true } });
    expect(await replay('ours:okta-deactivate-user-put.http')).toMatchObject({ status: 200, json: { active: false } });
    expect(await replay('okta/04-get-user.http')).toMatchObject({ status: 200, json: { active: false } });
  });

  it('pushes a group, renames it, changes its members (PATCH and PUT) and deletes it', async () => {
    const created = await replay('okta/07-create-group.http');
    expect(created).toMatchObject({ status: 201, json: { displayName: 'Test SCIMv2', members: [] } });
    ids.set('abf4dd94-a4c0-4f67-89c9-76b03340cb9b', String(created.json?.id));
    expect(await replay('okta/08-list-groups.http')).toMatchObject({ status: 200, json: { totalResults: 1 } });
    expect(await replay('okta/09-find-group-by-displayname.http')).toMatchObject({ status: 200, json: { totalResults: 1, Resources: [{ displayName: 'Test SCIMv2' }] } });
    expect(await replay('okta/10-get-group.http')).toMatchObject({ status: 200 });
    expect((await replay('okta/11-rename-group-patch.http')).status).toBe(204);
    expect((await replay('okta/12-update-group-membership-patch.http')).status).toBe(204);
    const user = ids.get('23a35c27-23d3-4c03-b4c5-6443c09e7173');
    expect(await replay('okta/10-get-group.http')).toMatchObject({ json: { members: [{ value: user }] } });
    expect(await replay('okta/13-update-group-membership-put.http')).toMatchObject({ status: 200, json: { members: [{ value: user }] } });
    expect((await replay('okta/14-replace-group-members-patch.http')).status).toBe(204);
    expect((await replay('okta/15-delete-group.http')).status).toBe(204);
    expect((await replay('okta/10-get-group.http')).status).toBe(404);
    // Okta does not delete users: the deactivated one is still there.
    expect((await replay('okta/04-get-user.http')).status).toBe(200);
  });
});

let entraManager = '';

describe('Microsoft Entra ID: the requests of its SCIM tutorial and compatibility page, in order', () => {
  const patchLine = (id: string) => `PATCH /Users/${id}`;

  it('finds nobody, creates users, finds and reads them, updates them, sets a manager, deactivates (also with "False")', async () => {
    expect(await send('GET', '/Users?filter=userName eq "non-existent user"', null)).toMatchObject({ status: 200, json: { totalResults: 0, Resources: [] } });
    const created = await replayJson('POST /Users', 'entra/tutorial.create-user.json');
    expect(created.status).toBe(201);
    // (Example 5's manager id, 00aa00aa-..., is also inside this user's userName: it is mapped only for those requests.)
    for (const published of ['5d48a0a8e9f04aa38008', '6764549bef60420686bc', '5171a35d82074e068ce2', 'f648f8d5ea4e4cd38e9c', 'u1091', '7f4bc1a3-285e-48ae-8202-5accb43efb0e']) {
      ids.set(published, String(created.json?.id));
    }
    expect(grantline(created.json)?.principalId).toBe('test_user_00aa00aa-bb11-cc22-dd33-44ee44ee44ee');
    expect(await send('GET', '/Users?filter=userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"', null)).toMatchObject({ status: 200, json: { totalResults: 1 } });
    expect(await send('GET', '/Users/5d48a0a8e9f04aa38008', null)).toMatchObject({ status: 200, json: { userName: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee' } });
    expect(await replayJson(patchLine('6764549bef60420686bc'), 'entra/tutorial.update-user-multi-valued.json')).toMatchObject({
      status: 200,
      json: { name: { familyName: 'updatedFamilyName' }, emails: [{ value: 'updatedEmail@microsoft.com', type: 'work' }] },
    });
    expect(await replayJson(patchLine('5171a35d82074e068ce2'), 'entra/tutorial.update-user-single-valued.json')).toMatchObject({ status: 200, json: { userName: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' } });

    // Example 2 provisions a second user; Examples 3 and 5 read it and set its manager.
    const joy = await replay('entra/tutorial.example2-provision-user.http');
    expect(joy).toMatchObject({ status: 201, json: { userName: 'jyoung@testuser.com', displayName: 'Joy Young', externalId: 'jyoung' } });
    ids.set('a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1', String(joy.json?.id));
    // Example 1's filter value is not quoted, which RFC 7644 §3.4.2.2 requires: refused.
    expect(await replay('entra/tutorial.example1-query-user.http')).toMatchObject({ status: 400, json: { scimType: 'invalidFilter' } });
    expect(await replay('entra/tutorial.example3-get-user.http')).toMatchObject({ status: 200, json: { userName: 'jyoung@testuser.com' } });
    const manager = { 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { manager: { value: String(created.json?.id) } } };
    ids.set('00aa00aa-bb11-cc22-dd33-44ee44ee44ee', String(created.json?.id));
    expect(await replay('entra/tutorial.example5-update-manager.http')).toMatchObject({ status: 200, json: manager });
    expect(await replayJson(patchLine('a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1'), 'ours:entra-manager-urn.json')).toMatchObject({ status: 200, json: manager });
    ids.delete('00aa00aa-bb11-cc22-dd33-44ee44ee44ee');
    entraManager = String(created.json?.id);

    expect(await replayJson(patchLine('a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1'), 'entra/compat.replace-multiple.without-flag.json')).toMatchObject({ status: 200, json: { displayName: 'Pvlo', externalId: 'Eqpj' } });
    expect(await replayJson(patchLine('a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1'), 'entra/compat.replace-multiple.with-flag.json')).toMatchObject({ status: 200, json: { displayName: 'Bjfe', name: { givenName: 'Kkom' } } });
    expect(await replayJson(patchLine('a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1'), 'entra/compat.add-single-value.without-flag.json')).toMatchObject({ status: 200 });
    expect(await replayJson(patchLine('a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1'), 'entra/compat.add-single-value.with-flag.json')).toMatchObject({ status: 200 });

    expect(await replayJson(patchLine('5171a35d82074e068ce2'), 'entra/tutorial.disable-user.json')).toMatchObject({ status: 200, json: { active: false } });
    const reactivate = JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'True' }] });
    expect(await send('PATCH', '/Users/5171a35d82074e068ce2', reactivate)).toMatchObject({ status: 200, json: { active: true } });
    expect(await replayJson(patchLine('5171a35d82074e068ce2'), 'entra/compat.disable-user.without-flag.json')).toMatchObject({ status: 200, json: { active: false } });
    expect(await send('PATCH', '/Users/5171a35d82074e068ce2', reactivate)).toMatchObject({ status: 200, json: { active: true } });
    expect(await replayJson(patchLine('5171a35d82074e068ce2'), 'entra/compat.disable-user.with-flag.json')).toMatchObject({ status: 200, json: { active: false } });
  });

  it('creates a group, reads and finds it without members, renames it, adds and removes members, deletes it', async () => {
    const created = await replayJson('POST /Groups', 'entra/tutorial.create-group.json');
    expect(created).toMatchObject({ status: 201, json: { displayName: 'displayName', externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159' } });
    for (const published of ['40734ae655284ad3abcc', '8c601452cc934a9ebef9', 'fa2ce26709934589afc5', 'a99962b9f99d4c4fac67', 'cdb1ce18f65944079d37']) ids.set(published, String(created.json?.id));
    const read = await send('GET', '/Groups/40734ae655284ad3abcc?excludedAttributes=members', null);
    expect(read).toMatchObject({ status: 200, json: { displayName: 'displayName' } });
    expect(read.json).not.toHaveProperty('members');
    const found = await send('GET', '/Groups?excludedAttributes=members&filter=displayName eq "displayName"', null);
    expect(found).toMatchObject({ status: 200, json: { totalResults: 1 } });
    expect((found.json?.Resources as Record<string, unknown>[])[0]).not.toHaveProperty('members');
    expect((await replayJson('PATCH /Groups/fa2ce26709934589afc5', 'entra/tutorial.update-group-non-member.json')).status).toBe(204);

    const members = async () => ((await send('GET', '/Groups/a99962b9f99d4c4fac67', null)).json?.members as { value: string }[]).map((m) => m.value);
    const user = ids.get('f648f8d5ea4e4cd38e9c');
    for (const remove of ['entra/tutorial.update-group-remove-members.json', 'entra/compat.remove-member.with-flag.json', 'entra/compat.remove-member.without-flag.json']) {
      expect((await replayJson('PATCH /Groups/a99962b9f99d4c4fac67', 'entra/tutorial.update-group-add-members.json')).status).toBe(204);
      expect(await members()).toEqual([user]);
      expect((await replayJson('PATCH /Groups/a99962b9f99d4c4fac67', remove)).status).toBe(204);
      expect(await members()).toEqual([]);
    }
    expect((await send('DELETE', '/Groups/cdb1ce18f65944079d37', null)).status).toBe(204);
  });

  it('deletes both users (Example 6 and the tutorial\'s DELETE)', async () => {
    expect((await replay('entra/tutorial.example6-deprovision-user.http')).status).toBe(204);
    expect((await send('DELETE', '/Users/5171a35d82074e068ce2', null)).status).toBe(204);
    expect((await send('GET', '/Users/5171a35d82074e068ce2', null)).status).toBe(404);
  });
});

describe('what the replays wrote', () => {
  it('keeps each person and group on the compacted directory topic, and each offboarding, signed, on identity.lifecycle.v1', async () => {
    const directory = await records('grantline.directory.v1');
    const latest = new Map(directory.map((r) => [r.key, r.value]));
    expect(latest.get('user:test.user@okta.local')).toMatchObject({ active: false, deleted: false });
    expect(latest.get('user:jyoung@testuser.com')).toMatchObject({ deleted: true, manager: entraManager });
    expect(latest.get('user:test_user_00aa00aa-bb11-cc22-dd33-44ee44ee44ee')).toMatchObject({ deleted: true, userName: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' });
    expect(directory.every((r) => r.type === 'dev.grantline.directory.record.v1')).toBe(true);

    const offboarded = await records('identity.lifecycle.v1');
    // Keyed by principal, so in order per principal (the topic's partitions are read one after another).
    const byPrincipal: Record<string, unknown[]> = {};
    for (const r of offboarded) (byPrincipal[String(r.key)] ??= []).push(r.value.type);
    expect(byPrincipal).toEqual({
      'test.user@okta.local': ['principal.deactivated', 'principal.deactivated'],
      'test_user_00aa00aa-bb11-cc22-dd33-44ee44ee44ee': ['principal.deactivated', 'principal.deactivated', 'principal.deactivated'],
      // Joy was active when Example 6 deleted her; the other user was already inactive.
      'jyoung@testuser.com': ['principal.offboarded'],
    });
    const jwks = (await (await fetch(`${stack.url}/.well-known/jwks.json`)).json()) as Jwks;
    for (const { type, value } of offboarded) {
      expect(type).toBe('dev.grantline.identity.lifecycle.v1');
      expect(value.source).toBe('scim');
      const { signature, ...unsigned } = value;
      expect(verifyDetachedJws(String(signature), unsigned, jwks).result).toBe('valid');
    }
  });
});
