import axios from 'axios';
import { createServer } from 'node:http';
import { principalResolver } from '../../src/connector/resolve.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NonRetriableError, SourceRateLimitedError, SourceUnavailableError } from '../../src/connector/errors.js';
import { startJiraStub } from '../../dev/stubs/jira-stub.js';
import type { JiraStub } from '../../dev/stubs/jira-stub.js';
import { JiraApi } from './client.js';
import { JiraConfig, jiraConnector } from './index.js';
import type { JiraConfigInput } from './index.js';
import { createJiraTransport } from './transport.js';

const TOKEN = 'jira-token-do-not-send-elsewhere';
const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'NO_PROXY', 'no_proxy'];
const AUTHS = {
  'cloud, email + API token': { deployment: 'cloud', auth: { kind: 'basic', email: 'bot@example.com', apiToken: TOKEN } },
  'Data Center, personal access token': { deployment: 'datacenter', auth: { kind: 'bearer', token: TOKEN } },
  'Data Center, username + password': { deployment: 'datacenter', auth: { kind: 'password', username: 'grantline', password: TOKEN } },
} as const satisfies Record<string, Pick<JiraConfigInput, 'deployment' | 'auth'>>;
type AuthCase = keyof typeof AUTHS;

function config(baseUrl: string, which: AuthCase, extra: Partial<JiraConfigInput> = {}): JiraConfig {
  return JiraConfig.parse({
    baseUrl,
    ...AUTHS[which],
    webhook: { secret: 's' },
    projects: ['ACC'],
    fields: { entitlement: { fieldId: 'customfield_10100', options: {} } },
    approvals: { mode: 'jsm' },
    ...extra,
  } satisfies JiraConfigInput);
}

