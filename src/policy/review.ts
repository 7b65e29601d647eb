import type { TicketState, TrackedGrant, WritebackItem } from '../model/index.js';

/** Whether a break-glass grant's post-event review is past its deadline and not closed. */
export function reviewOverdue(grant: TrackedGrant, now: Date): boolean {
  const bg = grant.breakGlass;
  return bg !== null && bg.review?.closed !== true && Date.parse(bg.reviewDueAt) <= now.getTime();
}

/** How many break-glass reviews in these states are overdue at `now` (the `grantline_reviews_overdue` gauge). */
export function countOverdueReviews(states: Iterable<TicketState>, now: Date): number {
  let n = 0;
  for (const state of states) for (const grant of state.grants) if (reviewOverdue(grant, now)) n += 1;
  return n;
}

type OverdueItem = Extract<WritebackItem, { kind: 'review-overdue' }>;

/** The escalation notes of an overdue review: one for the original ticket, one for the review ticket (when opened). */
export function reviewOverdueNotes(item: OverdueItem): { original: string; review: string | null } {
  const review = item.review;
  const where = review === null ? 'No review ticket could be opened yet.' : `Review ticket: ${review.ticketKey} ${review.url}`;
  return {
    original: `ESCALATION: the post-event review of break-glass grant ${item.grantId} (${item.entitlementId}) was due at ${item.reviewDueAt} and is not closed. ${where} Whoever invoked break-glass, and the approvers of ${item.entitlementId}, should complete it now.`,
    review:
      review === null
        ? null
        : `ESCALATION: this review of break-glass grant ${item.grantId} (${item.entitlementId}, ticket ${item.ticketKey}) was due at ${item.reviewDueAt} and is overdue. Record the outcome and close it.`,
  };
}
