import type { Client } from 'jira.js/core';

/*
 * The Jira Data Center platform calls this connector makes. jira.js 6 only has the Cloud v3 surface
 * (Version2Client is gone) and Data Center serves /rest/api/2 only, so these few endpoints are
 * written here, in jira.js's own style, and go through the same transport (`transport.ts`): same
 * base URL check, no redirects, same deadline. Answers are unknown until vendor.ts parses them.
 * Reference: Jira Data Center platform REST API 9.12.
 */

/** GET /rest/api/2/issue/{issueIdOrKey} */
export function getIssue(http: Client, p: { issueIdOrKey: string; expand?: string }): Promise<unknown> {
  // https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/#api/2/issue-getIssue
  return http.sendRequest<unknown>({ url: `/rest/api/2/issue/${p.issueIdOrKey}`, method: 'GET', searchParams: { expand: p.expand } });
}

/** GET /rest/api/2/issue/{issueIdOrKey}/comment */
export function getComments(http: Client, p: { issueIdOrKey: string; startAt: number; maxResults: number; orderBy?: string }): Promise<unknown> {
  // https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/#api/2/issue/{issueIdOrKey}/comment-getComments
  return http.sendRequest<unknown>({
    url: `/rest/api/2/issue/${p.issueIdOrKey}/comment`,
    method: 'GET',
    searchParams: { startAt: p.startAt, maxResults: p.maxResults, orderBy: p.orderBy },
  });
}

/** POST /rest/api/2/issue/{issueIdOrKey}/comment: the body is wiki-markup text on Data Center. */
export function addComment(
  http: Client,
  p: { issueIdOrKey: string; body: string; properties?: { key: string; value: unknown }[]; visibility?: { type: 'role' | 'group'; value: string } },
): Promise<unknown> {
  // https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/#api/2/issue/{issueIdOrKey}/comment-addComment
  return http.sendRequest<unknown>({
    url: `/rest/api/2/issue/${p.issueIdOrKey}/comment`,
    method: 'POST',
    body: { body: p.body, properties: p.properties, visibility: p.visibility },
  });
}

/** GET /rest/api/2/search: JQL, paged by `startAt` (Data Center has no `nextPageToken` search). */
export function search(http: Client, p: { jql: string; startAt: number; maxResults: number; fields: string[] }): Promise<unknown> {
  // https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/#api/2/search-search
  return http.sendRequest<unknown>({
    url: '/rest/api/2/search',
    method: 'GET',
    searchParams: { jql: p.jql, startAt: p.startAt, maxResults: p.maxResults, fields: p.fields },
  });
}

/** POST /rest/api/2/issue */
export function createIssue(http: Client, p: { fields: Record<string, unknown> }): Promise<unknown> {
  // https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/#api/2/issue-createIssue
  return http.sendRequest<unknown>({ url: '/rest/api/2/issue', method: 'POST', body: { fields: p.fields } });
}

/** POST /rest/api/2/issueLink */
export function linkIssues(http: Client, p: { type: { name: string }; inwardIssue: { key: string }; outwardIssue: { key: string } }): Promise<unknown> {
  // https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/#api/2/issueLink-linkIssues
  return http.sendRequest<unknown>({ url: '/rest/api/2/issueLink', method: 'POST', body: p });
}
