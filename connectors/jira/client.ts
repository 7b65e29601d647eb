import type { createCloudClient } from 'jira.js/cloud';
import type { Client } from 'jira.js/core';
import type { createServiceDeskClient } from 'jira.js/serviceDesk';
import type { z } from 'zod';
import { NonRetriableError, SourceResponseError } from '../../src/connector/errors.js';
import { adfText, type JiraCommentBody } from './adf.js';
import type { JiraConfig } from './config.js';
import * as dc from './datacenter.js';
import { call, createJiraTransport, REQUEST_TIMEOUT_MS } from './transport.js';
import type { ChangelogHistory } from './records.js';
import {
  JiraComment,
  JiraIssue,
  JsmApproval,
  PagedJsm,
  PageOfChangelogs,
  PageOfComments,
  SearchPage,
  toIso,
} from './records.js';

/** A comment grantline added: its id, and its creation time (ISO; null when the answer has none). */
export interface AddedComment {
  readonly id: string;
  /** Jira sets the issue's `updated` to the time a comment is created: what the poller then sees. */
  readonly createdAt: string | null;
}

/** Issue ids and keys only: anything else could reshape the request path. */
const ISSUE_REF = /^([0-9]+|[A-Z][A-Z0-9_]+-[0-9]+)$/;
const PAGE = 100;

type CloudApi = ReturnType<typeof createCloudClient>;
type ServiceDeskApi = ReturnType<typeof createServiceDeskClient>;

/**
 * The Jira, Service Desk and search calls this connector makes, against the configured base URL
 * only. Cloud goes through jira.js 6's v3 surface, Data Center through our v2 calls
 * (`datacenter.ts`), JSM through jira.js's Service Desk surface on both (servicedeskapi is the same
 * API there); all three share one transport (`transport.ts`) that refuses redirects and any path
 * outside the base URL and gives each request a deadline. Nothing follows `self` links from
 * responses. Every failure becomes one of our error classes, with a message that names the
 * operation and status, never a credential.
 */
export class JiraApi {
  readonly #http: Client;
  readonly #isCloud: boolean;
  #cloud: Promise<CloudApi> | undefined;
  #serviceDesk: Promise<ServiceDeskApi> | undefined;

