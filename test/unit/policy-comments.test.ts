import { describe, expect, it } from 'vitest';
import { approvalLikeComments, looksLikeApproval } from '../../src/policy/comments.js';
import { markerFor } from '../../src/connector/note.js';

describe('looksLikeApproval: one rule for every source', () => {
  it.each(['Approved', 'approve', 'Approving this now', 'LGTM', '+1 from me', '+1', 'ok to grant', 'Okay to  proceed', 'go ahead', 'Looks good to me', 'granted', 'signed off', 'I sign off on this'])(
    '"%s" reads like an approval',
    (text) => expect(looksLikeApproval(text)).toBe(true),
  );

  it.each(['Which database exactly?', 'disapproved', 'approvedness', '+10 ms latency', 'a+1', 'the signoff form', ''])('"%s" does not', (text) =>
    expect(looksLikeApproval(text)).toBe(false),
  );

  it("grantline's own notes never read like approvals, whatever they say", () => {
    expect(looksLikeApproval(`${markerFor('gr_1')}\nAccess granted: approved by policy`)).toBe(false);
  });

  it('keeps the author, id and time of the approval-looking comments and drops their text', () => {
    const author = { kind: 'email' as const, value: 'bob@example.com' };
    expect(
      approvalLikeComments([
        { authorSource: author, commentId: '1', at: '2025-03-01T10:00:00Z', text: 'LGTM' },
        { authorSource: author, commentId: '2', at: '2025-03-01T10:01:00Z', text: 'which db?' },
      ]),
    ).toEqual([{ authorSource: author, commentId: '1', at: '2025-03-01T10:00:00Z' }]);
  });
});
