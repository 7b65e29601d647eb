import type { ReviewState, ReviewTicket } from '../../src/connector/contract.js';
import type { GrantDecision } from '../../src/model/index.js';
import type { JiraApi } from './client.js';
import type { JiraConfig } from './config.js';
import { toIso } from './records.js';

/**
 * Opens (or finds, when a previous attempt already opened it) the post-event review issue of a
 * break-glass grant in the review project, labelled by grant id and linked to the original issue.
 */
export async function openReviewIssue(api: JiraApi, config: Pick<JiraConfig, 'baseUrl' | 'review'>, connectorId: string, issue: string, grant: GrantDecision): Promise<ReviewTicket> {
  if (config.review === undefined) throw new Error(`connector ${connectorId}: no review project configured (review.projectKey)`);
  const review = config.review;
  const label = `grantline-review-${grant.grantId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  // Opened once per grant: a retry finds the labelled review instead of opening a second one.
  const found = await api.search(`project = "${review.projectKey}" AND labels = "${label}" ORDER BY created ASC`, null, 1);
  const hit = found.issues[0];
  if (hit !== undefined) return { ticketId: hit.id, ticketKey: hit.key, url: `${config.baseUrl}/browse/${hit.key}` };
  const original = await api.getIssue(issue);
  const created = await api.createIssue({
    projectKey: review.projectKey,
    issueType: review.issueType,
    summary: `Post-event review: break-glass grant ${grant.grantId} (${original.key})`,
    description: [
      `Break-glass access was granted without prior approval and needs a review.`,
      `Ticket: ${original.key}`,
      `Grant: ${grant.grantId}`,
      `Entitlement: ${grant.entitlementId} on ${grant.resource} (${grant.environment})`,
      `Subject: ${grant.subject.type} ${grant.subject.id}`,
      `Valid ${grant.validFrom} until ${grant.expiresAt}; review due ${grant.breakGlass.reviewDueAt ?? 'n/a'}.`,
    ].join('\n'),
    labels: ['grantline', label],
  });
  await api.linkIssues(review.linkType, created.key, original.key);
  return { ticketId: created.id, ticketKey: created.key, url: `${config.baseUrl}/browse/${created.key}` };
}

/** A review issue is closed when its status category is done; its resolution (else status) is the outcome. */
export async function readReviewState(api: JiraApi, review: ReviewTicket): Promise<ReviewState> {
  const issue = await api.getIssue(review.ticketId);
  const closed = issue.fields.status?.statusCategory?.key === 'done';
  if (!closed) return { closed: false, outcome: null, closedAt: null };
  const outcome = (issue.fields.resolution?.name ?? issue.fields.status?.name ?? 'closed').toLowerCase();
  return { closed: true, outcome, closedAt: toIso(issue.fields.resolutiondate) ?? toIso(issue.fields.updated) };
}
