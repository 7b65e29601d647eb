import type { BreakGlassHolding, CustodyEvent, DecisionRequestRecord, Grant, GrantAmendment, Rejection, Revocation, WritebackTask } from '../../model/index.js';
import { holdingMessage } from '../break-glass-ledger.js';
import { CE_TYPES, encodeCloudEvent, type IndexTag, type Output } from '../cloudevents.js';
import type { PipelineTopics } from '../ports.js';

const SCHEMA_BASE = 'https://grantline.dev/schemas';

/**
 * Turns what a ticket's processing decided into the messages of its transaction: custody events,
 * signed grants, revocations and rejections as CloudEvents, and write-back tasks. Knows topics,
 * keys and envelopes; decides nothing and holds no state but the list of outputs.
 */
export class TicketEmitter {
  readonly outputs: Output[] = [];

  constructor(
    private readonly ticket: { readonly connectorId: string; readonly ticketId: string; readonly key: string },
    private readonly topics: PipelineTopics,
    private readonly nowIso: string,
  ) {}

  private event(topic: string, key: string, type: string, id: string, subject: string, schema: string, data: unknown, index?: Omit<IndexTag, 'connectorId' | 'ticketId'>): void {
    this.outputs.push({
      topic,
      message: encodeCloudEvent(
        key,
        { id, source: `urn:grantline:${this.ticket.connectorId}`, type, time: this.nowIso, subject, dataschema: `${SCHEMA_BASE}/${schema}.json` },
        data,
      ),
      // The ticket index points at custody events and signed messages (src/pipeline/ticket-index).
      ...(index ? { index: { connectorId: this.ticket.connectorId, ticketId: this.ticket.ticketId, ...index } } : {}),
    });
  }

  /** A custody event on `access.custody.v1`, keyed by ticket. */
  custody(event: CustodyEvent): void {
    const key = this.ticket.key;
    const { ticketKey, ticketId } = event.ticket;
    // A delivery is where the ticket may be new or known by a new key: index its names then.
    const names = event.kind === 'delivery.received' ? { names: [...new Set([ticketKey, ticketId])] } : {};
    this.event(this.topics.custody, key, CE_TYPES.custody, event.eventId, key, 'custody-event.v1', event, { type: 'custody', id: event.eventId, grantId: event.grantId, ticketKey, ...names });
  }

  /** `grant.issued` on the grant's channel topic, keyed by grant id. */
  grantIssued(topic: string, grant: Grant): void {
    this.event(topic, grant.grantId, CE_TYPES.grantIssued, grant.grantId, grant.grantId, 'grant.v1', grant, { type: CE_TYPES.grantIssued, id: grant.grantId, grantId: grant.grantId });
  }

  /** `grant.revoked` on the grant's own topic and key, so it is ordered after the grant. */
  grantRevoked(topic: string, grantId: string, revocationId: string, revocation: Revocation | unknown): void {
    this.event(topic, grantId, CE_TYPES.grantRevoked, revocationId, grantId, 'revocation.v1', revocation, { type: CE_TYPES.grantRevoked, id: revocationId, grantId });
  }

  /** `grant.amended` on the grant's own topic and key, so it is ordered after the grant. */
  grantAmended(topic: string, amendment: GrantAmendment): void {
    const { amendmentId, grantId } = amendment;
    this.event(topic, grantId, CE_TYPES.grantAmended, amendmentId, grantId, 'grant-amendment.v1', amendment, { type: CE_TYPES.grantAmended, id: amendmentId, grantId });
  }

  /** A signed rejection on `access.requests.rejected.v1`, keyed by ticket. */
  rejected(rejection: Rejection, id: string, subject: string): void {
    this.event(this.topics.rejected, this.ticket.key, CE_TYPES.requestRejected, id, subject, 'rejection.v1', rejection, { type: CE_TYPES.requestRejected, id, grantId: null });
  }

  /** A break-glass holding (or its release) on `grantline.break-glass.v1`, keyed by grant id. */
  breakGlassHolding(holding: BreakGlassHolding): void {
    this.outputs.push(holdingMessage(this.topics.breakGlass, holding));
  }

  /** The canonical request of a decision on `grantline.decision-requests.v1`, keyed by ticket; its id is the decision's custody event's. */
  decisionRequest(record: DecisionRequestRecord): void {
    this.event(this.topics.decisionRequests, this.ticket.key, CE_TYPES.decisionRequest, record.custody.eventId, record.ticket.ticketKey, 'decision-request.v1', record);
  }

  /** A write-back task on `grantline.writeback.v1`, its id derived from its idempotency key. */
  writeback(task: WritebackTask): void {
    this.outputs.push({ topic: this.topics.writeback, message: { key: this.ticket.key, value: JSON.stringify(task), headers: {} } });
  }
}
