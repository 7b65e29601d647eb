import { ServiceDeskClient, Version2Client, Version3Client } from 'jira.js';
import type { z } from 'zod';
import {
  NonRetriableError,
  SourceRateLimitedError,
  SourceResponseError,
  SourceUnavailableError,
} from '../../src/connector/errors.js';
import type { JiraConfig } from './config.js';
import type { ChangelogHistory } from './vendor.js';
import {
  JiraComment,
  JiraIssue,
  JsmApproval,
  PagedJsm,
  PageOfChangelogs,
  PageOfComments,
  SearchPage,
} from './vendor.js';

/** Issue ids and keys only: anything else could reshape the request path. */
const ISSUE_REF = /^([0-9]+|[A-Z][A-Z0-9_]+-[0-9]+)$/;
const PAGE = 100;

/**
 * The Jira, Service Desk and search calls this connector makes, through jira.js, against the
 * configured base URL only. jira.js builds every URL from `host` plus a fixed path; it never follows
 * `self` links from responses, and redirects are refused here (`maxRedirects: 0`), so a response
 * cannot send a call (and its credentials) elsewhere. Every failure becomes one of our error classes,
 * with a message that names the operation and status, never a credential.
 */
export class JiraApi {
  /** Exactly one of the two is set: v3 for Cloud, v2 for Data Center. */
  readonly #v3: Version3Client | null;
  readonly #v2: Version2Client | null;
  readonly #serviceDesk: ServiceDeskClient;
  readonly #cloud: boolean;

  constructor(config: JiraConfig) {
    this.#cloud = config.deployment === 'cloud';
    const auth = config.auth;
    const baseRequestConfig = { maxRedirects: 0, timeout: 15_000 };
    // A Data Center personal access token is a plain bearer header; jira.js's OAuth 2.0 mode is for Cloud apps.
    const clientConfig =
      auth.kind === 'bearer'
        ? { host: config.baseUrl, baseRequestConfig: { ...baseRequestConfig, headers: { Authorization: `Bearer ${auth.token.reveal()}` } } }
        : {
            host: config.baseUrl,
            baseRequestConfig,
            authentication: {
              basic:
                auth.kind === 'basic'
                  ? { email: auth.email, apiToken: auth.apiToken.reveal() }
                  : { email: auth.username, apiToken: auth.password.reveal() },
            },
          };
    this.#v3 = this.#cloud ? new Version3Client(clientConfig) : null;
    this.#v2 = this.#cloud ? null : new Version2Client(clientConfig);
    this.#serviceDesk = new ServiceDeskClient(clientConfig);
  }

  /** The issue with its full changelog. GET /rest/api/{2|3}/issue/{issueIdOrKey}?expand=changelog */
  async getIssue(ref: string): Promise<JiraIssue> {
    checkRef(ref);
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-get
    const issue = parse(
      JiraIssue,
      await call('get issue', () =>
        this.#v3 !== null
          ? this.#v3.issues.getIssue<unknown>({ issueIdOrKey: ref, expand: 'changelog' })
          : this.#v2!.issues.getIssue<unknown>({ issueIdOrKey: ref, expand: 'changelog' }),
      ),
      'get issue',
    );
    const embedded = issue.changelog;
    if (!this.#cloud || embedded === undefined || embedded.total === undefined || embedded.histories.length >= embedded.total) {
      return issue;
    }
    // Cloud embeds at most 100 histories; the rest come from the paged changelog endpoint.
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-changelog-get
    const histories: ChangelogHistory[] = [];
    for (let startAt = 0; ; startAt += PAGE) {
      const page = parse(
        PageOfChangelogs,
        await call('get changelog', () =>
          this.#v3!.issues.getChangeLogs<unknown>({ issueIdOrKey: ref, startAt, maxResults: PAGE }),
        ),
        'get changelog',
      );
      histories.push(...page.values);
      if (page.isLast === true || page.values.length === 0 || (page.total !== undefined && histories.length >= page.total)) break;
    }
    return { ...issue, changelog: { ...embedded, histories } };
  }

  /**
   * Every comment, oldest first: from the issue itself when Jira embedded all of them (one request
   * fewer per fetch; fetches are what the source's rate limit counts), else from the comment endpoint.
   */
  async getAllComments(issue: JiraIssue): Promise<JiraComment[]> {
    return embeddedComments(issue) ?? this.getComments(issue.id);
  }

