import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startJsonStub } from './common.js';
import type { RecordedRequest, StubReply } from './common.js';

export type { RecordedRequest } from './common.js';

/**
 * A stateful local Jira (Cloud v3 / Data Center v2 platform API, JSM servicedeskapi) for unit tests,
 * end-to-end tests, the quick start and the benchmarks. Issues are answered in the shape of
 * `GET /rest/api/{2|3}/issue/{idOrKey}` (base: a trimmed copy of a recorded real issue in
 * test/fixtures/jira/issue-base.v2.json); JSM approvals in the shape of the JSM OpenAPI examples.
 */

/** A person as Jira shows them. Cloud: `accountId`; Data Center: `name` and `key`. */
export interface StubUser {
  accountId?: string;
  name?: string;
  key?: string;
  displayName?: string;
}

export interface StubHistory {
  id: string;
  author: StubUser;
  created: string;
  items: { field: string; fieldtype: string; fieldId?: string; from: string | null; fromString: string | null; to: string | null; toString: string | null }[];
}

export interface StubComment {
  id: string;
  author: StubUser;
  /** Plain text; rendered as ADF on v3 and as a string on v2. */
  text: string;
  created: string;
  updated: string;
  /** JSM: false for internal comments. */
  public: boolean;
  properties: { key: string; value: unknown }[];
}

export interface StubApproval {
  id: string;
  name?: string;
  finalDecision: 'approved' | 'declined' | 'pending';
  approvers: { approver: StubUser; approverDecision: 'approved' | 'declined' | 'pending' }[];
  createdDate: string;
  completedDate?: string | null;
}

export interface StubIssue {
  id: string;
  key: string;
  /** Everything but `description` is returned as stored; custom fields go here by id. */
  fields: Record<string, unknown>;
  description: string;
  histories: StubHistory[];
  comments: StubComment[];
  /** JSM approvals; null: not a service project (servicedeskapi answers 404). */
  approvals: StubApproval[] | null;
  links: { type: string; inward: string; outward: string }[];
}

export interface SeedIssue {
  id?: string;
  key?: string;
  summary?: string;
  description?: string;
  status?: string;
  /** `new`, `indeterminate` or `done`. */
  statusCategory?: string;
  reporter?: StubUser;
  created?: string | Date;
  updated?: string | Date;
  fields?: Record<string, unknown>;
  histories?: Omit<StubHistory, 'id'>[] | StubHistory[];
  comments?: { author: StubUser; text: string; created?: string | Date }[];
  approvals?: StubApproval[] | null;
  resolution?: string | null;
}

const BASE = JSON.parse(readFileSync(new URL('../../test/fixtures/jira/issue-base.v2.json', import.meta.url), 'utf8')) as {
  fields: Record<string, unknown>;
};

/** Jira's own timestamp format: `2024-05-01T10:00:00.000+0000`. */
export function jiraTime(at: string | Date): string {
  return new Date(at).toISOString().replace('Z', '+0000');
}

function jsmDate(at: string): { iso8601: string; jira: string; friendly: string; epochMillis: number } {
  const d = new Date(at);
  return { iso8601: d.toISOString().replace(/\.\d{3}Z$/, '+0000'), jira: jiraTime(d), friendly: d.toUTCString(), epochMillis: d.getTime() };
}

function adf(text: string): unknown {
  return { type: 'doc', version: 1, content: text.split('\n').map((line) => ({ type: 'paragraph', content: line === '' ? [] : [{ type: 'text', text: line }] })) };
}

function textOfBody(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body === null || typeof body !== 'object') return '';
  const n = body as { text?: unknown; content?: unknown; type?: unknown };
  if (typeof n.text === 'string') return n.text;
  if (!Array.isArray(n.content)) return '';
  return n.content.map(textOfBody).join(n.type === 'doc' || n.type === 'bulletList' || n.type === 'orderedList' ? '\n' : '');
}

/** The stub's data. Tests seed it and read what the connector wrote. */
export class JiraStubState {
  readonly issues = new Map<string, StubIssue>();
  /** Issue id by key: grantline addresses issues by key, and a scan per request grows with the history. */
  readonly #idByKey = new Map<string, string>();
  #nextId = 20000;
  #nextKey = new Map<string, number>();
  #nextRecord = 50000;
  baseUrl = '';
  /**
   * Comments embedded in an issue GET (`fields.comment`), a page of at most this many; the rest are
   * read from the comment endpoint. Jira pages the embedded field too; the size is our stub's choice.
   */
  embeddedCommentLimit = 50;
  /**
   * Jira sets an issue's `updated` when a comment is added, so a poller sees the issue again after
   * grantline's own note. Off by default (tests count only the changes they make); the benchmarks
   * turn it on to measure that echo.
   */
  commentsTouchUpdated = false;

