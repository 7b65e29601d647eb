import { createServer } from 'node:http';
import { principalResolver } from '../../src/connector/resolve.js';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery, TicketSnapshot } from '../../src/connector/contract.js';
import { NonRetriableError } from '../../src/connector/errors.js';
import type { GrantDecision } from '../../src/model/index.js';
import { JiraConfig, jiraConnector, signJiraBody } from './index.js';
import type { JiraConfigInput } from './index.js';
import { verifyJiraDelivery } from './verify.js';
import { identifyJiraDelivery } from './identify.js';
import type { JiraSnapshotRaw } from './map.js';
import { JiraIssue, plainText } from './records.js';
import { embeddedComments } from './client.js';
import { startJiraStub } from '../../dev/stubs/jira-stub.js';
import type { JiraStub } from '../../dev/stubs/jira-stub.js';

const webhook = (w: JiraConfigInput['webhook']): JiraConfig['webhook'] =>
  JiraConfig.shape.webhook.parse(w);

const now = new Date('2025-03-01T10:00:00.000Z');
const body = Buffer.from(JSON.stringify({ timestamp: now.getTime(), webhookEvent: 'jira:issue_updated', issue: { id: '10040', key: 'TES-41' } }));
const delivery = (headers: Record<string, string>, raw = body, receivedAt = now): Delivery => ({ rawBody: raw, headers, receivedAt });

describe('verifyJiraDelivery', () => {
  const signed = webhook({ secret: 'shh' });
  it('accepts the HMAC-SHA256 of the exact bytes', () => {
    expect(verifyJiraDelivery(signed, delivery(signJiraBody(body, 'shh')))).toBe('valid');
  });
  it.each([
    ['no signature header', {}, 'missing_signature'],
    ['a signature made with another secret (forged)', signJiraBody(body, 'guess'), 'bad_signature'],
    ['a signature in the wrong format', { 'x-hub-signature': 'sha1=abcdef' }, 'bad_signature'],
    ['a truncated signature', { 'x-hub-signature': signJiraBody(body, 'shh')['x-hub-signature'].slice(0, 40) }, 'bad_signature'],
  ] as const)('refuses %s', (_n, headers, expected) => {
    expect(verifyJiraDelivery(signed, delivery(headers))).toBe(expected);
  });
  it('refuses a replay: a correctly signed body received 10 minutes after its timestamp', () => {
    expect(verifyJiraDelivery(signed, delivery(signJiraBody(body, 'shh'), body, new Date(now.getTime() + 600_000)))).toBe('stale');
  });
  it('refuses a signed body without a timestamp (it cannot be told from a replay)', () => {
    const raw = Buffer.from('{"webhookEvent":"jira:issue_updated"}');
    expect(verifyJiraDelivery(signed, delivery(signJiraBody(raw, 'shh'), raw))).toBe('stale');
  });
  it('a correctly signed body that is not JSON is malformed (400), not a replay', () => {
    const raw = Buffer.from('timestamp=1740823200000&webhookEvent=jira:issue_updated');
    expect(verifyJiraDelivery(signed, delivery(signJiraBody(raw, 'shh'), raw))).toBe('malformed');
    expect(verifyJiraDelivery(signed, delivery(signJiraBody(Buffer.from('[1,2]'), 'shh'), Buffer.from('[1,2]')))).toBe('malformed');
  });
  it('a forged body that is not JSON is refused for its signature, before anything is parsed', () => {
    const raw = Buffer.from('not json');
    expect(verifyJiraDelivery(signed, delivery(signJiraBody(raw, 'guess'), raw))).toBe('bad_signature');
  });
  it('Data Center without signing: basic auth compared, wrong or absent refused', () => {
    const basic = webhook({ basicAuth: { username: 'jira', password: 'pw' } });
    const auth = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    expect(verifyJiraDelivery(basic, delivery(auth('jira', 'pw')))).toBe('valid');
    expect(verifyJiraDelivery(basic, delivery(auth('jira', 'nope')))).toBe('unauthorized');
    expect(verifyJiraDelivery(basic, delivery({}))).toBe('missing_signature');
  });
  it('config needs a secret or basic auth', () => {
    expect(JiraConfig.shape.webhook.safeParse({}).success).toBe(false);
  });
});

