import { z } from 'zod';
import type { PollPage } from '../../src/connector/contract.js';
import { toIso } from './records.js';

/**
 * The stored poll position: the `updated` time and key of the last ticket returned. JQL compares
 * `updated` at minute precision, so the next query starts one minute before `updated` and skips every
 * `(updated, key)` at or before this pair: nothing repeats, nothing is skipped.
 */
export const JiraWatermark = z.object({ updated: z.iso.datetime({ offset: true }), lastKey: z.string() });
export type JiraWatermark = z.infer<typeof JiraWatermark>;

export function parseWatermark(watermark: string | null, since: Date): JiraWatermark {
  if (watermark === null) return { updated: since.toISOString(), lastKey: '' };
  let value: unknown;
  try {
    value = JSON.parse(watermark);
  } catch {
    value = null;
  }
  const parsed = JiraWatermark.safeParse(value);
  if (!parsed.success) throw new Error('stored Jira poll watermark is not {updated, lastKey}');
  return parsed.data;
}

/** `yyyy/MM/dd HH:mm` in the API user's time zone, as JQL reads dates. */
export function jqlDate(at: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}/${parts.month}/${parts.day} ${parts.hour}:${parts.minute}`;
}

/** `updated >= "<a minute before the watermark>"` over the watched projects, oldest first, key as tiebreak. */
export function pollJql(projects: readonly string[], from: JiraWatermark, timeZone: string, extra: string | undefined): string {
  const start = new Date(Date.parse(from.updated) - 60_000);
  const clauses = [`project in (${projects.map((p) => `"${p}"`).join(', ')})`, `updated >= "${jqlDate(start, timeZone)}"`];
  if (extra !== undefined && extra.trim() !== '') clauses.push(`(${extra})`);
  return `${clauses.join(' AND ')} ORDER BY updated ASC, key ASC`;
}

/** Orders issue keys as Jira's `ORDER BY key` does: project, then number. */
export function compareKeys(a: string, b: string): number {
  const [pa = '', na = '0'] = a.split('-');
  const [pb = '', nb = '0'] = b.split('-');
  return pa < pb ? -1 : pa > pb ? 1 : Number(na) - Number(nb);
}

/** Strictly after the watermark in (updated, key) order. */
export function isAfter(updatedIso: string, key: string, wm: JiraWatermark): boolean {
  const t = Date.parse(updatedIso);
  const w = Date.parse(wm.updated);
  return t > w || (t === w && (wm.lastKey === '' ? true : compareKeys(key, wm.lastKey) > 0));
}

export interface SearchFn {
  (jql: string, cursor: string | null, maxResults: number): Promise<{ issues: { id: string; key: string; updated: string }[]; next: string | null }>;
}

/**
 * One poll: search pages until `pageSize` new tickets are collected or the result ends. Returns them
 * oldest first with the watermark after the last one (unchanged when nothing is new).
 */
export async function pollJira(
  search: SearchFn,
  opts: { projects: readonly string[]; timeZone: string; jql: string | undefined; pageSize: number },
  watermark: string | null,
  since: Date,
): Promise<PollPage & { hasMore: boolean }> {
  const from = parseWatermark(watermark, since);
  const jql = pollJql(opts.projects, from, opts.timeZone, opts.jql);
  const tickets: { ticketId: string; ticketKey: string; updatedAt: string }[] = [];
  const rows: { id: string; key: string; updated: string }[] = [];
  let cursor: string | null = null;
  let hasMore = false;
  do {
    const page = await search(jql, cursor, opts.pageSize);
    rows.push(...page.issues);
    cursor = page.next;
  } while (cursor !== null && rows.filter((r) => isAfterRow(r, from)).length < opts.pageSize);
  const fresh = rows
    .map((r) => ({ ...r, updatedIso: toIso(r.updated) }))
    .filter((r): r is typeof r & { updatedIso: string } => r.updatedIso !== null && isAfter(r.updatedIso, r.key, from))
    // The server's order is authoritative for paging, but equal-minute rows are re-sorted to our exact order.
    .sort((a, b) => Date.parse(a.updatedIso) - Date.parse(b.updatedIso) || compareKeys(a.key, b.key));
  for (const r of fresh.slice(0, opts.pageSize)) tickets.push({ ticketId: r.id, ticketKey: r.key, updatedAt: r.updatedIso });
  hasMore = fresh.length > opts.pageSize || cursor !== null;
  const last = tickets.at(-1);
  const next: JiraWatermark = last === undefined ? from : { updated: last.updatedAt, lastKey: last.ticketKey };
  return { tickets, watermark: JSON.stringify(next), hasMore };
}

function isAfterRow(r: { key: string; updated: string }, from: JiraWatermark): boolean {
  const iso = toIso(r.updated);
  return iso !== null && isAfter(iso, r.key, from);
}