  /** Adds an issue; `key` decides the project (default `ACC`). Returns the stored issue. */
  seedIssue(seed: SeedIssue = {}): StubIssue {
    const id = seed.id ?? String((this.#nextId += 1));
    const project = (seed.key ?? 'ACC-0').split('-')[0]!;
    const key = seed.key ?? `${project}-${this.#bumpKey(project)}`;
    const created = jiraTime(seed.created ?? new Date());
    const updated = jiraTime(seed.updated ?? seed.created ?? new Date());
    const reporter = seed.reporter ?? { accountId: 'acc-requester', displayName: 'Requester' };
    const status = seed.status ?? 'Open';
    const fields: Record<string, unknown> = {
      ...structuredClone(BASE.fields),
      project: { id: String(10000 + project.length), key: project, name: project, projectTypeKey: seed.approvals === undefined || seed.approvals === null ? 'software' : 'service_desk' },
      summary: seed.summary ?? `Access request ${key}`,
      created,
      updated,
      status: { name: status, id: '1', statusCategory: { key: seed.statusCategory ?? (['Done', 'Closed', 'Resolved'].includes(status) ? 'done' : 'new') } },
      reporter,
      creator: reporter,
      assignee: null,
      resolution: seed.resolution === undefined || seed.resolution === null ? null : { name: seed.resolution },
      resolutiondate: seed.resolution ? updated : null,
      labels: [],
      issuelinks: [],
      ...seed.fields,
    };
    const issue: StubIssue = {
      id,
      key,
      fields,
      description: seed.description ?? '',
      histories: (seed.histories ?? []).map((h): StubHistory => ({ ...h, id: 'id' in h && typeof h.id === 'string' ? h.id : this.nextRecordId(), created: jiraTime(h.created) })),
      comments: [],
      approvals: seed.approvals ?? null,
      links: [],
    };
    this.issues.set(id, issue);
    // As a scan would: a key seeded twice names the first issue seeded with it.
    if (!this.#idByKey.has(key)) this.#idByKey.set(key, id);
    for (const c of seed.comments ?? []) this.addComment(id, c.author, c.text, c.created ?? created);
    return issue;
  }

  #bumpKey(project: string): number {
    const n = (this.#nextKey.get(project) ?? 0) + 1;
    this.#nextKey.set(project, n);
    return n;
  }

  nextRecordId(): string {
    this.#nextRecord += 1;
    return String(this.#nextRecord);
  }

  issue(idOrKey: string): StubIssue | undefined {
    const byId = this.issues.get(idOrKey);
    if (byId !== undefined) return byId;
    const byKey = this.issues.get(this.#idByKey.get(idOrKey) ?? '');
    return byKey?.key === idOrKey ? byKey : [...this.issues.values()].find((i) => i.key === idOrKey);
  }

  /** Records a change the way Jira does: a changelog entry and a new `updated`. */
  change(idOrKey: string, author: StubUser, at: string | Date, items: StubHistory['items']): StubHistory {
    const issue = this.#must(idOrKey);
    const history: StubHistory = { id: this.nextRecordId(), author, created: jiraTime(at), items };
    issue.histories.push(history);
    issue.fields.updated = jiraTime(at);
    return history;
  }

  /** Sets a field and records it in the changelog (`fieldId` on Cloud; pass `dc` for Data Center items). */
  setField(idOrKey: string, fieldId: string, value: unknown, author: StubUser, at: string | Date, opts: { name?: string; dc?: boolean } = {}): void {
    const issue = this.#must(idOrKey);
    const before = issue.fields[fieldId];
    issue.fields[fieldId] = value;
    const str = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'object' ? String((v as { value?: unknown }).value ?? '') : String(v));
    this.change(idOrKey, author, at, [
      { field: opts.name ?? fieldId, fieldtype: fieldId.startsWith('customfield_') ? 'custom' : 'jira', ...(opts.dc ? {} : { fieldId }), from: null, fromString: str(before), to: null, toString: str(value) },
    ]);
  }

  /** Moves the issue to a status, recorded in the changelog as `author`'s transition. */
  transition(idOrKey: string, status: string, author: StubUser, at: string | Date): StubHistory {
    const issue = this.#must(idOrKey);
    const from = (issue.fields.status as { name: string }).name;
    issue.fields.status = { name: status, id: '1', statusCategory: { key: ['Done', 'Closed', 'Resolved'].includes(status) ? 'done' : 'indeterminate' } };
    return this.change(idOrKey, author, at, [{ field: 'status', fieldtype: 'jira', fieldId: 'status', from: '1', fromString: from, to: '2', toString: status }]);
  }

  addComment(idOrKey: string, author: StubUser, text: string, at: string | Date = new Date(), extra: Partial<StubComment> = {}): StubComment {
    const issue = this.#must(idOrKey);
    const comment: StubComment = { id: this.nextRecordId(), author, text, created: jiraTime(at), updated: jiraTime(at), public: true, properties: [], ...extra };
    issue.comments.push(comment);
    return comment;
  }

  /** A comment written through the API (grantline's notes): as `addComment`, and `updated` moves when `commentsTouchUpdated`. */
  postComment(idOrKey: string, author: StubUser, text: string, extra: Partial<StubComment> = {}): StubComment {
    const now = new Date();
    const comment = this.addComment(idOrKey, author, text, now, extra);
    if (this.commentsTouchUpdated) this.#must(idOrKey).fields.updated = jiraTime(now);
    return comment;
  }

  comments(idOrKey: string): StubComment[] {
    return this.#must(idOrKey).comments;
  }

  #must(idOrKey: string): StubIssue {
    const issue = this.issue(idOrKey);
    if (issue === undefined) throw new Error(`stub has no issue ${idOrKey}`);
    return issue;
  }

  /** The issue as `GET /rest/api/{v}/issue/{idOrKey}` answers, with `?expand=changelog` when asked. */
  render(issue: StubIssue, version: '2' | '3', changelog: boolean): unknown {
    const self = `${this.baseUrl}/rest/api/${version}/issue/${issue.id}`;
    const out: Record<string, unknown> = {
      expand: 'renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations',
      id: issue.id,
      self,
      key: issue.key,
      fields: {
        ...issue.fields,
        description: issue.description === '' ? null : version === '3' ? adf(issue.description) : issue.description,
        comment: {
          comments: issue.comments.slice(0, this.embeddedCommentLimit).map((c) => this.renderComment(issue, c, version)),
          maxResults: this.embeddedCommentLimit,
          total: issue.comments.length,
          startAt: 0,
        },
      },
    };
    if (changelog) {
      // Jira embeds at most 100 histories; the rest come from /changelog.
      const histories = issue.histories.slice(0, 100);
      out.changelog = { startAt: 0, maxResults: histories.length, total: issue.histories.length, histories };
    }
    return out;
  }

  renderComment(issue: StubIssue, c: StubComment, version: '2' | '3'): unknown {
    return {
      self: `${this.baseUrl}/rest/api/${version}/issue/${issue.id}/comment/${c.id}`,
      id: c.id,
      author: c.author,
      updateAuthor: c.author,
      body: version === '3' ? adf(c.text) : c.text,
      created: c.created,
      updated: c.updated,
      jsdPublic: c.public,
      ...(c.properties.length > 0 ? { properties: c.properties } : {}),
    };
  }
}

export interface JiraStub {
  readonly baseUrl: string;
  readonly state: JiraStubState;
  readonly requests: RecordedRequest[];
  failNext(status: number, headers?: Record<string, string>, times?: number): void;
  /** The next `times` requests that `match` selects fail with `status`; others are answered. */
  failWhen(match: (req: RecordedRequest) => boolean, status: number, times: number): void;
  close(): Promise<void>;
}

const ISSUE = /^\/rest\/api\/(2|3)\/issue\/([^/]+)$/;
const CHANGELOG = /^\/rest\/api\/(2|3)\/issue\/([^/]+)\/changelog$/;
const COMMENTS = /^\/rest\/api\/(2|3)\/issue\/([^/]+)\/comment$/;
const CREATE = /^\/rest\/api\/(2|3)\/issue$/;
const LINK = /^\/rest\/api\/(2|3)\/issueLink$/;
const SEARCH = /^\/rest\/api\/(3\/search\/jql|2\/search|3\/search)$/;
const REQUEST = /^\/rest\/servicedeskapi\/request\/([^/]+)$/;
const APPROVALS = /^\/rest\/servicedeskapi\/request\/([^/]+)\/approval$/;
const REQUEST_COMMENTS = /^\/rest\/servicedeskapi\/request\/([^/]+)\/comment$/;

const notFound: StubReply = { status: 404, body: { errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} } };

/** Starts the Jira stub on 127.0.0.1 (`port` 0 or absent: any free port). Requests without credentials get 401. */
export async function startJiraStub(options: { port?: number } = {}): Promise<JiraStub> {
  const state = new JiraStubState();
  const stub = await startJsonStub((req) => route(state, req), options.port ?? 0);
  state.baseUrl = stub.baseUrl;
  return { baseUrl: stub.baseUrl, state, requests: stub.requests, failNext: stub.failNext, failWhen: stub.failWhen, close: stub.close };
}

function int(v: string | null, fallback: number): number {
  const n = v === null ? NaN : Number(v);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

function route(state: JiraStubState, req: RecordedRequest): StubReply | undefined {
  if (req.authorization === undefined) return { status: 401, body: { errorMessages: ['You are not authenticated.'], errors: {} } };
  const { method, path, query } = req;
  let m: RegExpExecArray | null;

  if (method === 'GET' && (m = ISSUE.exec(path))) {
    const issue = state.issue(decodeURIComponent(m[2]!));
    if (issue === undefined) return notFound;
    return { status: 200, body: state.render(issue, m[1] as '2' | '3', (query.get('expand') ?? '').split(',').includes('changelog')) };
  }
  if (method === 'GET' && (m = CHANGELOG.exec(path))) {
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-changelog-get
    const issue = state.issue(decodeURIComponent(m[2]!));
    if (issue === undefined) return notFound;
    const startAt = int(query.get('startAt'), 0);
    const maxResults = int(query.get('maxResults'), 100);
    const values = issue.histories.slice(startAt, startAt + maxResults);
    return { status: 200, body: { self: `${state.baseUrl}${path}`, startAt, maxResults, total: issue.histories.length, isLast: startAt + values.length >= issue.histories.length, values } };
  }
  if ((m = COMMENTS.exec(path))) {
    const issue = state.issue(decodeURIComponent(m[2]!));
    if (issue === undefined) return notFound;
    const version = m[1] as '2' | '3';
    if (method === 'GET') {
      const startAt = int(query.get('startAt'), 0);
      const maxResults = int(query.get('maxResults'), 5000);
      const page = issue.comments.slice(startAt, startAt + maxResults);
      return { status: 200, body: { startAt, maxResults, total: issue.comments.length, comments: page.map((c) => state.renderComment(issue, c, version)) } };
    }
    if (method === 'POST') {
      const body = (req.body ?? {}) as { body?: unknown; properties?: { key: string; value: unknown }[]; visibility?: unknown };
      const internal = (body.properties ?? []).some((p) => p.key === 'sd.public.comment' && (p.value as { internal?: unknown } | null)?.internal === true);
      const c = state.postComment(issue.id, { accountId: 'grantline-bot', name: 'grantline', key: 'grantline' }, textOfBody(body.body), {
        public: !internal,
        properties: body.properties ?? [],
      });
      return { status: 201, body: state.renderComment(issue, c, version) };
    }
  }
  if (method === 'POST' && (m = CREATE.exec(path))) {
    const body = (req.body ?? {}) as { fields?: { project?: { key?: string }; summary?: string; description?: unknown; labels?: string[]; issuetype?: { name?: string } } };
    // v3 takes rich-text fields as Atlassian Document Format only; a string is refused as Jira Cloud does.
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-post
    const description = body.fields?.description;
    if (m[1] === '3' && description !== undefined && description !== null && (typeof description !== 'object' || (description as { type?: unknown }).type !== 'doc')) {
      return { status: 400, body: { errorMessages: [], errors: { description: 'Operation value must be an Atlassian Document (see the Atlassian Document Format)' } } };
    }
    const project = body.fields?.project?.key ?? 'REV';
    const issue = state.seedIssue({
      key: `${project}-${[...state.issues.values()].filter((i) => i.key.startsWith(`${project}-`)).length + 1}`,
      summary: body.fields?.summary ?? '',
      description: textOfBody(body.fields?.description),
      fields: { labels: body.fields?.labels ?? [], issuetype: { name: body.fields?.issuetype?.name ?? 'Task' } },
    });
    return { status: 201, body: { id: issue.id, key: issue.key, self: `${state.baseUrl}/rest/api/${m[1]}/issue/${issue.id}` } };
  }
  if (method === 'POST' && LINK.test(path)) {
    const body = (req.body ?? {}) as { type?: { name?: string }; inwardIssue?: { key?: string }; outwardIssue?: { key?: string } };
    const inward = state.issue(body.inwardIssue?.key ?? '');
    const outward = state.issue(body.outwardIssue?.key ?? '');
    if (inward === undefined || outward === undefined) return notFound;
    const link = { type: body.type?.name ?? 'Relates', inward: inward.key, outward: outward.key };
    inward.links.push(link);
    outward.links.push(link);
    return { status: 201 };
  }
  if ((method === 'GET' || method === 'POST') && (m = SEARCH.exec(path))) {
    const params = method === 'GET' ? Object.fromEntries(query) : ((req.body ?? {}) as Record<string, unknown>);
    const hits = searchIssues(state, String(params.jql ?? ''));
    const maxResults = int(params.maxResults === undefined ? null : String(params.maxResults), 50);
    const version = path.startsWith('/rest/api/2') ? '2' : '3';
    const row = (i: StubIssue): unknown => ({ id: i.id, key: i.key, self: `${state.baseUrl}/rest/api/${version}/issue/${i.id}`, fields: { updated: i.fields.updated } });
    if (m[1] === '3/search/jql') {
      // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/#api-rest-api-3-search-jql-get
      const start = params.nextPageToken === undefined ? 0 : Number(Buffer.from(String(params.nextPageToken), 'base64url').toString('utf8'));
      const page = hits.slice(start, start + maxResults);
      const end = start + page.length;
      return { status: 200, body: { issues: page.map(row), isLast: end >= hits.length, ...(end < hits.length ? { nextPageToken: Buffer.from(String(end)).toString('base64url') } : {}) } };
    }
    const startAt = int(params.startAt === undefined ? null : String(params.startAt), 0);
    const page = hits.slice(startAt, startAt + maxResults);
    return { status: 200, body: { startAt, maxResults, total: hits.length, issues: page.map(row) } };
  }
  if (method === 'GET' && (m = APPROVALS.exec(path))) {
    // https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-issueidorkey-approval-get
    const issue = state.issue(decodeURIComponent(m[1]!));
    if (issue === undefined || issue.approvals === null) return notFound;
    const start = int(query.get('start'), 0);
    const limit = int(query.get('limit'), 50);
    const values = issue.approvals.slice(start, start + limit).map((a) => ({
      id: a.id,
      name: a.name ?? 'Approval',
      finalDecision: a.finalDecision,
      canAnswerApproval: false,
      approvers: a.approvers,
      createdDate: jsmDate(a.createdDate),
      ...(a.completedDate ? { completedDate: jsmDate(a.completedDate) } : {}),
      _links: { self: `${state.baseUrl}/rest/servicedeskapi/request/${issue.id}/approval/${a.id}` },
    }));
    return { status: 200, body: { _expands: [], size: values.length, start, limit, isLastPage: start + values.length >= issue.approvals.length, _links: {}, values } };
  }
  if (method === 'GET' && (m = REQUEST.exec(path))) {
    const issue = state.issue(decodeURIComponent(m[1]!));
    if (issue === undefined || issue.approvals === null) return notFound;
    const status = issue.fields.status as { name: string; statusCategory?: { key?: string } };
    return {
      status: 200,
      body: {
        issueId: issue.id,
        issueKey: issue.key,
        requestTypeId: '25',
        serviceDeskId: '10',
        createdDate: jsmDate(String(issue.fields.created).replace('+0000', 'Z')),
        reporter: issue.fields.reporter,
        requestFieldValues: [
          { fieldId: 'summary', label: 'What do you need?', value: issue.fields.summary },
          { fieldId: 'description', label: 'Why do you need this?', value: issue.description },
        ],
        currentStatus: { status: status.name, statusCategory: (status.statusCategory?.key ?? 'new').toUpperCase(), statusDate: jsmDate(String(issue.fields.updated).replace('+0000', 'Z')) },
      },
    };
  }
  if ((m = REQUEST_COMMENTS.exec(path))) {
    const issue = state.issue(decodeURIComponent(m[1]!));
    if (issue === undefined || issue.approvals === null) return notFound;
    if (method === 'POST') {
      // https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-issueidorkey-comment-post
      const body = (req.body ?? {}) as { body?: string; public?: boolean };
      const c = state.postComment(issue.id, { accountId: 'grantline-bot', name: 'grantline', key: 'grantline' }, body.body ?? '', { public: body.public !== false });
      return { status: 201, body: { id: c.id, body: c.text, public: c.public, author: c.author, created: jsmDate(c.created.replace('+0000', 'Z')) } };
    }
    if (method === 'GET') {
      const values = issue.comments.map((c) => ({ id: c.id, body: c.text, public: c.public, author: c.author, created: jsmDate(c.created.replace('+0000', 'Z')) }));
      return { status: 200, body: { size: values.length, start: 0, limit: values.length, isLastPage: true, values } };
    }
  }
  return undefined;
}

/**
 * The JQL this project's connectors send: `project in (...)` / `project = X`, `updated >= "yyyy/MM/dd HH:mm"`
 * (read as UTC, like an API user whose profile time zone is UTC), `labels = x`, ordered by `updated`
 * (or `created`) then key. Other clauses are ignored.
 */
export function searchIssues(state: JiraStubState, jql: string): StubIssue[] {
  let hits = [...state.issues.values()];
  const inList = /project\s+in\s*\(([^)]*)\)/i.exec(jql);
  const eq = /project\s*=\s*"?([A-Z][A-Z0-9_]*)"?/i.exec(jql);
  const projects = inList ? inList[1]!.split(',').map((p) => p.trim().replace(/^"|"$/g, '')) : eq ? [eq[1]!] : null;
  if (projects !== null) hits = hits.filter((i) => projects.includes(i.key.split('-')[0]!));
  const upd = /updated\s*>=\s*"(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2})"/.exec(jql);
  if (upd) {
    const from = Date.UTC(Number(upd[1]), Number(upd[2]) - 1, Number(upd[3]), Number(upd[4]), Number(upd[5]));
    hits = hits.filter((i) => Date.parse(String(i.fields.updated).replace('+0000', 'Z')) >= from);
  }
  const label = /labels\s*=\s*"?([^"\s]+)"?/.exec(jql);
  if (label) hits = hits.filter((i) => ((i.fields.labels as string[] | undefined) ?? []).includes(label[1]!));
  const byCreated = /order by created/i.test(jql);
  const t = (i: StubIssue): number => Date.parse(String(byCreated ? i.fields.created : i.fields.updated).replace('+0000', 'Z'));
  const keyOrder = (a: string, b: string): number => {
    const [pa = '', na = '0'] = a.split('-');
    const [pb = '', nb = '0'] = b.split('-');
    return pa < pb ? -1 : pa > pb ? 1 : Number(na) - Number(nb);
  };
  return hits.sort((a, b) => t(a) - t(b) || keyOrder(a.key, b.key));
}

