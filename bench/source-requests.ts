/**
 * Source requests per ticket, by stage, from the Jira stub's request log (every request it
 * answered, in arrival order). The stub cannot see why grantline asked, so each request is placed
 * by what it is and where it falls in its ticket's sequence:
 *
 * - `note`: a comment POST (issue comment or JSM request comment): a write-back.
 * - `marker check`: the read just before a note in the ticket's sequence (of the comment list, or
 *   a read of the issue that is not its first): the write-back looking for its own marker first.
 * - `issue`, `approvals`, `comments`, `changelog`: the first fetch of the ticket (`comments` only
 *   when the issue did not embed all of them; `changelog` pages beyond the embedded 100).
 * - `repeat fetch`: any later read of the ticket before its first note (a redelivery or a poll that
 *   raced the webhook), and every later read when the scenario changes the ticket itself.
 * - `echo`: with `echoAfterNote`, any read after the ticket's first note: in a scenario that sends
 *   one delivery per ticket and never changes it again, nothing but grantline's own note (seen by
 *   the poller through `updated`, or by a `comment_created` webhook) can cause it.
 * - `poll search`: JQL searches (the poller's); not about one ticket, counted over all of them.
 * - `other`: anything else (review tickets, links).
 */
import type { RecordedRequest } from '../dev/stubs/jira-stub.js';

export const STAGES = ['issue', 'approvals', 'comments', 'changelog', 'repeat fetch', 'marker check', 'note', 'echo', 'poll search', 'other'] as const;
export type Stage = (typeof STAGES)[number];

type Kind = 'issue' | 'approvals' | 'comments' | 'changelog' | 'note' | 'search' | 'other';

const ISSUE = /^\/rest\/api\/[23]\/issue\/([^/]+)$/;
const CHANGELOG = /^\/rest\/api\/[23]\/issue\/([^/]+)\/changelog$/;
const COMMENTS = /^\/rest\/api\/[23]\/issue\/([^/]+)\/comment$/;
const REQUEST = /^\/rest\/servicedeskapi\/request\/([^/]+)$/;
const APPROVALS = /^\/rest\/servicedeskapi\/request\/([^/]+)\/approval$/;
const REQUEST_COMMENTS = /^\/rest\/servicedeskapi\/request\/([^/]+)\/comment$/;
const SEARCH = /^\/rest\/api\/(3\/search\/jql|2\/search|3\/search)$/;

/** What a request is, and the issue id or key it is about (null: not about one issue). */
export function kindOf(req: Pick<RecordedRequest, 'method' | 'path'>): { kind: Kind; ref: string | null } {
  const { method, path } = req;
  let m: RegExpExecArray | null;
  if (SEARCH.test(path)) return { kind: 'search', ref: null };
  if (method === 'POST' && ((m = COMMENTS.exec(path)) || (m = REQUEST_COMMENTS.exec(path)))) return { kind: 'note', ref: decodeURIComponent(m[1] as string) };
  if (method !== 'GET') return { kind: 'other', ref: null };
  if ((m = ISSUE.exec(path)) || (m = REQUEST.exec(path))) return { kind: 'issue', ref: decodeURIComponent(m[1] as string) };
  if ((m = APPROVALS.exec(path))) return { kind: 'approvals', ref: decodeURIComponent(m[1] as string) };
  if ((m = COMMENTS.exec(path)) || (m = REQUEST_COMMENTS.exec(path))) return { kind: 'comments', ref: decodeURIComponent(m[1] as string) };
  if ((m = CHANGELOG.exec(path))) return { kind: 'changelog', ref: decodeURIComponent(m[1] as string) };
  return { kind: 'other', ref: null };
}

