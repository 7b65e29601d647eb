/**
 * What grantline writes on a ticket, rendered once for every source. Connectors only format the
 * result for their vendor (ADF for Jira, a plain work note for ServiceNow).
 */

import type { ReasonCode } from '../model/index.js';
import type { WriteBack } from './contract.js';

const MARKER_OPEN = '[grantline:';

/**
 * The marker a grantline note carries: finding it on the ticket means "already written", and a
 * comment that carries one is grantline's own, never anybody's opinion. The key is made one line
 * without `]` so the marker cannot be cut short or spread over lines.
 */
export function markerFor(idempotencyKey: string): string {
  return `${MARKER_OPEN}${idempotencyKey.replace(/[\]\r\n]/g, '_')}]`;
}

/** Whether a comment's text is one of grantline's own notes. */
export function isGrantlineNote(text: string): boolean {
  return text.includes(MARKER_OPEN);
}

/** What the requester can do about each reason: one hint per reason code, whatever the source. */
export const HOW_TO_FIX: Readonly<Record<ReasonCode, string>> = {
  FREE_TEXT_REQUEST: 'Pick the access you need in the entitlement field (the catalog item) instead of describing it in text.',
  UNMAPPED_ENTITLEMENT: 'Choose a value that is mapped to a catalog entitlement, or ask the access team to map this one.',
  MISSING_FIELD: 'Fill in the named field and update the ticket.',
  SUBJECT_TYPE_NOT_ALLOWED: 'Request an entitlement that allows this kind of identity.',
  ENVIRONMENT_NOT_ALLOWED: 'Choose an environment this entitlement allows.',
  OWNER_MISSING: 'Register an active owner for the identity in the directory.',
  OWNER_INACTIVE: 'Transfer ownership of the identity to an active person.',
  INSUFFICIENT_APPROVALS: "Wait for the required approvers to approve in the ticket's approval step.",
  APPROVER_NOT_AUTHORIZED: 'Ask an approver named for this entitlement to approve.',
  SELF_APPROVAL: 'Someone other than the requester, the subject or whoever filed the request must approve.',
  APPROVAL_STALE: 'The request changed after it was approved: ask the approvers to approve again.',
  APPROVAL_REJECTED: 'An approver rejected the request; talk to them before changing it.',
  APPROVAL_NOT_STRUCTURED: "Comments are not approvals: approvers must use the ticket's approval step.",
  TTL_REQUIRED: 'Fill in the duration field.',
  TTL_EXCEEDS_MAX: 'Ask for a shorter duration.',
  BREAK_GLASS_NOT_ALLOWED: 'Break-glass is not open to this requester for this entitlement; use the normal approval.',
  BREAK_GLASS_TTL_EXCEEDS_MAX: 'Ask for a shorter break-glass duration.',
  BREAK_GLASS_LIMIT_REACHED: 'You already hold as many break-glass grants as allowed: close or cancel one of their requests, or use the normal approval.',
  TICKET_NOT_ACTIONABLE: 'Reopen the request, or file it where grantline watches, if access is still needed.',
  REQUESTER_UNKNOWN: 'The requester is not in the directory (or not only once); contact the access team.',
  SUBJECT_UNKNOWN: 'Name an identity that exists in the directory.',
  MULTIPLE_ENTITLEMENTS: 'Keep one entitlement on this ticket and file a separate ticket for each other one.',
};

/** One rejection reason as a note shows it. */
export interface NoteReason {
  readonly code: ReasonCode;
  readonly message: string;
  readonly fix: string;
}

/**
 * A write-back note, rendered by the core and only formatted by the connector: the marker, then
 * the statement (one line each), then, for a rejection, every reason with how to fix it.
 */
export interface Note {
  readonly marker: string;
  readonly lines: readonly string[];
  readonly reasons: readonly NoteReason[];
}

/** The note grantline writes on a ticket for one write-back item. */
export function renderNote(item: WriteBack, idempotencyKey: string): Note {
  const marker = markerFor(idempotencyKey);
  switch (item.kind) {
    case 'decision': {
      const d = item.decision;
      if (d.outcome === 'granted') {
        const lines = [
          `Access granted: ${d.entitlementId} on ${d.resource} (${d.environment}) for ${d.subject.type} ${d.subject.id}.`,
          `Grant id: ${d.grantId}`,
          `Valid from ${d.validFrom} until ${d.expiresAt} (${d.ttlSeconds} s, ${d.ttlSource === 'requested' ? 'as requested' : 'the catalog default TTL: the ticket asked for none'}).`,
        ];
        if (d.approvals.length > 0) {
          lines.push(`Approvals: ${d.approvals.map((a) => `${a.approverPrincipalId ?? a.approverSource.value} ${a.decision} at ${a.decidedAt}`).join('; ')}`);
        }
        if (d.breakGlass.active) lines.push(`Break-glass: a post-event review is due by ${d.breakGlass.reviewDueAt ?? 'the review deadline'}.`);
        return { marker, lines, reasons: [] };
      }
      return {
        marker,
        lines: [`Access not granted (rejection id ${d.rejectionId}). To fix the request:`],
        reasons: d.reasons.map((r) => ({ code: r.code, message: r.message, fix: HOW_TO_FIX[r.code] })),
      };
    }
    case 'revocation': {
      const r = item.revocation;
      return {
        marker,
        lines: [`Access revoked: grant ${r.grantId} (${r.entitlementId} for ${r.subject.type} ${r.subject.id}) ended at ${r.revokedAt}: ${r.reason} [${r.trigger}].`],
        reasons: [],
      };
    }
    case 'fulfillment': {
      const f = item.result;
      return {
        marker,
        lines: [`Fulfillment: ${f.adapter} reports grant ${f.grantId} ${f.status} (${f.action}, reference ${f.reference}) at ${f.at}.${f.detail === undefined ? '' : ` ${f.detail}`}`],
        reasons: [],
      };
    }
    case 'review-opened':
      return { marker, lines: [`Post-event review opened for break-glass grant ${item.grantId}: ${item.reviewTicketKey} ${item.reviewUrl}`], reasons: [] };
    case 'note':
      return { marker, lines: item.text.split('\n'), reasons: [] };
  }
}

/** One reason as one line of text: code, the reason, how to fix it. */
export function reasonLine(reason: NoteReason): string {
  return `${reason.code}: ${reason.message} How to fix: ${reason.fix}`;
}

/** A note as plain text: the marker line, the statement, one `- ` line per reason. */
export function plainNote(note: Note): string {
  return [note.marker, ...note.lines, ...note.reasons.map((r) => `- ${reasonLine(r)}`)].join('\n');
}