/** Headers of a signed Jira webhook delivery: `X-Hub-Signature: sha256=<hex>` over the exact bytes. */
export function signJiraWebhook(body: Buffer | string, secret: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-hub-signature': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  };
}

/**
 * A Cloud-style `jira:issue_updated` webhook body about a stub issue, with `timestamp` = `at`. `selfBase`
 * sets the host inside `self` and user links (a payload whose links point elsewhere).
 */
export function jiraWebhookBody(issue: Pick<StubIssue, 'id' | 'key'>, opts: { at?: Date; event?: string; selfBase?: string } = {}): Buffer {
  const base = opts.selfBase ?? 'https://example.atlassian.net';
  const project = issue.key.split('-')[0];
  return Buffer.from(
    JSON.stringify({
      timestamp: (opts.at ?? new Date()).getTime(),
      webhookEvent: opts.event ?? 'jira:issue_updated',
      issue_event_type_name: 'issue_generic',
      user: { self: `${base}/rest/api/2/user?accountId=acc-requester`, accountId: 'acc-requester', displayName: 'Requester' },
      issue: { id: issue.id, self: `${base}/rest/api/2/issue/${issue.id}`, key: issue.key, fields: { project: { self: `${base}/rest/api/2/project/${project}`, key: project } } },
      changelog: { id: '1', items: [{ field: 'status', fieldtype: 'jira', fieldId: 'status', from: '1', fromString: 'Open', to: '2', toString: 'In Progress' }] },
    }),
  );
}
