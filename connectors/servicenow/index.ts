import { defineConnector, type Connector, type ConnectorDeps, type TicketSnapshot } from '../../src/connector/contract.js';
import { ServiceNowClient } from './client.js';
import { ServiceNowConfig, SYS_ID } from './config.js';
import { fetchRequestedItem } from './fetch.js';
import { identifyDelivery } from './identify.js';
import { mapRequestedItem } from './map.js';
import { pollChanges } from './poll.js';
import { ServiceNowRaw } from './records.js';
import { openReviewRecord, readReviewState } from './review.js';
import { verifyDelivery } from './verify.js';
import { renderWriteBack, writeWorkNote } from './writeback.js';

export { ServiceNowConfig, type ServiceNowConfigInput } from './config.js';
export { computeSignature, signedPayload } from './verify.js';

/** Builds one ServiceNow connector instance from parsed config. */
export function createServiceNowConnector(config: ServiceNowConfig, deps: ConnectorDeps): Connector {
  const client = new ServiceNowClient(config);
  const instanceUrl = config.instanceUrl;
  const auditRequestFields = config.mapping.auditRequestFields;
  const isCancelled = (snapshot: TicketSnapshot): boolean => {
    const parsed = ServiceNowRaw.safeParse(snapshot.raw);
    return parsed.success && config.statuses.cancelled.includes(parsed.data.ritm.state.value);
  };
  return {
    id: deps.connectorId,
    type: 'servicenow',
    instanceUrl,
    verify: (delivery) => verifyDelivery(config.webhook, delivery),
    identify: (delivery) => identifyDelivery(delivery),
    fetchTicket: (ticketId) => fetchRequestedItem(client, ticketId, { auditRequestFields }),
    map: (snapshot) =>
      mapRequestedItem(snapshot, {
        connectorId: deps.connectorId,
        instanceUrl,
        mapping: config.mapping,
        statuses: config.statuses,
        directory: deps.directory,
      }),
    // Work notes only ever go, by sys_id, to the RITM table (sc_req_item) or the configured review table: those tables are the scope.
    scope: (ticket, kind = 'ticket') =>
      SYS_ID.test(ticket.ticketId) ? { ok: true } : { ok: false, detail: `"${ticket.ticketId.slice(0, 40)}" is not a sys_id of the ${kind === 'review' ? config.reviews.table : 'sc_req_item'} table` },
    writeBack: (ticket, item, idempotencyKey, options) => writeWorkNote(client, ticket.ticketId, renderWriteBack(item, idempotencyKey), idempotencyKey, 'sc_req_item', options),
    openReview: (ticket, grant) => openReviewRecord(client, instanceUrl, config.reviews, ticket.ticketId, grant),
    reviewState: (review) => readReviewState(client, config.reviews, review),
    noteReview: (review, text, idempotencyKey) =>
      writeWorkNote(client, review.ticketId, renderWriteBack({ kind: 'note', text }, idempotencyKey), idempotencyKey, config.reviews.table),
    poll: (watermark, since) => pollChanges(client, config.poll, watermark, since),
    isCancelled,
  };
}

/** The ServiceNow connector type: catalog requests (RITMs), native approvals, signed outbound calls. */
export const serviceNowConnector = defineConnector({
  type: 'servicenow',
  configSchema: ServiceNowConfig,
  kinds: {
    identities: [{ kind: 'servicenow-sys-id', directoryField: 'servicenowSysId' }],
    evidence: [{ kind: 'sysapproval_approver', structured: true }],
  },
  create: (config, deps) => createServiceNowConnector(config, deps),
});
