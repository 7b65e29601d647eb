import { z } from 'zod';
import { NonRetriableError } from '../../src/connector/errors.js';
import type { PollPage } from '../../src/connector/contract.js';
import type { ServiceNowClient } from './client.js';
import type { ServiceNowConfig } from './config.js';
import { Field, snTimeToIso, toSnTime } from './records.js';

const SnTime = z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

/** Per table: the newest `sys_updated_on` returned, and the sys_ids already returned at exactly that time. */
const Cursor = z.object({ ts: SnTime, seenIds: z.array(z.string()) });
type Cursor = z.infer<typeof Cursor>;

/** The opaque watermark `poll()` hands out, as JSON. */
export const ServiceNowWatermark = z.object({
  v: z.literal(1),
  tables: z.record(z.string(), Cursor),
});
export type ServiceNowWatermark = z.infer<typeof ServiceNowWatermark>;

type PollTicket = PollPage['tickets'][number];

/**
 * Records of `sc_req_item` and `sysapproval_approver` (RITM approvals) changed since the watermark,
 * as RITM tickets, oldest first. Each table has its own cursor. The query is `>=` the cursor time
 * (times have one-second resolution) and the ids already returned at that second are skipped, so
 * nothing is repeated or skipped across calls.
 *
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
  const add = (t: PollTicket): void => {
    const prev = tickets.get(t.ticketId);
    if (prev === undefined || Date.parse(t.updatedAt) > Date.parse(prev.updatedAt)) tickets.set(t.ticketId, t);
  };
  const start: Cursor = { ts: toSnTime(since), seenIds: [] };
  const next: Record<string, Cursor> = { ...state.tables };

  for (const table of config.tables) {
    let cursor = state.tables[table] ?? start;
    const approvals = table === 'sysapproval_approver';
    const { records } = await client.list(table, {
      query: `sys_updated_on>=${cursor.ts}${approvals ? '^source_table=sc_req_item' : ''}^ORDERBYsys_updated_on^ORDERBYsys_id`,
      fields: approvals ? ['sys_id', 'sys_updated_on', 'sysapproval'] : ['sys_id', 'number', 'sys_updated_on'],
      pageSize: config.pageSize,
      maxPages: config.maxPages,
    });
    for (const r of records) {
      const id = Field.parse(r['sys_id']).value;
      const ts = Field.parse(r['sys_updated_on']).value;
      const updatedAt = snTimeToIso(ts);
      if (id === '' || updatedAt === null || ts < cursor.ts) continue;
      if (ts === cursor.ts && cursor.seenIds.includes(id)) continue;
      cursor = ts === cursor.ts ? { ts, seenIds: [...cursor.seenIds, id] } : { ts, seenIds: [id] };
      if (approvals) {
        const ritm = Field.parse(r['sysapproval']);
        if (ritm.value !== '') add({ ticketId: ritm.value, ticketKey: ritm.display || ritm.value, updatedAt });
      } else {
        const number = Field.parse(r['number']).value;
        add({ ticketId: id, ticketKey: number || id, updatedAt });
      }
    }
    next[table] = cursor;
  }
  const sorted = [...tickets.values()].sort((a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt) || (a.ticketId < b.ticketId ? -1 : 1));
  const wm: ServiceNowWatermark = { v: 1, tables: next };
  return { tickets: sorted, watermark: JSON.stringify(wm) };
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
