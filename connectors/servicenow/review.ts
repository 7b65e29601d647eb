import type { ReviewState, ReviewTicket } from '../../src/connector/contract.js';
import { NonRetriableError } from '../../src/connector/errors.js';
import type { GrantDecision } from '../../src/model/index.js';
import type { ServiceNowClient } from './client.js';
import type { ServiceNowConfig } from './config.js';
import { recordUrl } from './map.js';
import { Field, ReviewRecord, snTimeToIso } from './records.js';

/** States after which a review record is closed, per review table. */
const CLOSED_STATES: Record<ServiceNowConfig['reviews']['table'], readonly string[]> = {
  // sc_task: 3 closed complete, 4 closed incomplete, 7 closed skipped
  sc_task: ['3', '4', '7'],
  // incident: 6 resolved, 7 closed, 8 canceled
  incident: ['6', '7', '8'],
};

const SYS_ID = /^[0-9a-f]{32}$/;
const correlation = (grantId: string): string => `grantline:${grantId}`.slice(0, 100);

/**
 * Opens (or finds, when a previous attempt already opened it) the post-event review record of a
 * break-glass grant, linked to the RITM and correlated by grant id.
 */
export async function openReviewRecord(
  client: ServiceNowClient,
  instanceUrl: string,
  reviews: ServiceNowConfig['reviews'],
  ticketId: string,
  grant: GrantDecision,
): Promise<ReviewTicket> {
  const table = reviews.table;
  if (!SYS_ID.test(ticketId)) throw new NonRetriableError(`"${ticketId.slice(0, 40)}" is not a ServiceNow sys_id`);
  // The grant id goes into an encoded query.
  if (!/^[\w.:-]{1,80}$/.test(grant.grantId)) throw new NonRetriableError('grant id has characters outside [A-Za-z0-9_.:-]');
  const { records } = await client.list(table, {
    query: `correlation_id=${correlation(grant.grantId)}`,
    fields: ['sys_id', 'number'],
    pageSize: 1,
    maxPages: 1,
  });
  const found = records[0];
  const record =
    found ??
    (await client.create(table, {
      short_description: `Break-glass review: ${grant.entitlementId} for ${grant.subject.id} (${grant.source.ticketKey})`,
      description: [
        `grantline issued break-glass grant ${grant.grantId} without prior approval.`,
        `Entitlement: ${grant.entitlementId} on ${grant.resource} (${grant.environment})`,
        `Subject: ${grant.subject.type} ${grant.subject.id}`,
        `Valid ${grant.validFrom} until ${grant.expiresAt}`,
        `Justification: ${grant.justification.text}`,
        `Review due by ${grant.breakGlass.reviewDueAt ?? 'the catalog deadline'}. Close this record as complete when the use was justified.`,
      ].join('\n'),
      correlation_id: correlation(grant.grantId),
      parent: ticketId,
      ...(table === 'sc_task' ? { request_item: ticketId } : {}),
      ...(reviews.assignmentGroup === undefined ? {} : { assignment_group: reviews.assignmentGroup }),
    }));
  const sysId = Field.parse(record['sys_id']).value;
  if (sysId === '') throw new NonRetriableError(`ServiceNow ${table} record was created without a sys_id`);
  const number = Field.parse(record['number']).value || sysId;
  return { ticketId: sysId, ticketKey: number, url: recordUrl(instanceUrl, table, sysId) };
}

/** Reads a review record's state: closed when inactive or in a closed state. */
export async function readReviewState(
  client: ServiceNowClient,
  reviews: ServiceNowConfig['reviews'],
  review: ReviewTicket,
): Promise<ReviewState> {
  if (!SYS_ID.test(review.ticketId)) throw new NonRetriableError(`"${review.ticketId.slice(0, 40)}" is not a ServiceNow sys_id`);
  const raw = await client.getRecord(reviews.table, review.ticketId, ['sys_id', 'number', 'state', 'active', 'close_code', 'closed_at', 'correlation_id']);
  if (raw === null) throw new NonRetriableError(`ServiceNow review ${review.ticketKey} no longer exists`);
  const r = ReviewRecord.parse(raw);
  const closed = r.active.value === 'false' || CLOSED_STATES[reviews.table].includes(r.state.value);
  if (!closed) return { closed: false, outcome: null, closedAt: null };
  const outcome = (r.close_code.display || r.close_code.value || r.state.display || r.state.value).toLowerCase();
  return { closed: true, outcome, closedAt: snTimeToIso(r.closed_at.value) };
}