/** Stages of one ticket's requests, given in arrival order. */
export function classifyTicket(kinds: readonly Kind[], echoAfterNote: boolean): Stage[] {
  const stages: (Stage | undefined)[] = kinds.map((k) => (k === 'note' ? 'note' : undefined));
  // Each note's marker check: the read just before it, if that read is the comment list, or an
  // issue read that is not the ticket's first (a write-back reading the issue for its marker).
  kinds.forEach((k, j) => {
    if (k !== 'note' || j === 0) return;
    const i = j - 1;
    if (stages[i] !== undefined) return;
    if (kinds[i] === 'comments' || (kinds[i] === 'issue' && kinds.slice(0, i).includes('issue'))) stages[i] = 'marker check';
  });
  let issueReads = 0;
  let approvalReads = 0;
  let noted = false;
  kinds.forEach((k, i) => {
    if (stages[i] !== undefined) {
      if (stages[i] === 'note') noted = true;
      return;
    }
    if (k === 'search' || k === 'other') {
      stages[i] = k === 'search' ? 'poll search' : 'other';
      return;
    }
    if (noted && echoAfterNote) {
      stages[i] = 'echo';
      return;
    }
    const firstFetch = !noted && issueReads <= 1;
    switch (k) {
      case 'issue':
        issueReads += 1;
        stages[i] = issueReads === 1 && !noted ? 'issue' : 'repeat fetch';
        break;
      case 'approvals':
        approvalReads += 1;
        stages[i] = approvalReads === 1 && !noted ? 'approvals' : 'repeat fetch';
        break;
      case 'comments':
      case 'changelog':
        stages[i] = firstFetch ? k : 'repeat fetch';
        break;
      default:
        stages[i] = 'other';
    }
  });
  return stages as Stage[];
}

export interface StageCounts {
  /** Tickets the requests were divided by. */
  readonly tickets: number;
  /** Requests by stage, over all those tickets. */
  readonly counts: Record<Stage, number>;
  /** Per ticket, by stage (3 decimals). */
  readonly perTicket: Record<Stage, number>;
  readonly totalPerTicket: number;
  /** Requests about issues outside the set (an earlier phase's late write-backs, say): not counted. */
  readonly outsideSet: number;
  /** Reads of the issue itself (`GET issue`), whatever their stage: one per fetch. */
  readonly issueReads: number;
}

/**
 * Reads the stub's request log as it grows (`pump` empties the stub's list, so it stays small
 * however long the run) and keeps, per issue, only the kinds of its requests, in order.
 */
export class RequestTally {
  private perIssue = new Map<string, Kind[]>();
  private unscoped = { search: 0, other: 0 };
  private noted = new Set<string>();

  /**
   * `log` is the stub's live request list; `resolve` turns the id or key in a path into the stub's
   * issue id; `onNote` hears of every note as it is read.
   */
  constructor(
    private readonly log: Pick<RecordedRequest, 'method' | 'path'>[],
    private readonly resolve: (ref: string) => string | undefined,
    private readonly onNote?: (issueId: string) => void,
  ) {}

  /** Moves what the stub logged since the last call into the tally. */
  pump(): void {
    for (const req of this.log.splice(0)) {
      const { kind, ref } = kindOf(req);
      const id = ref === null ? undefined : this.resolve(ref);
      if (id === undefined) {
        this.unscoped[kind === 'search' ? 'search' : 'other'] += 1;
        continue;
      }
      let seq = this.perIssue.get(id);
      if (seq === undefined) this.perIssue.set(id, (seq = []));
      seq.push(kind);
      if (kind === 'note') {
        this.noted.add(id);
        this.onNote?.(id);
      }
    }
  }

  /** Whether the issue has had a note since the last `take`. */
  hasNote(issueId: string): boolean {
    return this.noted.has(issueId);
  }

  /**
   * Requests since the last `take`, by stage, for the tickets in `ticketIds` (stub issue ids),
   * and starts a new window.
   */
  take(ticketIds: ReadonlySet<string>, echoAfterNote: boolean): StageCounts {
    this.pump();
    const counts = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
    counts['poll search'] = this.unscoped.search;
    counts.other = this.unscoped.other;
    let outsideSet = 0;
    let issueReads = 0;
    for (const [id, seq] of this.perIssue) {
      if (!ticketIds.has(id)) {
        outsideSet += seq.length;
        continue;
      }
      for (const k of seq) if (k === 'issue') issueReads += 1;
      for (const stage of classifyTicket(seq, echoAfterNote)) counts[stage] += 1;
    }
    this.perIssue = new Map();
    this.unscoped = { search: 0, other: 0 };
    this.noted = new Set();
    const tickets = Math.max(1, ticketIds.size);
    const r3 = (v: number): number => Math.round(v * 1000) / 1000;
    const perTicket = Object.fromEntries(STAGES.map((s) => [s, r3(counts[s] / tickets)])) as Record<Stage, number>;
    const total = STAGES.reduce((a, s) => a + counts[s], 0);
    return { tickets: ticketIds.size, counts, perTicket, totalPerTicket: r3(total / tickets), outsideSet, issueReads };
  }
}
