import { defineConnector } from '../../src/connector/contract.js';
import type { Connector, ConnectorDeps, PollPage, TicketSnapshot, WriteBackResult } from '../../src/connector/contract.js';
import { NonRetriableError } from '../../src/connector/errors.js';
import { markerFor, plainNote, renderNote } from '../../src/connector/note.js';
import { JsonWebhookConfig } from './config.js';
import { identifyJsonDelivery, verifyJsonDelivery } from './delivery.js';
import { mapJsonTicket } from './map.js';
import { SourceChanges, SourceClient, SourceNoteCreated, SourceNotes, SourceTicket } from './source.js';

export { JsonWebhookConfig } from './config.js';
export type { JsonWebhookConfigInput } from './config.js';
export { signJsonWebhook } from './delivery.js';

/** The poll position: the last ticket returned, by (`updatedAt`, `id`), the order the source sorts by. */
type Watermark = { updatedAt: string; id: string };

function readWatermark(watermark: string | null, since: Date): Watermark {
  if (watermark === null) return { updatedAt: since.toISOString(), id: '' };
  const parsed = JSON.parse(watermark) as Partial<Watermark>;
  if (typeof parsed.updatedAt !== 'string' || typeof parsed.id !== 'string') throw new NonRetriableError('json-webhook: unreadable poll watermark');
  return { updatedAt: parsed.updatedAt, id: parsed.id };
}

/** Builds one instance. Every call goes to `baseUrl` + a configured path. */
export function createJsonWebhookConnector(config: JsonWebhookConfig, deps: ConnectorDeps): Connector {
  const client = new SourceClient(config);
  const ticketUrl = (ticketId: string): string => client.url(config.paths.ticket, ticketId).href;
  const fetchRaw = (ticketId: string) => client.json(SourceTicket, `ticket ${ticketId}`, client.url(config.paths.ticket, ticketId));

  return {
    id: deps.connectorId,
    type: 'json-webhook',
    instanceUrl: config.baseUrl,
    verify: (delivery) => verifyJsonDelivery(config.webhook, delivery),
    identify: (delivery) => identifyJsonDelivery(delivery),

    async fetchTicket(ticketId: string): Promise<TicketSnapshot> {
      const raw = await fetchRaw(ticketId);
      // Normalised as `poll` normalises the change feed's `updatedAt`.
      return { ticketId: raw.id, ticketKey: raw.key ?? raw.id, fetchedAt: new Date().toISOString(), updatedAt: new Date(raw.updatedAt).toISOString(), raw };
    },

    map: (snapshot) => mapJsonTicket(snapshot, { connectorId: deps.connectorId, config, directory: deps.directory, ticketUrl }),

    // Every call goes to a configured path under baseUrl with the id URL-encoded into it: that is the scope.
    scope: (ticket, kind = 'ticket') =>
      kind === 'review'
        ? { ok: false, detail: 'a json-webhook source has no review tickets' }
        : ticket.ticketId.length > 0 && ticket.ticketId.length <= 200
          ? { ok: true }
          : { ok: false, detail: 'a ticket id must be 1 to 200 characters' },

    async writeBack({ ticketId }, item, idempotencyKey, options): Promise<WriteBackResult> {
      const url = client.url(config.paths.notes, ticketId);
      const text = plainNote(renderNote(item, idempotencyKey));
      const marker = markerFor(idempotencyKey);
      if (options?.knownAbsent !== true) {
        const existing = (await client.json(SourceNotes, `notes of ${ticketId}`, url)).find((n) => n.body.includes(marker));
        if (existing !== undefined) return { written: false, recordId: existing.id };
      }
      const created = await client.json(SourceNoteCreated, `new note on ${ticketId}`, url, { method: 'POST', body: { body: text } });
      return { written: true, recordId: created.id };
    },

    openReview: () => Promise.reject(new NonRetriableError(`connector ${deps.connectorId}: a json-webhook source has no review tickets; do not allow break-glass for its entitlements`)),
    reviewState: () => Promise.reject(new NonRetriableError(`connector ${deps.connectorId}: a json-webhook source has no review tickets`)),
    noteReview: () => Promise.reject(new NonRetriableError(`connector ${deps.connectorId}: a json-webhook source has no review tickets`)),

    async poll(watermark, since): Promise<PollPage> {
      const from = readWatermark(watermark, since);
      const page = await client.json(
        SourceChanges,
        'changed tickets',
        client.url(config.paths.changes, null, { updatedAfter: from.updatedAt, afterId: from.id, limit: String(config.poll.pageSize) }),
      );
      const tickets = page.tickets.map((t) => ({ ticketId: t.id, ticketKey: t.key ?? t.id, updatedAt: new Date(t.updatedAt).toISOString() }));
      const last = tickets.at(-1);
      return {
        tickets,
        watermark: JSON.stringify(last === undefined ? from : { updatedAt: last.updatedAt, id: last.ticketId }),
        hasMore: page.hasMore ?? tickets.length >= config.poll.pageSize,
      };
    },

    isCancelled: (snapshot) => config.statuses.cancelled.includes(SourceTicket.parse(snapshot.raw).status),
  };
}

export const jsonWebhookConnector = defineConnector({
  type: 'json-webhook',
  configSchema: JsonWebhookConfig,
  // People are matched by e-mail (the core's kind); its approval records are structured approvals.
  kinds: { identities: [], evidence: [{ kind: 'source-approval', structured: true }] },
  create: (config, deps) => createJsonWebhookConnector(config, deps),
});
