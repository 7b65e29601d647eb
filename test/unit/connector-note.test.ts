import { describe, expect, it } from 'vitest';
import { HOW_TO_FIX, markerFor, plainNote, renderNote } from '../../src/connector/note.js';
import { ReasonCode, type RejectionDecision } from '../../src/model/index.js';

const rejection = (codes: ReasonCode[]): RejectionDecision => ({
  outcome: 'rejected',
  rejectionId: 'rj_1',
  requestId: 'rq_1',
  source: { system: 'jira', connectorId: 'jira-main', instanceUrl: 'https://x.example', ticketId: '1', ticketKey: 'ACC-1', url: 'https://x.example/browse/ACC-1' },
  requester: null,
  subject: null,
  entitlementId: null,
  reasons: codes.map((code) => ({ code, message: `because ${code}.` })),
  freeText: '',
  policy: { version: 'p1', catalogVersion: 'c1', directoryVersion: 'd1' },
  decidedAt: '2026-11-20T10:00:00Z',
});

describe('the write-back note', () => {
  it('has a hint for every reason code, and shows each reason with its hint', () => {
    const codes = ReasonCode.options;
    for (const code of codes) expect(HOW_TO_FIX[code].length).toBeGreaterThan(10);
    const text = plainNote(renderNote({ kind: 'decision', decision: rejection([...codes]) }, 'rj_1:abc'));
    for (const code of codes) expect(text).toContain(`- ${code}: because ${code}. How to fix: ${HOW_TO_FIX[code]}`);
  });

  it('starts with one marker line for its key, made one line without "]"', () => {
    expect(markerFor('a]b\nc')).toBe('[grantline:a_b_c]');
    const text = plainNote(renderNote({ kind: 'note', text: 'hello\nworld' }, 'note:1'));
    expect(text).toBe('[grantline:note:1]\nhello\nworld');
  });
});
