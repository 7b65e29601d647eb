import { createHash } from 'node:crypto';
import type { Delivery, Identification } from '../../src/connector/contract.js';
import { isGrantlineNote } from '../../src/connector/note.js';
import { plainText, WebhookBody } from './records.js';

/** Events that can change a request's state. Others (deletions, worklogs, ...) are acknowledged and dropped. */
const RELEVANT_EVENTS = new Set(['jira:issue_created', 'jira:issue_updated', 'comment_created', 'comment_updated']);

/** `.../rest/api/2/issue/10013/comment/10082`: the issue id inside a comment's `self`. Parsed, never fetched. */
const COMMENT_SELF = /\/rest\/api\/[0-9]+\/issue\/([0-9]+)\/comment\/[0-9]+$/;

/** Events about one comment: the comment they carry is all that changed. */
const COMMENT_EVENTS = new Set(['comment_created', 'comment_updated']);

const ISSUE_KEY = /^([A-Z][A-Z0-9_]+)-[0-9]+$/;

/** The project of an issue key (`ACC-12` → `ACC`), or null when it is not an issue key. */
export function projectOfKey(key: string): string | null {
  return ISSUE_KEY.exec(key)?.[1] ?? null;
}

/**
 * Reads the ticket and a dedup id from a verified Jira delivery. The ticket is `issue.id`; a Data
 * Center `comment_created` carries no `issue`, so the id comes from the path of `comment.self`
 * (only the path is read; the URL is never called). The delivery id is `X-Atlassian-Webhook-Identifier`,
 * or `sha256:<hex of the body>` for Data Center, which does not send it (a retry has the same body).
 */
export function identifyJiraDelivery(projects: readonly string[], delivery: Delivery): Identification {
  let parsed: unknown;
  try {
    parsed = JSON.parse(delivery.rawBody.toString('utf8'));
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const body = WebhookBody.safeParse(parsed);
  if (!body.success) return { ok: false, reason: 'body is not a Jira webhook event' };
  const event = body.data.webhookEvent ?? 'unknown';
  const headerId = delivery.headers['x-atlassian-webhook-identifier'];
  const deliveryId =
    headerId !== undefined && headerId !== ''
      ? headerId
      : `sha256:${createHash('sha256').update(delivery.rawBody).digest('hex')}`;

  let ticketId: string | null = null;
  let ticketKey: string | null = null;
  let project: string | null = null;
  if (body.data.issue !== undefined) {
    ticketId = body.data.issue.id;
    ticketKey = body.data.issue.key ?? null;
    project = body.data.issue.fields?.project?.key ?? (ticketKey === null ? null : projectOfKey(ticketKey));
  } else if (body.data.comment?.self !== undefined) {
    ticketId = COMMENT_SELF.exec(safePath(body.data.comment.self))?.[1] ?? null;
  }
  if (ticketId === null || !/^[0-9]+$/.test(ticketId)) {
    return { ok: false, reason: `${event} delivery names no issue id` };
  }
  // A Data Center comment event names no project: relevant, and the re-read issue is authoritative.
  const relevant = RELEVANT_EVENTS.has(event) && (project === null || projects.includes(project));
  // Jira's echo of grantline's own note: the comment carries grantline's marker, and a comment that
  // does is never read as anybody's opinion (the mapping and the approval rule skip it), so it
  // cannot change a decision. Re-reading the issue for it would spend the source's rate limit on
  // our own write (issue 16). Any other change of the issue comes with its own event.
  const comment = body.data.comment;
  if (relevant && COMMENT_EVENTS.has(event) && comment !== undefined && isGrantlineNote(plainText(comment.body))) {
    return { ok: true, ticketId, ticketKey, deliveryId, eventType: event, relevant: false, ignoredBecause: `${event} for grantline's own note` };
  }
  return { ok: true, ticketId, ticketKey, deliveryId, eventType: event, relevant };
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}
