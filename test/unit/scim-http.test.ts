/**
 * The `/scim/v2` routes end to end over HTTP, with the SCIM service on a plain in-memory store (a
 * fake of our `ScimStore` port): authentication, limits, error shape, Users and Groups, and what
 * each request writes (or, refused, does not write).
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/connector/secret.js';
import { createApp, createMetricsRegistry, listen, type HttpServer } from '../../src/http/index.js';
import { scimMount } from '../../src/http/scim.js';
import { directoryRecordKey, type DirectoryRecord, type ScimGroupRecord, type ScimUserRecord } from '../../src/model/index.js';
import { ScimService, type ScimDirectoryContext, type ScimStore, type ScimWrite } from '../../src/scim/service.js';

const TOKEN = 'scim-test-token-0123456789abcdef0123456789';
const open: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close(1000)));
});

class MemoryStore implements ScimStore {
  readonly records = new Map<string, DirectoryRecord>();
  readonly writes: ScimWrite[] = [];
  users(): ScimUserRecord[] {
    return [...this.records.values()].filter((r): r is ScimUserRecord => r.kind === 'user');
  }
  groups(): ScimGroupRecord[] {
    return [...this.records.values()].filter((r): r is ScimGroupRecord => r.kind === 'group');
  }
  async write(change: ScimWrite): Promise<void> {
    this.writes.push(change);
    for (const r of change.records) this.records.set(directoryRecordKey(r), r);
  }
}

/** The file knows alice (active); the catalog names the group `approvers`; svc-orders is an NHI. */
function context(store: MemoryStore): ScimDirectoryContext {
  return {
    filePrincipalFor: (userName, emails) => ([userName, ...emails].some((v) => v.toLowerCase() === 'alice@example.com') ? 'alice' : null),
    isNhi: (id) => id === 'svc-orders',
    isActive: (id) => {
      const user = store.users().find((u) => u.principalId === id);
      return user === undefined ? id === 'alice' : user.active && !user.deleted;
    },
    entriesNamingGroup: (name) => (name === 'approvers' ? ['db-orders-prod-readwrite'] : []),
  };
}

async function serve(bodyLimitBytes = 64 * 1024): Promise<{ url: string; store: MemoryStore }> {
  const store = new MemoryStore();
  let n = 0;
  const service = new ScimService({ store, directory: () => context(store), queueTimeoutMs: 5_000, newId: () => `id-${++n}`, now: () => new Date('2026-03-01T10:00:00.000Z') });
  const logger = pino({ level: 'silent' });
  const app = createApp({ logger, registry: createMetricsRegistry(), bodyLimitBytes, readiness: [], mounts: [scimMount({ service, bearerToken: new Secret(TOKEN), logger })] });
  const server = await listen(app, { host: '127.0.0.1', port: 0 });
  open.push(server);
  return { url: `${server.url}/scim/v2`, store };
}

async function call(url: string, method: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; type: string | null; json: Record<string, unknown> | null; headers: Headers }> {
  const res = await fetch(url, {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), json: text === '' ? null : (JSON.parse(text) as Record<string, unknown>), headers: res.headers };
}

const userBody = (userName: string, extra: Record<string, unknown> = {}) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, active: true, ...extra });
const patch = (...Operations: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations });

function expectScimError(res: { status: number; type: string | null; json: Record<string, unknown> | null }, status: number, scimType?: string): void {
  expect(res.status).toBe(status);
  expect(res.type).toMatch(/^application\/scim\+json/);
  expect(res.json).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), ...(scimType === undefined ? {} : { scimType }) });
  expect(typeof res.json?.detail).toBe('string');
}