  /** Every comment, oldest first. GET /rest/api/{2|3}/issue/{issueIdOrKey}/comment */
  async getComments(ref: string): Promise<JiraComment[]> {
    checkRef(ref);
    const comments: JiraComment[] = [];
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/#api-rest-api-3-issue-issueidorkey-comment-get
    for (let startAt = 0; ; startAt += PAGE) {
      const page = parse(
        PageOfComments,
        await call('get comments', () =>
          this.#v3 !== null
            ? this.#v3.issueComments.getComments<unknown>({ issueIdOrKey: ref, startAt, maxResults: PAGE, orderBy: 'created' })
            : this.#v2!.issueComments.getComments<unknown>({ issueIdOrKey: ref, startAt, maxResults: PAGE, orderBy: 'created' }),
        ),
        'get comments',
      );
      comments.push(...page.comments);
      if (page.comments.length === 0 || page.total === undefined || comments.length >= page.total) break;
    }
    return comments;
  }

  /** JSM approvals, every page. GET /rest/servicedeskapi/request/{issueIdOrKey}/approval */
  async getApprovals(ref: string): Promise<JsmApproval[]> {
    checkRef(ref);
    const approvals: JsmApproval[] = [];
    // https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-issueidorkey-approval-get
    for (let start = 0; ; start += PAGE) {
      const page = parse(
        PagedJsm,
        await call('get approvals', () => this.#serviceDesk.request.getApprovals<unknown>({ issueIdOrKey: ref, start, limit: PAGE })),
        'get approvals',
      );
      for (const value of page.values) approvals.push(parse(JsmApproval, value, 'get approvals'));
      if (page.isLastPage !== false || page.values.length === 0) break;
    }
    return approvals;
  }

  /**
   * A comment on a plain Jira issue, marked internal for JSM agents by the `sd.public.comment`
   * property, restricted to `visibility` when configured. Returns the comment id.
   */
  async addComment(ref: string, text: string, visibility?: { type: 'role' | 'group'; value: string }): Promise<string> {
    checkRef(ref);
    const properties = [{ key: 'sd.public.comment', value: { internal: true } }];
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/#api-rest-api-3-issue-issueidorkey-comment-post
    const created = await call('add comment', () =>
      this.#v3 !== null
        ? this.#v3.issueComments.addComment<unknown>({
            issueIdOrKey: ref,
            comment: adf(text),
            properties,
            ...(visibility === undefined ? {} : { visibility }),
          })
        : this.#v2!.issueComments.addComment<unknown>({
            issueIdOrKey: ref,
            comment: text,
            properties,
            ...(visibility === undefined ? {} : { visibility }),
          }),
    );
    return parse(JiraComment.pick({ id: true }), created, 'add comment').id;
  }

  /** An internal (agent-only) JSM comment. POST /rest/servicedeskapi/request/{issueIdOrKey}/comment */
  async addInternalRequestComment(ref: string, text: string): Promise<string> {
    checkRef(ref);
    // https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-issueidorkey-comment-post
    const created = await call('add request comment', () =>
      this.#serviceDesk.request.createRequestComment<unknown>({ issueIdOrKey: ref, body: text, public: false }),
    );
    const id = (created as { id?: unknown } | null)?.id;
    if (typeof id !== 'string' && typeof id !== 'number') throw new SourceResponseError('add request comment: no comment id in the answer', { retriable: false });
    return String(id);
  }

  /**
   * One page of a JQL search returning `updated` only. Cloud: enhanced search
   * (GET /rest/api/3/search/jql, `nextPageToken`); Data Center: GET /rest/api/2/search (`startAt`).
   */
  async search(jql: string, cursor: string | null, maxResults: number): Promise<{ issues: { id: string; key: string; updated: string }[]; next: string | null }> {
    if (this.#v3 !== null) {
      const v3 = this.#v3;
      // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/#api-rest-api-3-search-jql-get
      const page = parse(
        SearchPage,
        await call('search', () =>
          v3.issueSearch.searchForIssuesUsingJqlEnhancedSearch<unknown>({
            jql,
            maxResults,
            fields: ['updated'],
            ...(cursor === null ? {} : { nextPageToken: cursor }),
          }),
        ),
        'search',
      );
      const next = page.isLast === true || !page.nextPageToken ? null : page.nextPageToken;
      return { issues: page.issues.map((i) => ({ id: i.id, key: i.key, updated: i.fields.updated })), next };
    }
    // https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/#api/2/search-search
    const startAt = cursor === null ? 0 : Number(cursor);
    const page = parse(
      SearchPage,
      await call('search', () =>
        this.#v2!.issueSearch.searchForIssuesUsingJql<unknown>({ jql, startAt, maxResults, fields: ['updated'] }),
      ),
      'search',
    );
    const seen = startAt + page.issues.length;
    const next = page.issues.length === 0 || (page.total !== undefined && seen >= page.total) ? null : String(seen);
    return { issues: page.issues.map((i) => ({ id: i.id, key: i.key, updated: i.fields.updated })), next };
  }

  /** Creates an issue. POST /rest/api/{2|3}/issue */
  async createIssue(fields: { projectKey: string; issueType: string; summary: string; description: string; labels: string[] }): Promise<{ id: string; key: string }> {
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-post
    const issueFields = {
      project: { key: fields.projectKey },
      issuetype: { name: fields.issueType },
      summary: fields.summary,
      description: fields.description,
      labels: fields.labels,
    };
    const created = await call('create issue', () =>
      this.#v3 !== null
        ? this.#v3.issues.createIssue<unknown>({ fields: issueFields })
        : this.#v2!.issues.createIssue<unknown>({ fields: issueFields }),
    );
    const parsed = parse(JiraIssue.pick({ id: true, key: true }), created, 'create issue');
    return { id: parsed.id, key: parsed.key };
  }

  /** Links two issues. POST /rest/api/{2|3}/issueLink */
  async linkIssues(type: string, inwardKey: string, outwardKey: string): Promise<void> {
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-links/#api-rest-api-3-issuelink-post
    const link = { type: { name: type }, inwardIssue: { key: inwardKey }, outwardIssue: { key: outwardKey } };
    await call('link issues', () =>
      this.#v3 !== null ? this.#v3.issueLinks.linkIssues<unknown>(link) : this.#v2!.issueLinks.linkIssues<unknown>(link),
    );
  }
}

