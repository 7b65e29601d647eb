import { z } from 'zod';

/*
 * Lenient schemas of the Jira and JSM payloads this connector reads: only the fields it uses,
 * everything nullable or optional the way real instances send them, unknown keys kept. Canonical
 * shapes live in src/model; these stay here.
 */

/** A Jira user: Cloud names people by `accountId`; Data Center by `name` and `key`. */
export const JiraUser = z.looseObject({
  accountId: z.string().optional(),
  name: z.string().optional(),
  key: z.string().optional(),
  displayName: z.string().optional(),
  /** Absent when the person's profile hides it (Cloud) or the caller may not see it. */
  emailAddress: z.string().optional(),
});
export type JiraUser = z.infer<typeof JiraUser>;

/** A changelog item: Cloud carries `fieldId`; Data Center only `field` (the display name). */
export const ChangelogItem = z.looseObject({
  field: z.string(),
  fieldtype: z.string().optional(),
  fieldId: z.string().optional(),
  from: z.string().nullable().optional(),
  fromString: z.string().nullable().optional(),
  to: z.string().nullable().optional(),
  toString: z.string().nullable().optional(),
});
export type ChangelogItem = z.infer<typeof ChangelogItem>;

export const ChangelogHistory = z.looseObject({
  id: z.string(),
  author: JiraUser.nullable().optional(),
  created: z.string(),
  items: z.array(ChangelogItem),
});
export type ChangelogHistory = z.infer<typeof ChangelogHistory>;

/** A comment body is a string (v2, Data Center) or an Atlassian Document Format tree (v3). */
export const JiraComment = z.looseObject({
  id: z.string(),
  author: JiraUser.nullable().optional(),
  body: z.unknown(),
  created: z.string(),
});
export type JiraComment = z.infer<typeof JiraComment>;

export const PageOfComments = z.looseObject({
  startAt: z.number().optional(),
  maxResults: z.number().optional(),
  total: z.number().optional(),
  comments: z.array(JiraComment),
});

export const PageOfChangelogs = z.looseObject({
  startAt: z.number().optional(),
  maxResults: z.number().optional(),
  total: z.number().optional(),
  isLast: z.boolean().optional(),
  values: z.array(ChangelogHistory),
});

/**
 * A timestamp the mapping only falls back on (`created`) or reports (`updated`): anything but a
 * string is read as absent rather than failing the whole issue. Atlassian's own v3 example sends
 * `"updated": 1`.
 */
const LenientTimestamp = z.string().optional().catch(undefined);

export const JiraIssue = z.looseObject({
  id: z.string(),
  key: z.string(),
  fields: z.looseObject({
    summary: z.string().nullable().optional(),
    description: z.unknown().optional(),
    created: LenientTimestamp,
    updated: LenientTimestamp,
    reporter: JiraUser.nullable().optional(),
    creator: JiraUser.nullable().optional(),
    status: z
      .looseObject({ name: z.string(), statusCategory: z.looseObject({ key: z.string().optional() }).optional() })
      .nullable()
      .optional(),
    resolution: z.looseObject({ name: z.string().optional() }).nullable().optional(),
    resolutiondate: z.string().nullable().optional(),
    project: z.looseObject({ key: z.string().optional(), projectTypeKey: z.string().optional() }).nullable().optional(),
    /** The issue's comments as Jira embeds them (a page); read with `embeddedComments`, which checks it is whole. */
    comment: z.unknown().optional(),
  }),
  changelog: z
    .looseObject({
      startAt: z.number().optional(),
      maxResults: z.number().optional(),
      total: z.number().optional(),
      histories: z.array(ChangelogHistory).default([]),
    })
    .optional(),
});
export type JiraIssue = z.infer<typeof JiraIssue>;

/** JSM dates come as `{ iso8601, jira, friendly, epochMillis }`. */
export const JsmDate = z.looseObject({ iso8601: z.string().optional(), epochMillis: z.number().optional() });

export const JsmApproval = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  finalDecision: z.string(),
  approvers: z
    .array(z.looseObject({ approver: JiraUser, approverDecision: z.string().optional() }))
    .default([]),
  createdDate: JsmDate.nullable().optional(),
  completedDate: JsmDate.nullable().optional(),
});
export type JsmApproval = z.infer<typeof JsmApproval>;

export const PagedJsm = z.looseObject({
  start: z.number().optional(),
  limit: z.number().optional(),
  size: z.number().optional(),
  isLastPage: z.boolean().optional(),
  values: z.array(z.unknown()),
});

/** Search result row: only what the poller needs. */
export const SearchIssue = z.looseObject({
  id: z.string(),
  key: z.string(),
  fields: z.looseObject({ updated: z.string() }),
});
export const SearchPage = z.looseObject({
  issues: z.array(SearchIssue).default([]),
  /** Cloud enhanced search (`/rest/api/3/search/jql`). */
  nextPageToken: z.string().nullable().optional(),
  isLast: z.boolean().optional(),
  /** Data Center (`/rest/api/2/search`). */
  startAt: z.number().optional(),
  maxResults: z.number().optional(),
  total: z.number().optional(),
});

/** A webhook body, Cloud or Data Center. `comment_created` on Data Center has no `issue`. */
export const WebhookBody = z.looseObject({
  timestamp: z.number().optional(),
  webhookEvent: z.string().optional(),
  issue_event_type_name: z.string().optional(),
  issue: z
    .looseObject({
      id: z.union([z.string(), z.number()]).transform(String),
      key: z.string().optional(),
      fields: z.looseObject({ project: z.looseObject({ key: z.string().optional() }).nullable().optional() }).optional(),
    })
    .optional(),
  comment: z.looseObject({ id: z.string().optional(), self: z.string().optional(), body: z.unknown().optional() }).optional(),
});
export type WebhookBody = z.infer<typeof WebhookBody>;

/**
 * Jira timestamps (`2023-08-28T07:19:09.854+0000`, JSM `2016-09-28T14:01:00+0700`) as ISO 8601 UTC,
 * or null when unparseable.
 */
export function toIso(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const withColon = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(withColon);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** Plain text of a comment or description: a v2 string, or the text nodes of a v3 ADF document. */
export function plainText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body === null || typeof body !== 'object') return '';
  const node = body as { type?: unknown; text?: unknown; content?: unknown };
  if (typeof node.text === 'string') return node.text;
  if (!Array.isArray(node.content)) return '';
  // Blocks (the document, a list and its items) are one line each; inline nodes run together.
  const sep = node.type === 'doc' || node.type === 'bulletList' || node.type === 'orderedList' ? '\n' : '';
  return node.content.map((c) => plainText(c)).join(sep);
}
