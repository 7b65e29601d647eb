import type { WriteBack, WriteBackResult } from '../../src/connector/contract.js';
import { NonRetriableError } from '../../src/connector/errors.js';
import type { ReasonCode } from '../../src/model/index.js';
import type { ServiceNowClient } from './client.js';
import { Field } from './records.js';

/** The marker that makes a work note idempotent: a second write with the same key finds it. */
export function marker(idempotencyKey: string): string {
  return `[grantline:${idempotencyKey}]`;
}

/** What the requester can do about each reason. */
const FIX: Partial<Record<ReasonCode, string>> = {
  FREE_TEXT_REQUEST: 'Order the catalog item for the access you need instead of the generic form.',
  UNMAPPED_ENTITLEMENT: 'Ask the access team to map this catalog item, or order a mapped one.',
  MISSING_FIELD: 'Fill in the named variable and resubmit.',
  SUBJECT_TYPE_NOT_ALLOWED: 'Request an entitlement that allows this kind of identity.',
  ENVIRONMENT_NOT_ALLOWED: 'Choose an environment this entitlement allows.',
  OWNER_MISSING: 'Register an active owner for the identity in the directory.',
  OWNER_INACTIVE: 'Transfer ownership of the identity to an active person.',
  INSUFFICIENT_APPROVALS: 'Wait for the required approvers to approve in ServiceNow.',
  APPROVER_NOT_AUTHORIZED: 'Ask an approver named for this entitlement to approve.',
  SELF_APPROVAL: 'Someone other than the requester, the subject or whoever filed the request must approve.',
  APPROVAL_STALE: 'The request changed after it was approved: ask the approvers to approve again.',
  APPROVAL_REJECTED: 'An approver rejected the request; talk to them before resubmitting.',
  APPROVAL_NOT_STRUCTURED: 'Comments are not approvals: approvers must use the ServiceNow approval record.',
  TTL_REQUIRED: 'Fill in the duration variable.',
  TTL_EXCEEDS_MAX: 'Ask for a shorter duration.',
  BREAK_GLASS_NOT_ALLOWED: 'Break-glass is not open to this requester for this entitlement; use the normal approval.',
  BREAK_GLASS_TTL_EXCEEDS_MAX: 'Ask for a shorter break-glass duration.',
  BREAK_GLASS_LIMIT_REACHED: 'You already hold as many break-glass grants as allowed: close or cancel one of their requests, or use the normal approval.',
  TICKET_NOT_ACTIONABLE: 'Reopen the request if access is still needed.',
  REQUESTER_UNKNOWN: 'The requester is not in the directory; contact the access team.',
  SUBJECT_UNKNOWN: 'Name an identity that exists in the directory.',
};

/** The work note text for one write-back item, ending with the idempotency marker. */
export function renderWriteBack(item: WriteBack, idempotencyKey: string): string {
  const lines: string[] = [];
  switch (item.kind) {
    case 'decision': {
      const d = item.decision;
      if (d.outcome === 'granted') {
        lines.push(
          `grantline GRANTED ${d.entitlementId} on ${d.resource} (${d.environment}) to ${d.subject.type} ${d.subject.id}.`,
          `Grant: ${d.grantId}`,
          `Valid from ${d.validFrom} until ${d.expiresAt} (${d.ttlSeconds} s, ${d.ttlSource === 'requested' ? 'as requested' : 'catalog default'}).`,
        );
        if (d.approvals.length > 0) {
          lines.push(`Approvals: ${d.approvals.map((a) => `${a.approverPrincipalId ?? a.approverSource.value} ${a.decision} at ${a.decidedAt}`).join('; ')}`);
        }
        if (d.breakGlass.active) lines.push(`Break-glass: a post-event review is due by ${d.breakGlass.reviewDueAt ?? 'the catalog deadline'}.`);
      } else {
        lines.push(`grantline REJECTED this request (${d.rejectionId}). Reasons:`);
        for (const r of d.reasons) {
          const fix = FIX[r.code];
          lines.push(`- ${r.code}: ${r.message}${fix === undefined ? '' : ` How to fix: ${fix}`}`);
        }
      }
      break;
    }
    case 'revocation': {
      const r = item.revocation;
      lines.push(`grantline REVOKED grant ${r.grantId} (${r.entitlementId} for ${r.subject.type} ${r.subject.id}) at ${r.revokedAt}: ${r.trigger}. ${r.reason}`);
      break;
    }
    case 'fulfillment': {
      const f = item.result;
      lines.push(`grantline: ${f.adapter} reports ${f.action} of grant ${f.grantId} ${f.status} at ${f.at} (reference ${f.reference}).${f.detail === undefined ? '' : ` ${f.detail}`}`);
      break;
    }
    case 'review-opened':
      lines.push(`grantline opened post-event review ${item.reviewTicketKey} for break-glass grant ${item.grantId}: ${item.reviewUrl}`);
      break;
    case 'note':
      lines.push(item.text);
      break;
  }
  lines.push(marker(idempotencyKey));
  return lines.join('\n');
}

/**
 * Adds a work note to the RITM (or to a review record of `table`) once per idempotency key: reads
 * the record's work-note journal first and writes nothing when the marker is already there.
 */
export async function writeWorkNote(
  client: ServiceNowClient,
  ticketId: string,
  text: string,
  idempotencyKey: string,
  table: 'sc_req_item' | 'sc_task' | 'incident' = 'sc_req_item',
): Promise<WriteBackResult> {
  // The ticket id goes into an encoded query; the key into a one-line marker.
  if (!/^[0-9a-f]{32}$/.test(ticketId)) throw new NonRetriableError(`"${ticketId.slice(0, 40)}" is not a ServiceNow sys_id`);
  if (!/^[^\]\r\n]{1,200}$/.test(idempotencyKey)) throw new NonRetriableError('write-back idempotency key must be one line, without "]", at most 200 characters');
  const tag = marker(idempotencyKey);
  const existing = await findNote(client, ticketId, tag);
  if (existing !== null) return { written: false, recordId: existing };
  await client.patch(table, ticketId, { work_notes: text });
  const written = await findNote(client, ticketId, tag);
  return { written: true, recordId: written ?? ticketId };
}

async function findNote(client: ServiceNowClient, ticketId: string, tag: string): Promise<string | null> {
  const { records } = await client.list('sys_journal_field', {
    query: `element_id=${ticketId}^element=work_notes^ORDERBYDESCsys_created_on`,
    fields: ['sys_id', 'value'],
    pageSize: 200,
  });
  for (const r of records) {
    if (Field.parse(r['value']).value.includes(tag)) return Field.parse(r['sys_id']).value || ticketId;
  }
  return null;
}