function checkRef(ref: string): void {
  if (!ISSUE_REF.test(ref)) throw new NonRetriableError('not a Jira issue id or key');
}

/** Atlassian Document Format for a plain multi-line text (v3 comment bodies). */
function adf(text: string): { type: 'doc'; version: 1; content: { type: 'paragraph'; content: { type: 'text'; text: string }[] }[] } {
  return {
    type: 'doc',
    version: 1,
    content: text.split('\n').map((line) => ({ type: 'paragraph' as const, content: line === '' ? [] : [{ type: 'text' as const, text: line }] })),
  };
}

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    // An HTML login page or a hibernating proxy answers 200 with something that is not the resource.
    throw new SourceResponseError(`${what}: Jira answered with an unexpected shape`, { retriable: false });
  }
  return result.data;
}

/**
 * Runs one jira.js call and maps what can go wrong. The original error is not chained: axios errors
 * carry the request config, including the Authorization header, and would leak it into logs.
 */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw mapError(what, error);
  }
}

export function mapError(what: string, error: unknown): Error {
  const e = error as { status?: unknown; code?: unknown; cause?: { response?: { headers?: Record<string, unknown> } }; response?: { status?: unknown; headers?: Record<string, unknown> } };
  const status = typeof e?.status === 'number' ? e.status : typeof e?.response?.status === 'number' ? e.response.status : undefined;
  const headers = e?.cause?.response?.headers ?? e?.response?.headers ?? {};
  if (status === undefined) {
    const code = typeof e?.code === 'string' ? ` (${e.code})` : '';
    return new SourceUnavailableError(`${what}: Jira unreachable${code}`);
  }
  if (status === 429) {
    return new SourceRateLimitedError(`${what}: Jira rate limit (429)`, { retryAfterMs: retryAfterMs(headers['retry-after']) ?? 60_000 });
  }
  if (status >= 500) {
    const retryAfter = retryAfterMs(headers['retry-after']);
    return new SourceUnavailableError(`${what}: Jira answered ${status}`, retryAfter === undefined ? {} : { retryAfterMs: retryAfter });
  }
  if (status === 401 || status === 403) {
    return new NonRetriableError(`${what}: Jira refused the configured credentials (${status})`);
  }
  if (status >= 300 && status < 400) {
    return new NonRetriableError(`${what}: Jira answered a redirect (${status}); redirects are not followed`);
  }
  return new NonRetriableError(`${what}: Jira answered ${status}`);
}

/** `Retry-After` as seconds or an HTTP date. */
function retryAfterMs(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The comments Jira embedded in the issue (`fields.comment`, a page like the comment endpoint's),
 * when that page is provably whole: it starts at 0 and holds `total` comments. Anything else (a
 * partial page, no total, a shape we do not know) is null, and the caller reads the comment endpoint.
 */
export function embeddedComments(issue: JiraIssue): JiraComment[] | null {
  const page = PageOfComments.safeParse(issue.fields.comment);
  if (!page.success) return null;
  const { startAt, total, comments } = page.data;
  if ((startAt ?? 0) !== 0 || total === undefined || comments.length < total) return null;
  return comments;
}