describe('/scim/v2 authentication and limits', () => {
  it('refuses a missing, wrong or non-bearer token with a 401 SCIM error, writing nothing', async () => {
    const { url, store } = await serve();
    for (const token of [null, 'wrong-token', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const res = await call(`${url}/Users`, 'POST', userBody('a@example.com'), token);
      expectScimError(res, 401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="grantline-scim"');
      expect(res.json?.detail).not.toContain(TOKEN);
    }
    const basic = await fetch(`${url}/Users`, { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
    expect(basic.status).toBe(401);
    expect(store.writes).toEqual([]);
    expect((await call(`${url}/Users`, 'GET')).status).toBe(200);
  });

  it('answers a body over the limit with a 413 SCIM error, writing nothing', async () => {
    const { url, store } = await serve(1024);
    const res = await call(`${url}/Users`, 'POST', userBody('a@example.com', { displayName: 'x'.repeat(2048) }));
    expectScimError(res, 413);
    expect(store.writes).toEqual([]);
  });

  it('answers a body that is not JSON with invalidSyntax, and an unknown endpoint with a 404 SCIM error', async () => {
    const { url, store } = await serve();
    expectScimError(await call(`${url}/Users`, 'POST', '{"userName": '), 400, 'invalidSyntax');
    expectScimError(await call(`${url}/Users`, 'POST'), 400, 'invalidSyntax');
    expectScimError(await call(`${url}/Bulk`, 'POST', {}), 404);
    expect(store.writes).toEqual([]);
  });
});

describe('/scim/v2 discovery', () => {
  it('serves ServiceProviderConfig, ResourceTypes and Schemas', async () => {
    const { url } = await serve();
    const config = await call(`${url}/ServiceProviderConfig`, 'GET');
    expect(config.type).toMatch(/^application\/scim\+json/);
    expect(config.json).toMatchObject({ patch: { supported: true }, bulk: { supported: false }, filter: { supported: true, maxResults: 200 }, authenticationSchemes: [{ type: 'oauthbearertoken' }] });
    const types = await call(`${url}/ResourceTypes`, 'GET');
    expect((types.json?.Resources as { id: string }[]).map((r) => r.id)).toEqual(['User', 'Group']);
    expect((await call(`${url}/ResourceTypes/User`, 'GET')).json).toMatchObject({ endpoint: '/Users' });
    const schemas = await call(`${url}/Schemas`, 'GET');
    expect((schemas.json?.Resources as { id: string }[]).map((r) => r.id)).toEqual([
      'urn:ietf:params:scim:schemas:core:2.0:User',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      'urn:grantline:scim:schemas:extension:2.0:User',
      'urn:ietf:params:scim:schemas:core:2.0:Group',
    ]);
    expect((await call(`${url}/Schemas/urn:grantline:scim:schemas:extension:2.0:User`, 'GET')).json).toMatchObject({ name: 'GrantlineUser' });
    expectScimError(await call(`${url}/Schemas/urn:nope`, 'GET'), 404);
  });
});

describe('/scim/v2/Users', () => {
  it('creates, finds by userName, pages, replaces and deletes a user', async () => {
    const { url, store } = await serve();
    const created = await call(`${url}/Users`, 'POST', userBody('Zoe@Example.com', { externalId: 'okta-zoe', name: { givenName: 'Zoe', familyName: 'Zed' } }));
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/scim/v2/Users/id-1');
    expect(created.json).toMatchObject({ id: 'id-1', userName: 'Zoe@Example.com', active: true, 'urn:grantline:scim:schemas:extension:2.0:User': { principalId: 'zoe@example.com' }, meta: { resourceType: 'User' } });
    expect((await call(`${url}/Users/id-1`, 'GET')).json).toMatchObject({ id: 'id-1', externalId: 'okta-zoe' });
    expectScimError(await call(`${url}/Users/nope`, 'GET'), 404);

    const found = await call(`${url}/Users?filter=${encodeURIComponent('userName eq "zoe@example.com"')}`, 'GET');
    expect(found.json).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    const none = await call(`${url}/Users?filter=${encodeURIComponent('userName eq "nobody"')}`, 'GET');
    expect(none.json).toMatchObject({ totalResults: 0, itemsPerPage: 0, Resources: [] });

    for (const name of ['b@example.com', 'c@example.com']) expect((await call(`${url}/Users`, 'POST', userBody(name))).status).toBe(201);
    const page = await call(`${url}/Users?startIndex=2&count=1`, 'GET');
    expect(page.json).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 1, Resources: [{ userName: 'b@example.com' }] });
    expect((await call(`${url}/Users?startIndex=0&count=-5`, 'GET')).json).toMatchObject({ totalResults: 3, startIndex: 1, itemsPerPage: 0 });
    expectScimError(await call(`${url}/Users?count=many`, 'GET'), 400, 'invalidValue');

    const put = await call(`${url}/Users/id-1`, 'PUT', userBody('zoe@example.com', { displayName: 'Zoe Z' }));
    expect(put.json).toMatchObject({ id: 'id-1', displayName: 'Zoe Z', active: true });
    expect(put.json).not.toHaveProperty('externalId');

    expect((await call(`${url}/Users/id-1`, 'DELETE')).status).toBe(204);
    expectScimError(await call(`${url}/Users/id-1`, 'GET'), 404);
    expect((await call(`${url}/Users`, 'GET')).json).toMatchObject({ totalResults: 2 });
    // Kept on the topic as an inactive principal.
    expect(store.records.get('user:zoe@example.com')).toMatchObject({ deleted: true, active: false });
  });

  it('binds a new user to the file principal with that email, else to the extension\'s principalId, and refuses what cannot be one', async () => {
    const { url } = await serve();
    const alice = await call(`${url}/Users`, 'POST', userBody('aarcher', { emails: [{ value: 'Alice@Example.com', primary: true }] }));
    expect(alice.json).toMatchObject({ 'urn:grantline:scim:schemas:extension:2.0:User': { principalId: 'alice' } });
    const mapped = await call(`${url}/Users`, 'POST', userBody('Bob Bauer', { 'urn:grantline:scim:schemas:extension:2.0:User': { principalId: 'bob' } }));
    expect(mapped.json).toMatchObject({ 'urn:grantline:scim:schemas:extension:2.0:User': { principalId: 'bob' } });
    expectScimError(await call(`${url}/Users`, 'POST', userBody('Carol Chen')), 400, 'invalidValue');
    expectScimError(await call(`${url}/Users`, 'POST', userBody('svc-orders')), 409, 'uniqueness');
    expectScimError(await call(`${url}/Users`, 'POST', userBody('AARCHER')), 409, 'uniqueness');
    expectScimError(await call(`${url}/Users`, 'POST', userBody('x', { 'urn:grantline:scim:schemas:extension:2.0:User': { principalId: 'bob' } })), 409, 'uniqueness');
    expectScimError(await call(`${url}/Users/${String(alice.json?.id)}`, 'PATCH', patch({ op: 'replace', path: 'urn:grantline:scim:schemas:extension:2.0:User:principalId', value: 'alicia' })), 400, 'mutability');
  });

  it('writes an offboarding event with the record when an active person is deactivated or deleted, and none otherwise', async () => {
    const { url, store } = await serve();
    const id = String((await call(`${url}/Users`, 'POST', userBody('alice@example.com'))).json?.id);
    expect(store.writes.at(-1)?.lifecycle).toEqual([]);

    const off = await call(`${url}/Users/${id}`, 'PATCH', patch({ op: 'Replace', path: 'active', value: 'False' }));
    expect(off.status).toBe(200);
    expect(off.json).toMatchObject({ active: false });
    expect(store.writes.at(-1)).toMatchObject({ records: [{ principalId: 'alice', active: false }], lifecycle: [{ type: 'principal.deactivated', principalId: 'alice', source: 'scim', at: '2026-03-01T10:00:00.000Z' }] });

    // The same again changes nothing and writes nothing.
    const writes = store.writes.length;
    expect((await call(`${url}/Users/${id}`, 'PATCH', patch({ op: 'replace', path: 'active', value: false }))).status).toBe(200);
    expect(store.writes).toHaveLength(writes);

    // Reactivation grants nothing: no event. Deleting the active user offboards them.
    await call(`${url}/Users/${id}`, 'PATCH', patch({ op: 'replace', value: { active: true } }));
    expect(store.writes.at(-1)?.lifecycle).toEqual([]);
    expect((await call(`${url}/Users/${id}`, 'DELETE')).status).toBe(204);
    expect(store.writes.at(-1)).toMatchObject({ records: [{ deleted: true }], lifecycle: [{ type: 'principal.offboarded', principalId: 'alice' }] });
  });

  it('writes nothing for a malformed filter, an unknown attribute path or a bad value', async () => {
    const { url, store } = await serve();
    const id = String((await call(`${url}/Users`, 'POST', userBody('alice@example.com'))).json?.id);
    const before = store.writes.length;
    expectScimError(await call(`${url}/Users?filter=${encodeURIComponent('userName sw "a"')}`, 'GET'), 400, 'invalidFilter');
    expectScimError(await call(`${url}/Users/${id}`, 'PATCH', patch({ op: 'replace', path: 'active', value: false }, { op: 'replace', path: 'shoeSize', value: 44 })), 400, 'invalidPath');
    expectScimError(await call(`${url}/Users/${id}`, 'PATCH', patch({ op: 'replace', path: 'active', value: 'maybe' })), 400, 'invalidValue');
    expect(store.writes).toHaveLength(before);
    expect((await call(`${url}/Users/${id}`, 'GET')).json).toMatchObject({ active: true });
  });
});

describe('/scim/v2/Groups', () => {
  it('creates, finds by displayName without members, patches (204), renames and deletes a group', async () => {
    const { url, store } = await serve();
    const member = String((await call(`${url}/Users`, 'POST', userBody('alice@example.com'))).json?.id);
    const created = await call(`${url}/Groups`, 'POST', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Data Platform Owners', members: [] });
    expect(created.status).toBe(201);
    const id = String(created.json?.id);
    expect((await call(`${url}/Groups/${id}`, 'PATCH', patch({ op: 'Add', path: 'members', value: [{ value: member }] }))).status).toBe(204);
    const found = await call(`${url}/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "data platform owners"')}`, 'GET');
    expect(found.json).toMatchObject({ totalResults: 1 });
    expect((found.json?.Resources as Record<string, unknown>[])[0]).not.toHaveProperty('members');
    expect((await call(`${url}/Groups/${id}`, 'GET')).json).toMatchObject({ members: [{ value: member }] });
    expect((await call(`${url}/Groups/${id}?attributes=displayName`, 'GET')).json).toEqual({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id, displayName: 'Data Platform Owners' });

    expectScimError(await call(`${url}/Groups`, 'POST', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Data-Platform Owners' }), 409, 'uniqueness');
    expectScimError(await call(`${url}/Groups`, 'POST', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: '!!!' }), 400, 'invalidValue');
    expect((await call(`${url}/Groups/${id}`, 'PUT', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Platform Owners', members: [] })).json).toMatchObject({ displayName: 'Platform Owners', members: [] });
    expect((await call(`${url}/Groups/${id}`, 'DELETE')).status).toBe(204);
    expectScimError(await call(`${url}/Groups/${id}`, 'GET'), 404);
    expect(store.records.get(`group:${id}`)).toMatchObject({ deleted: true, members: [] });
  });

  it('refuses to rename a group the catalog names, so no entry is left without approvers', async () => {
    const { url, store } = await serve();
    const id = String((await call(`${url}/Groups`, 'POST', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'approvers' })).json?.id);
    const writes = store.writes.length;
    const res = await call(`${url}/Groups/${id}`, 'PATCH', patch({ op: 'Replace', path: 'displayName', value: 'approvers-old' }));
    expectScimError(res, 400, 'mutability');
    expect(res.json?.detail).toContain('db-orders-prod-readwrite');
    expect(store.writes).toHaveLength(writes);
  });
});