  /** `timeoutMs`: the deadline of one request (default 15 s). */
  constructor(config: JiraConfig, options: { timeoutMs?: number } = {}) {
    this.#isCloud = config.deployment === 'cloud';
    this.#http = createJiraTransport(config, options.timeoutMs ?? REQUEST_TIMEOUT_MS);
    // Loading starts now, in the background, so the first ticket does not wait for it; a failure
    // surfaces on the first call that needs the surface.
    if (this.#isCloud) void this.#v3().catch(() => undefined);
    if (config.approvals.mode === 'jsm') void this.#jsm().catch(() => undefined);
  }

  /*
   * jira.js's surfaces are imported here, not at the top of the module: importing `jira.js/cloud`
   * builds the zod schemas of the whole Cloud API (seconds, and about 11 MB of heap), which every
   * process that parses a config (the CLI, most test files) would pay without a Jira connector.
   */
  #v3(): Promise<CloudApi> {
    return (this.#cloud ??= import('jira.js/cloud').then((m) => m.createCloudClient(this.#http)));
  }

  #jsm(): Promise<ServiceDeskApi> {
    return (this.#serviceDesk ??= import('jira.js/serviceDesk').then((m) => m.createServiceDeskClient(this.#http)));
  }

  /** The issue with its full changelog. GET /rest/api/{2|3}/issue/{issueIdOrKey}?expand=changelog */
  async getIssue(ref: string): Promise<JiraIssue> {
    checkRef(ref);
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-get
    const issue = parse(
      JiraIssue,
      await call('get issue', async () =>
        this.#isCloud
          ? (await this.#v3()).issues.getIssue({ issueIdOrKey: ref, expand: 'changelog' })
          : dc.getIssue(this.#http, { issueIdOrKey: ref, expand: 'changelog' }),
      ),
      'get issue',
    );
    const embedded = issue.changelog;
    if (!this.#isCloud || embedded === undefined || embedded.total === undefined || embedded.histories.length >= embedded.total) {
      return issue;
    }
    // Cloud embeds at most 100 histories; the rest come from the paged changelog endpoint.
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-changelog-get
    const histories: ChangelogHistory[] = [];
    for (let startAt = 0; ; startAt += PAGE) {
      const page = parse(
        PageOfChangelogs,
        await call('get changelog', async () => (await this.#v3()).issues.getChangeLogs({ issueIdOrKey: ref, startAt, maxResults: PAGE })),
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
      const params = { issueIdOrKey: ref, startAt, maxResults: PAGE, orderBy: 'created' };
      const page = parse(
        PageOfComments,
        await call('get comments', async () =>
          this.#isCloud ? (await this.#v3()).issueComments.getComments(params) : dc.getComments(this.#http, params),
        ),
        'get comments',
      );
      comments.push(...page.comments);
      if (page.comments.length === 0 || page.total === undefined || comments.length >= page.total) break;
    }
    return comments;
  }

  /** JSM approvals, every page. GET /rest/servicedeskapi/request/{issueIdOrKey}/approval (Cloud and Data Center) */
  async getApprovals(ref: string): Promise<JsmApproval[]> {
    checkRef(ref);
    const approvals: JsmApproval[] = [];
    // https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-issueidorkey-approval-get
    // https://docs.atlassian.com/jira-servicedesk/REST/5.12.0/#servicedeskapi/request/{issueIdOrKey}/approval-getApprovals
    for (let start = 0; ; start += PAGE) {
      const page = parse(
        PagedJsm,
        await call('get approvals', async () => (await this.#jsm()).request.getApprovals({ issueIdOrKey: ref, start, limit: PAGE })),
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
  async addComment(ref: string, body: JiraCommentBody, visibility?: { type: 'role' | 'group'; value: string }): Promise<AddedComment> {
    checkRef(ref);
    const properties = [{ key: 'sd.public.comment', value: { internal: true } }];
    const created = await call('add comment', async () =>
      this.#isCloud
        ? // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/#api-rest-api-3-issue-issueidorkey-comment-post
          // Always a document: given a string body, jira.js 6 posts it to /rest/api/2 with body and
          // visibility only, dropping `properties` (dist/cloud/api/issueComments.js, addComment), and
          // the comment would no longer be internal.
          (await this.#v3()).issueComments.addComment({ issueIdOrKey: ref, body: body.adf, properties, ...(visibility === undefined ? {} : { visibility }) })
        : dc.addComment(this.#http, { issueIdOrKey: ref, body: body.text, properties, ...(visibility === undefined ? {} : { visibility }) }),
    );
    const comment = parse(JiraComment.pick({ id: true, created: true }).partial({ created: true }), created, 'add comment');
    return { id: comment.id, createdAt: toIso(comment.created) };
  }

  /** An internal (agent-only) JSM comment. POST /rest/servicedeskapi/request/{issueIdOrKey}/comment */
  async addInternalRequestComment(ref: string, text: string): Promise<AddedComment> {
    checkRef(ref);
    // https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-issueidorkey-comment-post
    // https://docs.atlassian.com/jira-servicedesk/REST/5.12.0/#servicedeskapi/request/{issueIdOrKey}/comment-createRequestComment
    const created: unknown = await call('add request comment', async () =>
      (await this.#jsm()).request.createRequestComment({ issueIdOrKey: ref, body: text, public: false }),
    );
    const answer = created as { id?: unknown; created?: { epochMillis?: unknown } } | null | undefined;
    const id = answer?.id;
    if (typeof id !== 'string' && typeof id !== 'number') throw new SourceResponseError('add request comment: no comment id in the answer', { retriable: false });
    const millis = answer?.created?.epochMillis;
    return { id: String(id), createdAt: typeof millis === 'number' && Number.isFinite(millis) ? new Date(millis).toISOString() : null };
  }

  /**
   * One page of a JQL search returning `updated` only. Cloud: enhanced search
   * (GET /rest/api/3/search/jql, `nextPageToken`); Data Center: GET /rest/api/2/search (`startAt`).
   */
  async search(jql: string, cursor: string | null, maxResults: number): Promise<{ issues: { id: string; key: string; updated: string }[]; next: string | null }> {
    if (this.#isCloud) {
      // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/#api-rest-api-3-search-jql-get
      const page = parse(
        SearchPage,
        await call('search', async () =>
          (await this.#v3()).issueSearch.searchAndReconsileIssuesUsingJql({
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
    const startAt = cursor === null ? 0 : Number(cursor);
    const page = parse(SearchPage, await call('search', () => dc.search(this.#http, { jql, startAt, maxResults, fields: ['updated'] })), 'search');
    const seen = startAt + page.issues.length;
    const next = page.issues.length === 0 || (page.total !== undefined && seen >= page.total) ? null : String(seen);
    return { issues: page.issues.map((i) => ({ id: i.id, key: i.key, updated: i.fields.updated })), next };
  }

  /** Creates an issue. POST /rest/api/{2|3}/issue */
  async createIssue(fields: { projectKey: string; issueType: string; summary: string; description: string; labels: string[] }): Promise<{ id: string; key: string }> {
    const issueFields = {
      project: { key: fields.projectKey },
      issuetype: { name: fields.issueType },
      summary: fields.summary,
      labels: fields.labels,
    };
    const created = await call('create issue', async () =>
      this.#isCloud
        ? // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-post
          // v3 takes the description as a document only (a string is refused with 400, "Operation value
          // must be an Atlassian Document"); jira.js 5 wrapped a string for us, jira.js 6 would send it to v2.
          (await this.#v3()).issues.createIssue({ fields: { ...issueFields, description: adfText(fields.description) } })
        : dc.createIssue(this.#http, { fields: { ...issueFields, description: fields.description } }),
    );
    const parsed = parse(JiraIssue.pick({ id: true, key: true }), created, 'create issue');
    return { id: parsed.id, key: parsed.key };
  }

  /** Links two issues. POST /rest/api/{2|3}/issueLink */
  async linkIssues(type: string, inwardKey: string, outwardKey: string): Promise<void> {
    const link = { type: { name: type }, inwardIssue: { key: inwardKey }, outwardIssue: { key: outwardKey } };
    await call('link issues', async () =>
      this.#isCloud
        ? // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-links/#api-rest-api-3-issuelink-post
          (await this.#v3()).issueLinks.linkIssues(link)
        : dc.linkIssues(this.#http, link),
    );
  }
}

function checkRef(ref: string): void {
  if (!ISSUE_REF.test(ref)) throw new NonRetriableError('not a Jira issue id or key');
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
