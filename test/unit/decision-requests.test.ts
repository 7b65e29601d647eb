import { describe, expect, it } from 'vitest';
import type { MapResult } from '../../src/connector/contract.js';
import { jsonSha256, verifyChain } from '../../src/custody/index.js';
import { CustodyEvent, DecisionRequestRecord } from '../../src/model/index.js';
import { requestFromMapped } from '../../src/policy/request.js';
import { approval, makeRequest, on, run, source } from '../fixtures/ticket-pipeline.js';

function outputsOf(map: MapResult) {
  const result = run(null, { current: { map, cancelled: false } });
  const custody = on(result.outputs, 'custody').map((c) => CustodyEvent.parse(c.data));
  const records = on(result.outputs, 'decision-requests');
  return { custody, records };
}

describe('the canonical request of every decision is kept', () => {
  it('a grant: its request on the decision-requests topic, keyed by ticket, bound by digest to the decision custody event', () => {
    const mapped = makeRequest({ approvals: [approval] });
    // What is kept is the canonical request the policy decided: the core's request id, the approval-looking comments.
    const request = requestFromMapped(mapped);
    const { custody, records } = outputsOf({ ok: true, request: mapped });
    expect(records).toHaveLength(1);
    const record = DecisionRequestRecord.parse(records[0]?.data);
    expect(records[0]?.key).toBe('fake-main|10001');
    expect(records[0]?.headers.ce_type).toBe('dev.grantline.decision.request.v1');
    expect(record.request).toEqual(request);
    expect(record).toMatchObject({ outcome: 'granted', decisionId: `gr_${request.requestId}`, reasons: [], ttlSeconds: 14400 });
    const decided = custody.find((c) => c.kind === 'decision.granted');
    expect(decided?.data.requestSha256).toBe(jsonSha256(request));
    expect(record.requestSha256).toBe(jsonSha256(request));
    expect(record.custody).toEqual({ eventId: decided?.eventId, seq: decided?.seq, hash: decided?.hash });
    expect(verifyChain(custody)).toEqual({ ok: true });
  });

  it('a rejection of a mapped request: its request and reason codes are kept', () => {
    const request = requestFromMapped(makeRequest());
    const { custody, records } = outputsOf({ ok: true, request: makeRequest() });
    const record = DecisionRequestRecord.parse(records[0]?.data);
    expect(record).toMatchObject({ outcome: 'rejected', reasons: ['INSUFFICIENT_APPROVALS'], ttlSeconds: null, request });
    expect(custody.find((c) => c.kind === 'decision.rejected')?.data.requestSha256).toBe(record.requestSha256);
  });

  it('a ticket that maps to no request has nothing to keep, and its custody event says no digest', () => {
    const { custody, records } = outputsOf({
      ok: false,
      failure: { source, requester: null, reasons: [{ code: 'FREE_TEXT_REQUEST', message: 'Choose one.' }], freeText: 'x', actionable: true },
    });
    expect(records).toEqual([]);
    expect(custody.find((c) => c.kind === 'decision.rejected')?.data).not.toHaveProperty('requestSha256');
  });
});
