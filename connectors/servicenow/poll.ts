import { z } from 'zod';
import { NonRetriableError } from '../../src/connector/errors.js';
import type { PollPage } from '../../src/connector/contract.js';
import type { ServiceNowClient } from './client.js';
import type { ServiceNowConfig } from './config.js';
import { Field, snTimeToIso, toSnTime } from './records.js';

const SnTime = z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

/**
 * Per table: the newest `sys_updated_on` returned (`ts`), and `seen`: the sys_ids returned with
 * their `sys_updated_on`, for every record within the overlap window before `ts`.
 */
const Cursor = z.object({ ts: SnTime, seen: z.record(z.string(), SnTime) });
type Cursor = z.infer<typeof Cursor>;

/** The opaque watermark `poll()` hands out, as JSON. */
export const ServiceNowWatermark = z.object({
  v: z.literal(1),
  tables: z.record(z.string(), Cursor),
});
export type ServiceNowWatermark = z.infer<typeof ServiceNowWatermark>;

type PollTicket = PollPage['tickets'][number];
type Row = Record<string, unknown>;

/**
 * Records of `sc_req_item` and `sysapproval_approver` (RITM approvals) changed since the watermark,
 * as RITM tickets, oldest first. Each table has its own cursor and is read in two parts:
 *
 * 1. the overlap window `[ts - overlapSeconds, ts]`, every page, skipping records already returned
 *    with the same `sys_updated_on`. Times have one-second resolution and a record can become
 *    visible after a later one (commit lag), so this catches what shares or just precedes `ts`.
 * 2. everything after `ts`, oldest first, following `Link rel="next"` for up to `maxPages` pages.
 *
 * Nothing is skipped or repeated across calls, also when one second holds more than a page.
 * Encoded-query dates are read in the integration user's time zone: that user must be set to GMT.
 */
export async function pollChanges(
  client: ServiceNowClient,
  config: ServiceNowConfig['poll'],
  watermark: string | null,
  since: Date,
): Promise<PollPage> {
  const state = parseWatermark(watermark);
  const tickets = new Map<string, PollTicket>();
  const next: Record<string, Cursor> = { ...state.tables };
  let hasMore = false;

  for (const table of config.tables) {
    const approvals = table === 'sysapproval_approver';
    const fields = approvals ? ['sys_id', 'sys_updated_on', 'sysapproval'] : ['sys_id', 'number', 'sys_updated_on'];
    const scope = approvals ? '^source_table=sc_req_item' : '';
    const order = '^ORDERBYsys_updated_on^ORDERBYsys_id';
    const previous = state.tables[table];
    let ts = previous?.ts ?? toSnTime(since);
    const seen: Record<string, string> = { ...previous?.seen };

    const take = (rows: readonly Row[]): void => {
      for (const r of rows) {
        const id = Field.parse(r['sys_id']).value;
        const at = Field.parse(r['sys_updated_on']).value;
        const updatedAt = snTimeToIso(at);
        if (id === '' || updatedAt === null || seen[id] === at) continue;
        seen[id] = at;
        if (at > ts) ts = at;
        const ticket = approvals ? approvalTicket(r, updatedAt) : ritmTicket(r, id, updatedAt);
        if (ticket === null) continue;
        const prev = tickets.get(ticket.ticketId);
        if (prev === undefined || Date.parse(ticket.updatedAt) > Date.parse(prev.updatedAt)) tickets.set(ticket.ticketId, ticket);
      }
    };

    if (previous !== undefined) {
      const from = toSnTime(new Date(Date.parse(`${previous.ts.replace(' ', 'T')}Z`) - config.overlapSeconds * 1000));
      const window = await client.list(table, {
        query: `sys_updated_on>=${from}^sys_updated_on<=${previous.ts}${scope}${order}`,
        fields,
        pageSize: config.pageSize,
      });
      take(window.records);
    }
    const later = await client.list(table, {
      query: `sys_updated_on${previous === undefined ? '>=' : '>'}${previous?.ts ?? ts}${scope}${order}`,
      fields,
      pageSize: config.pageSize,
      maxPages: config.maxPages,
    });
    take(later.records);
    hasMore ||= later.truncated;

    const keepFrom = toSnTime(new Date(Date.parse(`${ts.replace(' ', 'T')}Z`) - config.overlapSeconds * 1000));
    next[table] = { ts, seen: Object.fromEntries(Object.entries(seen).filter(([, at]) => at >= keepFrom)) };
  }
  const sorted = [...tickets.values()].sort(
    (a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt) || (a.ticketId < b.ticketId ? -1 : a.ticketId > b.ticketId ? 1 : 0),
  );
  const wm: ServiceNowWatermark = { v: 1, tables: next };
  return { tickets: sorted, watermark: JSON.stringify(wm), hasMore };
}

function ritmTicket(r: Row, id: string, updatedAt: string): PollTicket {
  const number = Field.parse(r['number']).value;
  return { ticketId: id, ticketKey: number || id, updatedAt };
}

/** An approval change is a change of the RITM it approves, shown under the RITM's number. */
function approvalTicket(r: Row, updatedAt: string): PollTicket | null {
  const ritm = Field.parse(r['sysapproval']);
  if (!/^[0-9a-f]{32}$/.test(ritm.value)) return null;
  return { ticketId: ritm.value, ticketKey: ritm.display || ritm.value, updatedAt };
}

function parseWatermark(watermark: string | null): ServiceNowWatermark {
  if (watermark === null) return { v: 1, tables: {} };
  let json: unknown;
  try {
    json = JSON.parse(watermark);
  } catch {
    throw new NonRetriableError('stored ServiceNow poll watermark is not JSON');
  }
  const parsed = ServiceNowWatermark.safeParse(json);
  if (!parsed.success) throw new NonRetriableError('stored ServiceNow poll watermark is not a ServiceNow watermark');
  return parsed.data;
}