/** A server that records every request (with its Authorization header) and answers as `reply` says. */
async function startRecorder(reply: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.end('{}')) {
  const seen: { method: string; url: string; authorization: string | undefined }[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    reply(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function caught(p: Promise<unknown>): Promise<Error> {
  const error = await p.then(() => null, (e: unknown) => e);
  if (!(error instanceof Error)) throw new Error('expected a rejection with an Error');
  return error;
}

function expectNoCredential(error: Error): void {
  const text = `${error.message} ${inspect(error, { depth: 6 })}`;
  expect(text).not.toContain(TOKEN);
  expect(text).not.toContain(Buffer.from(`bot@example.com:${TOKEN}`).toString('base64'));
  expect(text).not.toContain(Buffer.from(`grantline:${TOKEN}`).toString('base64'));
}

let stub: JiraStub;
let elsewhere: Awaited<ReturnType<typeof startRecorder>>;
beforeAll(async () => {
  stub = await startJiraStub();
  elsewhere = await startRecorder();
});
afterAll(async () => {
  await stub.close();
  await elsewhere.close();
});
beforeEach(() => {
  stub.requests.length = 0;
  elsewhere.seen.length = 0;
});

describe('Jira transport: every call stays on the configured base URL', () => {
  it.each(Object.keys(AUTHS) as AuthCase[])('%s: a redirect is refused, and its target gets no request and no credentials', async (which) => {
    const api = new JiraApi(config(stub.baseUrl, which));
    const issue = stub.state.seedIssue({});
    for (const [status, location] of [
      [302, `${elsewhere.url}/rest/api/3/issue/${issue.id}`],
      [307, `${elsewhere.url}/login?next=/rest/api/2/issue/${issue.id}`],
      // Same origin: still not followed (fetch would re-send the Authorization header there).
      [301, `${stub.baseUrl}/rest/api/2/issue/${issue.key}`],
    ] as const) {
      const before = stub.requests.length;
      stub.failNext(status, { location });
      const error = await caught(api.getIssue(issue.id));
      expect(error).toBeInstanceOf(NonRetriableError);
      expect(error.message).toBe(`get issue: Jira answered a redirect (${status}); redirects are not followed`);
      expectNoCredential(error);
      expect(stub.requests.length).toBe(before + 1);
    }
    expect(elsewhere.seen).toEqual([]);
    // The redirect is refused on the Service Desk surface too.
    stub.failNext(303, { location: `${elsewhere.url}/rest/servicedeskapi/request/${issue.id}/approval` });
    expect(await caught(api.getApprovals(issue.id))).toBeInstanceOf(NonRetriableError);
    expect(elsewhere.seen).toEqual([]);
  });

  it.each(Object.keys(AUTHS) as AuthCase[])('%s: HTTP_PROXY / HTTPS_PROXY from the environment are ignored (no proxy is configured)', async (which) => {
    const proxy = await startRecorder();
    const saved = Object.fromEntries(PROXY_VARS.map((k) => [k, process.env[k]]));
    try {
      for (const k of PROXY_VARS) delete process.env[k];
      for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) process.env[k] = proxy.url;
      // The environment is in effect: a request that does not refuse it goes through the proxy.
      await axios.get(`${elsewhere.url}/probe`, { adapter: 'http' });
      expect(proxy.seen.map((r) => r.url)).toEqual([`${elsewhere.url}/probe`]);
      proxy.seen.length = 0;
      const issue = stub.state.seedIssue({});
      const before = stub.requests.length;
      await new JiraApi(config(stub.baseUrl, which)).getIssue(issue.id);
      expect(stub.requests.length).toBeGreaterThan(before);
      expect(proxy.seen).toEqual([]);
    } finally {
      for (const k of PROXY_VARS) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
      await proxy.close();
    }
  }, 20_000);

  it('a path that would leave the base URL is refused before anything is sent', async () => {
    const http = createJiraTransport(config(elsewhere.url, 'cloud, email + API token'));
    for (const url of ['/rest/api/3/issue/1/../../../../admin', '/rest/api/3/issue/1?jql=x', '/rest/api/3/issue/1#x', '//evil.example/rest/api/3/issue/1', '/rest/api/3/issue/%2e%2e/x']) {
      const error = await caught(http.sendRequest({ url, method: 'GET' }));
      expect(error, url).toBeInstanceOf(NonRetriableError);
    }
    expect(elsewhere.seen).toEqual([]);
  });

  it.each([
    ['cloud, email + API token', `Basic ${Buffer.from(`bot@example.com:${TOKEN}`).toString('base64')}`],
    ['Data Center, personal access token', `Bearer ${TOKEN}`],
    ['Data Center, username + password', `Basic ${Buffer.from(`grantline:${TOKEN}`).toString('base64')}`],
  ] as const)('%s: keeps the base URL path (a Data Center context path) and sends the configured credentials', async (which, header) => {
    const jira = await startRecorder((_q, r) => {
      r.writeHead(200, { 'content-type': 'application/json' });
      r.end(JSON.stringify({ startAt: 0, maxResults: 100, total: 0, comments: [] }));
    });
    try {
      expect(await new JiraApi(config(`${jira.url}/jira/`, which)).getComments('ACC-1')).toEqual([]);
      const api = AUTHS[which].deployment === 'cloud' ? '3' : '2';
      expect(jira.seen).toEqual([{ method: 'GET', url: `/jira/rest/api/${api}/issue/ACC-1/comment?startAt=0&maxResults=100&orderBy=created`, authorization: header }]);
    } finally {
      await jira.close();
    }
  });
});

describe('Jira transport: failures become our error classes', () => {
  it.each([
    ['no answer at all', (_q: IncomingMessage, _r: ServerResponse) => undefined],
    ['headers, then a body that never ends', (_q: IncomingMessage, r: ServerResponse) => {
      r.writeHead(200, { 'content-type': 'application/json' });
      r.write('{"id":');
    }],
  ])('%s within the deadline: SourceUnavailableError naming the operation, no credential', async (_name, reply) => {
    const silent = await startRecorder(reply);
    try {
      const api = new JiraApi(config(silent.url, 'Data Center, personal access token'), { timeoutMs: 300 });
      const error = await caught(api.getIssue('ACC-1'));
      expect(error).toBeInstanceOf(SourceUnavailableError);
      expect(error).not.toBeInstanceOf(SourceRateLimitedError);
      expect((error as SourceUnavailableError).retriable).toBe(true);
      expect(error.message).toBe('get issue: Jira did not answer within 300 ms');
      expectNoCredential(error);
      expect(silent.seen).toHaveLength(1);
    } finally {
      await silent.close();
    }
  });

  it.each(Object.keys(AUTHS) as AuthCase[])('%s: 429 with Retry-After is SourceRateLimitedError with that delay', async (which) => {
    const api = new JiraApi(config(stub.baseUrl, which));
    const issue = stub.state.seedIssue({ approvals: [] });
    stub.failNext(429, { 'retry-after': '7' });
    const limited = await caught(api.getIssue(issue.id));
    expect(limited).toBeInstanceOf(SourceRateLimitedError);
    expect((limited as SourceRateLimitedError).retryAfterMs).toBe(7000);
    expect(limited.message).toBe('get issue: Jira rate limited (429)');

    stub.failNext(429, { 'retry-after': '0.5' });
    expect(((await caught(api.getApprovals(issue.id))) as SourceRateLimitedError).retryAfterMs).toBe(500);
    stub.failNext(429, { 'retry-after': new Date(0).toUTCString() });
    expect(((await caught(api.search('project = ACC', null, 1))) as SourceRateLimitedError).retryAfterMs).toBe(0);
    stub.failNext(429);
    expect(((await caught(api.getComments(issue.id))) as SourceRateLimitedError).retryAfterMs).toBe(60_000);

    stub.failNext(503, { 'retry-after': '2' });
    const down = await caught(api.addInternalRequestComment(issue.id, 'x'));
    expect(down).toBeInstanceOf(SourceUnavailableError);
    expect(down).not.toBeInstanceOf(SourceRateLimitedError);
    expect((down as SourceUnavailableError).retryAfterMs).toBe(2000);
    expect(down.message).toBe('add request comment: Jira answered 503');
  });

  it('a 200 that is not JSON (a login page) is a non-retriable response error', async () => {
    const html = await startRecorder((_q, r) => {
      r.writeHead(200, { 'content-type': 'text/html' });
      r.end('<html><body>Log in</body></html>');
    });
    try {
      const error = await caught(new JiraApi(config(html.url, 'cloud, email + API token')).getIssue('ACC-1'));
      expect(error.message).toBe('get issue: Jira answered 200 with something that is not JSON');
      expect((error as NonRetriableError).retriable).toBe(false);
    } finally {
      await html.close();
    }
  });
});

describe('Data Center: every platform call on /rest/api/2, JSM on servicedeskapi', () => {
  const make = (extra: Partial<JiraConfigInput> = {}) =>
    jiraConnector.create(config(stub.baseUrl, 'Data Center, username + password', extra), {
      connectorId: 'jira-dc',
      logger: pino({ level: 'silent' }),
      directory: principalResolver(() => null),
    });
  const dcUser = { name: 'jdoe', key: 'JIRAUSER1', displayName: 'J Doe' };

  it('fetches the issue with its changelog, comments and JSM approvals', async () => {
    const issue = stub.state.seedIssue({ reporter: dcUser, approvals: [], comments: [{ author: dcUser, text: 'first' }] });
    const snapshot = await make().fetchTicket(issue.key);
    expect(snapshot.ticketId).toBe(issue.id);
    const raw = snapshot.raw as { issue: { changelog?: unknown }; comments: { body: unknown }[]; approvals: unknown[] };
    expect(raw.comments.map((c) => c.body)).toEqual(['first']);
    expect(raw.approvals).toEqual([]);
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /rest/api/2/issue/${issue.key}`,
      `GET /rest/servicedeskapi/request/${issue.id}/approval`,
    ]);
    expect(stub.requests[0]?.query.get('expand')).toBe('changelog');
  });

  it('writes back a plain-text comment, internal and restricted as configured', async () => {
    const issue = stub.state.seedIssue({ reporter: dcUser });
    const connector = make({ approvals: { mode: 'workflow', approvedStatus: 'Approved' }, writeBack: { visibility: { type: 'role', value: 'Administrators' } } });
    expect((await connector.writeBack({ ticketId: issue.id, ticketKey: issue.key }, { kind: 'note', text: 'line one\nline two' }, 'dc-1')).written).toBe(true);
    const post = stub.requests.find((r) => r.method === 'POST');
    expect(post?.path).toBe(`/rest/api/2/issue/${issue.key}/comment`);
    expect(post?.body).toEqual({
      body: expect.stringContaining('line one\nline two'),
      properties: [{ key: 'sd.public.comment', value: { internal: true } }],
      visibility: { type: 'role', value: 'Administrators' },
    });
    expect(stub.state.comments(issue.id).map((c) => c.public)).toEqual([false]);
  });

  it('pages a JQL search by startAt, opens and links a review issue with a text description', async () => {
    const api = new JiraApi(config(stub.baseUrl, 'Data Center, username + password'));
    for (let i = 0; i < 3; i++) stub.state.seedIssue({ key: `DCS-${i + 1}`, fields: { labels: ['dc-search'] } });
    const first = await api.search('project = DCS AND labels = "dc-search" ORDER BY created ASC', null, 2);
    const second = await api.search('project = DCS AND labels = "dc-search" ORDER BY created ASC', first.next, 2);
    expect([...first.issues, ...second.issues].map((i) => i.key)).toEqual(['DCS-1', 'DCS-2', 'DCS-3']);
    expect([first.next, second.next]).toEqual(['2', null]);

    const created = await api.createIssue({ projectKey: 'DCR', issueType: 'Task', summary: 'review', description: 'why\nwhat', labels: ['grantline'] });
    await api.linkIssues('Relates', created.key, 'DCS-1');
    expect(stub.state.issue(created.key)?.description).toBe('why\nwhat');
    expect(stub.state.issue('DCS-1')?.links).toEqual([{ type: 'Relates', inward: created.key, outward: 'DCS-1' }]);
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /rest/api/2/search',
      'GET /rest/api/2/search',
      'POST /rest/api/2/issue',
      'POST /rest/api/2/issueLink',
    ]);
    expect(stub.requests[1]?.query.get('startAt')).toBe('2');
    expect((stub.requests[2]?.body as { fields: { description: unknown } }).fields.description).toBe('why\nwhat');
  });
});

describe('Cloud: every platform call on /rest/api/3', () => {
  it('opens a review issue with a document description (v3 refuses a string) and links it', async () => {
    const api = new JiraApi(config(stub.baseUrl, 'cloud, email + API token'));
    const original = stub.state.seedIssue({ key: 'CLS-1' });
    const created = await api.createIssue({ projectKey: 'CLR', issueType: 'Task', summary: 'review', description: 'why\n\nwhat', labels: ['grantline'] });
    await api.linkIssues('Relates', created.key, original.key);
    expect(stub.state.issue(created.key)?.description).toBe('why\n\nwhat');
    expect(stub.state.issue(original.key)?.links).toEqual([{ type: 'Relates', inward: created.key, outward: original.key }]);
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /rest/api/3/issue', 'POST /rest/api/3/issueLink']);
    expect((stub.requests[0]?.body as { fields: { description: { type: string } } }).fields.description.type).toBe('doc');
  });
});