describe('identifyJiraDelivery over every vendored Jira webhook', () => {
  const dir = new URL('../../test/fixtures/vendor/jira/', import.meta.url);
  const webhooks = readdirSync(dir).filter((f) => f.includes('-webhook.'));
  it('finds them all', () => expect(webhooks.length).toBe(8));
  it.each(webhooks)('%s names its issue', (file) => {
    const raw = readFileSync(new URL(file, dir));
    const parsed = JSON.parse(raw.toString('utf8')) as { issue?: { id: string }; comment?: { self: string } };
    const expected = parsed.issue?.id ?? /\/issue\/(\d+)\/comment\//.exec(parsed.comment!.self)![1];
    const id = identifyJiraDelivery(['TES', 'KT', 'PRJX'], delivery({ 'x-atlassian-webhook-identifier': `id-${file}` }, raw));
    expect(id).toMatchObject({ ok: true, ticketId: expected, deliveryId: `id-${file}`, relevant: true });
  });
  describe("Jira's echo of grantline's own note", () => {
    const self = 'https://acme.atlassian.net/rest/api/2/issue/10040/comment/10082';
    const commentEvent = (event: string, commentBody: unknown) =>
      Buffer.from(
        JSON.stringify({
          timestamp: 1,
          webhookEvent: event,
          comment: { self, id: '10082', author: { accountId: 'grantline-bot' }, body: commentBody },
          issue: { id: '10040', key: 'TES-41', fields: { project: { key: 'TES' } } },
        }),
      );
    const adf = { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: '[grantline:g_1]' }] }] };
    it.each([
      ['comment_created, text body', 'comment_created', '[grantline:g_1]\nAccess granted: x'],
      ['comment_updated, text body', 'comment_updated', '[grantline:g_1]\nAccess granted: x'],
      ['comment_created, ADF body', 'comment_created', adf],
    ])('%s: acknowledged and ignored, so the issue is not read again', (_n, event, commentBody) => {
      expect(identifyJiraDelivery(['TES'], delivery({ 'x-atlassian-webhook-identifier': 'e1' }, commentEvent(event, commentBody)))).toEqual({
        ok: true,
        ticketId: '10040',
        ticketKey: 'TES-41',
        deliveryId: 'e1',
        eventType: event,
        relevant: false,
        ignoredBecause: `${event} for grantline's own note`,
      });
    });
    it.each([
      ['a person\'s comment', 'comment_created', 'approved, go ahead'],
      ['a comment event without its body', 'comment_created', undefined],
    ])('%s stays relevant', (_n, event, commentBody) => {
      expect(identifyJiraDelivery(['TES'], delivery({}, commentEvent(event, commentBody)))).toMatchObject({ ok: true, relevant: true });
    });
    it('an issue update is relevant even when its body also carries a grantline comment', () => {
      const raw = Buffer.from(JSON.stringify({ timestamp: 1, webhookEvent: 'jira:issue_updated', comment: { self, body: '[grantline:g_1]' }, issue: { id: '10040', key: 'TES-41' } }));
      expect(identifyJiraDelivery(['TES'], delivery({}, raw))).toMatchObject({ ok: true, relevant: true });
    });
  });
  it('a body with nothing that names an issue is not identified', () => {
    const raw = Buffer.from(JSON.stringify({ timestamp: 1, webhookEvent: 'comment_created', comment: { self: 'https://elsewhere.example/x' } }));
    expect(identifyJiraDelivery(['TES'], delivery({}, raw))).toMatchObject({ ok: false });
  });
});

