import type { MapResult } from '../../connector/contract.js';
import type { Decision } from '../../model/index.js';
import { rejectionFromFailure } from '../../policy/rejection.js';
import type { PolicyPort } from '../ports.js';

/** What the processor decides for a mapped ticket, and under which request id. */
export interface TicketDecision {
  readonly requestId: string;
  readonly decision: Decision;
}

/**
 * The processor's decision on a fetched and mapped ticket: the policy's answer for a request, or a
 * rejection with every mapping problem for a ticket that is not one. Pure: the processor records
 * and publishes what it returns, `grantline check` prints it. `digest` is the custody digest (ids
 * hash with it, so a redelivery decides with the same ids).
 */
export function decideMapped(
  policy: PolicyPort,
  mapped: MapResult,
  ticket: { readonly connectorId: string; readonly ticketId: string },
  now: Date,
  digest: (value: unknown) => string,
): TicketDecision {
  const shortHash = (value: unknown): string => digest(value).slice(0, 32);
  if (mapped.ok) return { requestId: mapped.request.requestId, decision: policy.decide(mapped.request, now) };
  const { failure } = mapped;
  const requestId = `rq_${shortHash([ticket.connectorId, ticket.ticketId, failure.reasons.map((r) => [r.code, r.field ?? null]), failure.freeText])}`;
  const versions = policy.versions();
  return { requestId, decision: rejectionFromFailure(failure, { requestId, rejectionId: `rj_${shortHash([requestId, versions])}` }, versions, now) };
}
