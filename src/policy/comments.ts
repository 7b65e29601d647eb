import { isGrantlineNote } from '../connector/note.js';
import type { EntitlementRequest, TicketComment } from '../model/index.js';

/**
 * Words and phrases that make a comment read like an approval, the same for every source. Such a
 * comment is never an approval; it is reported (`APPROVAL_NOT_STRUCTURED`) so the person who wrote
 * it learns to use the ticket's approval step.
 */
export const APPROVAL_WORDS: readonly string[] = [
  'approve',
  'approved',
  'approving',
  'lgtm',
  '+1',
  'ok to grant',
  'okay to grant',
  'ok to go',
  'okay to go',
  'ok to proceed',
  'okay to proceed',
  'go ahead',
  'looks good',
  'granted',
  'sign off',
  'signed off',
];

const escape = (word: string): string => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s+');
/** A listed word or phrase, not inside a longer word ("disapproved", "lgtms" do not count). */
const APPROVAL_LIKE = new RegExp(`(^|[^a-z0-9+])(${APPROVAL_WORDS.map(escape).join('|')})(?![a-z0-9])`, 'i');

/** Whether a comment reads like an approval. grantline's own notes never do. */
export function looksLikeApproval(text: string): boolean {
  return !isGrantlineNote(text) && APPROVAL_LIKE.test(text);
}

/** The comments of a ticket that read like approvals, as the request reports them. */
export function approvalLikeComments(comments: readonly TicketComment[]): EntitlementRequest['approvalLikeComments'] {
  return comments.filter((c) => looksLikeApproval(c.text)).map(({ authorSource, commentId, at }) => ({ authorSource, commentId, at }));
}
