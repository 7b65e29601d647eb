import type { WriteBack, WriteBackOptions, WriteBackResult } from '../../src/connector/contract.js';
import { NonRetriableError } from '../../src/connector/errors.js';
import { markerFor, plainNote, renderNote } from '../../src/connector/note.js';
import type { ServiceNowClient } from './client.js';
import { SYS_ID } from './config.js';
import { Field, snTimeToIso } from './records.js';

/** The core's note as a ServiceNow work note: plain text (work notes take no markup). */
export function renderWriteBack(item: WriteBack, idempotencyKey: string): string {
  return plainNote(renderNote(item, idempotencyKey));
}

/**
 * Adds a work note to the RITM (or to a review record of `table`) once per idempotency key: reads
 * the record's work-note journal first and writes nothing when the marker is already there (that
 * read is skipped when the caller knows no such note can exist).
 */
export async function writeWorkNote(
  client: ServiceNowClient,
  ticketId: string,
  text: string,
  idempotencyKey: string,
  table: 'sc_req_item' | 'sc_task' | 'incident' = 'sc_req_item',
  options: WriteBackOptions = {},
): Promise<WriteBackResult> {
  // The ticket id goes into an encoded query; the key into a one-line marker.
  if (!SYS_ID.test(ticketId)) throw new NonRetriableError(`"${ticketId.slice(0, 40)}" is not a ServiceNow sys_id`);
  if (!/^[^\]\r\n]{1,200}$/.test(idempotencyKey)) throw new NonRetriableError('write-back idempotency key must be one line, without "]", at most 200 characters');
  const tag = markerFor(idempotencyKey);
  const existing = options.knownAbsent === true ? null : await findNote(client, ticketId, tag);
  if (existing !== null) return { written: false, recordId: existing };
  const updated = await client.patch(table, ticketId, { work_notes: text });
  const written = await findNote(client, ticketId, tag);
  // The record's new sys_updated_on, in the form the poll reports it (only RITMs are polled).
  const ticketUpdatedAt = table === 'sc_req_item' ? snTimeToIso(Field.parse(updated['sys_updated_on'] ?? '').value) : null;
  return { written: true, recordId: written ?? ticketId, ...(ticketUpdatedAt === null ? {} : { ticketUpdatedAt }) };
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
