import { describe, expect, it } from 'vitest';
import { classifyTicket, kindOf, RequestTally } from '../../bench/source-requests.js';

const issue = (id: string) => ({ method: 'GET', path: `/rest/api/3/issue/${id}` });
const approvals = (id: string) => ({ method: 'GET', path: `/rest/servicedeskapi/request/${id}/approval` });
const comments = (id: string) => ({ method: 'GET', path: `/rest/api/3/issue/${id}/comment` });
const note = (id: string) => ({ method: 'POST', path: `/rest/servicedeskapi/request/${id}/comment` });
const search = { method: 'GET', path: '/rest/api/3/search/jql' };

describe('bench: source requests by stage', () => {
  it('reads what a request is from its method and path', () => {
    expect(kindOf(issue('20001'))).toEqual({ kind: 'issue', ref: '20001' });
    expect(kindOf(approvals('20001'))).toEqual({ kind: 'approvals', ref: '20001' });
    expect(kindOf(comments('ACC-7'))).toEqual({ kind: 'comments', ref: 'ACC-7' });
    expect(kindOf({ method: 'POST', path: '/rest/api/3/issue/20001/comment' })).toEqual({ kind: 'note', ref: '20001' });
    expect(kindOf(note('20001'))).toEqual({ kind: 'note', ref: '20001' });
    expect(kindOf(search)).toEqual({ kind: 'search', ref: null });
    expect(kindOf({ method: 'POST', path: '/rest/api/3/issueLink' })).toEqual({ kind: 'other', ref: null });
  });

  it("places today's decision: fetch, marker check, note, then the poller's and the webhook's echoes", () => {
    expect(classifyTicket(['issue', 'approvals', 'comments', 'note', 'issue', 'approvals', 'issue', 'approvals'], true)).toEqual([
      'issue',
      'approvals',
      'marker check',
      'note',
      'echo',
      'echo',
      'echo',
      'echo',
    ]);
  });

  it('tells the comments of a fetch from a marker check, and a poll that raced the webhook from an echo', () => {
    expect(classifyTicket(['issue', 'comments', 'approvals', 'issue', 'approvals', 'note'], true)).toEqual(['issue', 'comments', 'approvals', 'repeat fetch', 'repeat fetch', 'note']);
  });

  it('a write-back that reads the issue for its marker is a marker check, a fetch that reads it first is not', () => {
    expect(classifyTicket(['issue', 'approvals', 'issue', 'note'], true)).toEqual(['issue', 'approvals', 'marker check', 'note']);
    expect(classifyTicket(['approvals', 'issue', 'note'], true)).toEqual(['approvals', 'issue', 'note']);
  });

  it('without echoAfterNote, reads after a note are repeat fetches (the scenario changed the ticket itself)', () => {
    expect(classifyTicket(['issue', 'approvals', 'note', 'issue', 'approvals', 'comments', 'note'], false)).toEqual([
      'issue',
      'approvals',
      'note',
      'repeat fetch',
      'repeat fetch',
      'marker check',
      'note',
    ]);
  });

  it('tallies a growing log per ticket, counts searches over all tickets and leaves out tickets of other phases', () => {
    const log: { method: string; path: string }[] = [];
    const noted: string[] = [];
    const tally = new RequestTally(log, (ref) => (ref.startsWith('ACC-') ? `2000${ref.slice(4)}` : ref), (id) => noted.push(id));
    log.push(issue('20001'), approvals('20001'), search, issue('20002'));
    tally.pump();
    expect(log).toHaveLength(0);
    log.push(approvals('20002'), comments('ACC-1'), note('20001'), issue('20009'), note('20002'), issue('20001'), approvals('20001'));
    expect(tally.hasNote('20001')).toBe(false);
    tally.pump();
    expect(noted).toEqual(['20001', '20002']);
    expect(tally.hasNote('20001')).toBe(true);
    const counts = tally.take(new Set(['20001', '20002']), true);
    expect(counts.counts).toMatchObject({ issue: 2, approvals: 2, 'marker check': 1, note: 2, echo: 2, 'poll search': 1 });
    expect(counts.outsideSet).toBe(1);
    expect(counts.issueReads).toBe(3);
    expect(counts.totalPerTicket).toBe(5);
    expect(counts.perTicket.echo).toBe(1);
    // A new window starts empty.
    expect(tally.take(new Set(['20001']), true).totalPerTicket).toBe(0);
    expect(tally.hasNote('20001')).toBe(false);
  });
});