describe('embeddedComments over the recorded Jira issues', () => {
  const dir = new URL('../../test/fixtures/vendor/jira/', import.meta.url);
  const issue = (name: string) => JiraIssue.parse(JSON.parse(readFileSync(new URL(name, dir), 'utf8')));

  it('takes a whole embedded page (startAt 0, total comments present)', () => {
    const comments = embeddedComments(issue('jira-cloud-get-issue.v2.realistic.jira-to-matrix.json'));
    expect(comments?.map((c) => c.id)).toHaveLength(3);
  });

  it('refuses a bare list without a total: it cannot be shown to be whole, so the comment endpoint is read', () => {
    // Atlassian's v3 example embeds `comment` as a plain list, without the page's total.
    const example = JSON.parse(readFileSync(new URL('jira-cloud-get-issue.v3.response.json', dir), 'utf8')) as { fields: { comment: unknown } };
    expect(Array.isArray(example.fields.comment)).toBe(true);
    expect(embeddedComments(JiraIssue.parse({ id: '10010', key: 'ED-1', fields: { comment: example.fields.comment } }))).toBeNull();
  });
});

describe('Jira client safety', () => {
  let stub: JiraStub;
  let other: ReturnType<typeof createServer>;
  let otherHits = 0;
  let otherUrl = '';
  beforeAll(async () => {
    stub = await startJiraStub();
    other = createServer((_q, r) => {
      otherHits += 1;
      r.end('{}');
    });
    await new Promise<void>((res) => other.listen(0, '127.0.0.1', res));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await stub.close();
    other.closeAllConnections();
    await new Promise<void>((res) => other.close(() => res()));
  });
  const make = (review?: { projectKey: string }) =>
    jiraConnector.create(
      JiraConfig.parse({
        baseUrl: stub.baseUrl,
        deployment: 'cloud',
        auth: { kind: 'basic', email: 'bot@example.com', apiToken: 'super-secret-token' },
        webhook: { secret: 's' },
        projects: ['ACC'],
        fields: { entitlement: { fieldId: 'customfield_10100', options: {} } },
        approvals: { mode: 'jsm' },
        ...(review === undefined ? {} : { review }),
      }),
      { connectorId: 'jira-main', logger: pino({ level: 'silent' }), directory: principalResolver(() => null) },
    );

  it('401: a non-retriable error whose message and properties never carry the token', async () => {
    const issue = stub.state.seedIssue({});
    stub.failNext(401);
    const error = await make().fetchTicket(issue.id).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetriableError);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('super-secret-token');
    expect(String((error as Error).message)).not.toContain(Buffer.from('bot@example.com:super-secret-token').toString('base64'));
  });

  it('a redirect to another host is not followed', async () => {
    const issue = stub.state.seedIssue({});
    stub.failNext(302, { location: `${otherUrl}/rest/api/3/issue/${issue.id}` });
    await expect(make().fetchTicket(issue.id)).rejects.toBeInstanceOf(NonRetriableError);
    expect(otherHits).toBe(0);
  });

  it('a ticket id that is not an id or key is refused before any call', async () => {
    const before = stub.requests.length;
    await expect(make().fetchTicket('../../../admin')).rejects.toBeInstanceOf(NonRetriableError);
    expect(stub.requests.length).toBe(before);
  });

  it('reads comments from the issue when Jira embedded all of them, from the comment endpoint when not', async () => {
    const author = { accountId: 'acc-bob', displayName: 'Bob' };
    const issue = stub.state.seedIssue({ approvals: [], comments: [1, 2, 3].map((n) => ({ author, text: `comment ${n}` })) });
    const commentCalls = () => stub.requests.filter((r) => r.path.endsWith(`/issue/${issue.id}/comment`)).length;
    const texts = (snapshot: TicketSnapshot) => (snapshot.raw as JiraSnapshotRaw).comments.map((c) => plainText(c.body));

    const whole = await make().fetchTicket(issue.id);
    expect(texts(whole)).toEqual(['comment 1', 'comment 2', 'comment 3']);
    expect(commentCalls()).toBe(0);

    stub.state.embeddedCommentLimit = 2;
    try {
      const paged = await make().fetchTicket(issue.id);
      expect(texts(paged)).toEqual(['comment 1', 'comment 2', 'comment 3']);
      expect(commentCalls()).toBe(1);
    } finally {
      stub.state.embeddedCommentLimit = 50;
    }
  });

  it('scope: only issue keys of the configured projects, and reviews only in the review project', () => {
    const c = make();
    expect(c.scope({ ticketId: '10001', ticketKey: 'ACC-7' })).toEqual({ ok: true });
    expect(c.scope({ ticketId: '10001', ticketKey: 'OPS-7' })).toMatchObject({ ok: false, detail: expect.stringContaining('project OPS') });
    expect(c.scope({ ticketId: '10001', ticketKey: '10001' })).toMatchObject({ ok: false, detail: expect.stringContaining('not a Jira issue key') });
    expect(c.scope({ ticketId: '10001', ticketKey: 'ACC-7' }, 'review')).toMatchObject({ ok: false });
  });

  it('a break-glass review is linked to the issue key that scope judged, never to the task\'s id', async () => {
    const inside = stub.state.seedIssue({ key: 'ACC-900' });
    const outside = stub.state.seedIssue({ key: 'OPS-900' });
    const grant = { grantId: 'grt_scope', entitlementId: 'db-admin', resource: 'db-1', environment: 'prod', subject: { type: 'human', id: 'p-dave' }, validFrom: '2026-11-20T10:00:00Z', expiresAt: '2026-11-20T12:00:00Z', breakGlass: { active: true, reviewDueAt: '2026-11-21T10:00:00Z' } } as unknown as GrantDecision;
    const review = await make({ projectKey: 'REV' }).openReview({ ticketId: outside.id, ticketKey: inside.key }, grant);
    expect(review.ticketKey).toMatch(/^REV-/);
    expect(stub.state.issue(inside.key)?.links.map((l) => [l.inward, l.outward].sort())).toEqual([[inside.key, review.ticketKey].sort()]);
    expect(stub.state.issue(outside.key)?.links).toEqual([]);
  });

  it('JSM write-back is an internal servicedeskapi comment, written once', async () => {
    const issue = stub.state.seedIssue({ approvals: [] });
    const c = make();
    expect((await c.writeBack({ ticketId: issue.id, ticketKey: issue.key }, { kind: 'note', text: 'hello' }, 'k-1')).written).toBe(true);
    expect((await c.writeBack({ ticketId: issue.id, ticketKey: issue.key }, { kind: 'note', text: 'hello' }, 'k-1')).written).toBe(false);
    expect(stub.state.comments(issue.id).map((x) => [x.public, x.text.split('\n')[0]])).toEqual([[false, '[grantline:k-1]']]);
  });
  it('reads the comments for the marker before writing, except when told the note cannot be there', async () => {
    const issue = stub.state.seedIssue({ approvals: [] });
    const c = make();
    const from = stub.requests.length;
    expect((await c.writeBack({ ticketId: issue.id, ticketKey: issue.key }, { kind: 'note', text: 'hello' }, 'k-2', { knownAbsent: true })).written).toBe(true);
    expect(stub.requests.slice(from).map((r) => r.method)).toEqual(['POST']);
    const again = stub.requests.length;
    expect((await c.writeBack({ ticketId: issue.id, ticketKey: issue.key }, { kind: 'note', text: 'hello' }, 'k-2')).written).toBe(false);
    expect(stub.requests.slice(again).map((r) => r.method)).toEqual(['GET']);
    expect(stub.state.comments(issue.id).filter((x) => x.text.includes('[grantline:k-2]'))).toHaveLength(1);
  });
});
