import { grantIndexKey, nameIndexKey, ticketKey, type IndexedRecord, type TicketIndexRecord } from '../../model/index.js';
import { CE_TYPES, type IndexTag } from '../cloudevents.js';

/** A record of the transaction the index points at: its tag, and where it was written. */
export interface LocatedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly tag: IndexTag;
}

/** One message for `grantline.ticket-index.v1` (sealed by the producer like every internal message). */
export interface IndexMessage {
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/**
 * The index records of one transaction, from where its custody events and signed messages were
 * written: per ticket, one record with their locations (in the order they were sent); per grant
 * issued, its ticket; per name a delivery carried, its ticket. Pure.
 */
export function indexMessages(located: readonly LocatedRecord[], writtenAt: string): IndexMessage[] {
  const tickets = new Map<string, { connectorId: string; ticketId: string; ticketKey: string | null; records: IndexedRecord[]; names: Set<string>; grants: Set<string> }>();
  for (const { topic, partition, offset, tag } of located) {
    const key = ticketKey(tag.connectorId, tag.ticketId);
    const entry = tickets.get(key) ?? { connectorId: tag.connectorId, ticketId: tag.ticketId, ticketKey: null, records: [], names: new Set<string>(), grants: new Set<string>() };
    entry.records.push({ topic, partition, offset, type: tag.type, id: tag.id, grantId: tag.grantId });
    if (tag.ticketKey !== undefined) entry.ticketKey = tag.ticketKey;
    for (const name of tag.names ?? []) entry.names.add(name);
    if (tag.type === CE_TYPES.grantIssued && tag.grantId !== null) entry.grants.add(tag.grantId);
    tickets.set(key, entry);
  }
  const out: IndexMessage[] = [];
  const push = (key: string, record: TicketIndexRecord): void => {
    out.push({ key, value: JSON.stringify(record), headers: {} });
  };
  for (const [key, t] of tickets) {
    const ticket = { connectorId: t.connectorId, ticketId: t.ticketId };
    push(key, { kind: 'ticket', ...ticket, ticketKey: t.ticketKey ?? t.ticketId, writtenAt, records: t.records });
    for (const grantId of t.grants) push(grantIndexKey(grantId), { kind: 'grant', ...ticket, grantId });
    for (const name of t.names) push(nameIndexKey(name), { kind: 'name', ...ticket, name });
  }
  return out;
}
