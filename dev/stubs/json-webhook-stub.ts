/**
 * A stub of a generic JSON ticket source for the `json-webhook` connector: tickets as JSON at
 * `/tickets/{id}`, their notes at `/tickets/{id}/notes` (GET lists, POST adds), and
 * `/tickets?updatedAfter=&afterId=&limit=` listing changed tickets oldest first by (`updatedAt`, `id`).
 * Every request is recorded; a bearer token is required when one is given.
 */
import { signJsonWebhook } from '../../connectors/json-webhook/index.js';
import { startJsonStub, type RecordedRequest, type StartedStub } from './common.js';

export interface JsonTicket {
  id: string;
  key?: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  requester: { email: string } | null;
  filer?: { email: string } | null;
  request: {
    entitlement: string | null;
    subject?: { type: string; id: string } | null;
    resource?: string | null;
    environment?: string | null;
    ttlSeconds?: number | null;
    justification?: string;
    breakGlass?: boolean;
  } | null;
  text?: string;
  approvals?: { id: string; approver: { email: string }; decision: 'approved' | 'rejected'; decidedAt: string }[];
  comments?: { id: string; author: { email: string }; body: string; createdAt: string }[];
  changes?: { field: string; at: string }[];
}

export interface JsonWebhookStub extends StartedStub {
  readonly tickets: Map<string, JsonTicket>;
  readonly notes: Map<string, { id: string; body: string }[]>;
  /** Adds or replaces a ticket. */
  put(ticket: JsonTicket): void;
}

const TICKET = /^\/tickets\/([^/]+)$/;
const NOTES = /^\/tickets\/([^/]+)\/notes$/;

export async function startJsonWebhookStub(options: { port?: number; token?: string } = {}): Promise<JsonWebhookStub> {
  const tickets = new Map<string, JsonTicket>();
  const notes = new Map<string, { id: string; body: string }[]>();
  let noteSeq = 0;

  const handler = (req: RecordedRequest) => {
    if (options.token !== undefined && req.authorization !== `Bearer ${options.token}`) return { status: 401, body: { error: 'unauthorized' } };
    const ticketMatch = TICKET.exec(req.path);
    if (req.method === 'GET' && ticketMatch) {
      const ticket = tickets.get(decodeURIComponent(ticketMatch[1]!));
      return ticket ? { status: 200, body: ticket } : { status: 404, body: { error: 'no such ticket' } };
    }
    const notesMatch = NOTES.exec(req.path);
    if (notesMatch) {
      const id = decodeURIComponent(notesMatch[1]!);
      if (!tickets.has(id)) return { status: 404, body: { error: 'no such ticket' } };
      const list = notes.get(id) ?? [];
      if (req.method === 'GET') return { status: 200, body: list };
      if (req.method === 'POST') {
        const body = (req.body as { body?: unknown } | undefined)?.body;
        if (typeof body !== 'string') return { status: 400, body: { error: 'body must be a string' } };
        noteSeq += 1;
        const note = { id: `note-${noteSeq}`, body };
        notes.set(id, [...list, note]);
        return { status: 201, body: note };
      }
    }
    if (req.method === 'GET' && req.path === '/tickets') {
      const after = req.query.get('updatedAfter') ?? '';
      const afterMs = after === '' ? -Infinity : Date.parse(after);
      const afterId = req.query.get('afterId') ?? '';
      const limit = Number(req.query.get('limit') ?? '100');
      const changed = [...tickets.values()]
        .map((t) => ({ id: t.id, key: t.key ?? t.id, updatedAt: t.updatedAt, ms: Date.parse(t.updatedAt) }))
        .filter((t) => t.ms > afterMs || (t.ms === afterMs && t.id > afterId))
        .sort((a, b) => a.ms - b.ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return { status: 200, body: { tickets: changed.slice(0, limit).map(({ id, key, updatedAt }) => ({ id, key, updatedAt })), hasMore: changed.length > limit } };
    }
    return undefined;
  };

  const stub = await startJsonStub(handler, options.port ?? 0);
  return { ...stub, tickets, notes, put: (ticket) => void tickets.set(ticket.id, ticket) };
}

/** A delivery as a source posts it: the JSON body and its signature header. */
export function jsonWebhookDelivery(ticket: { id: string }, secret: string, opts: { at?: Date; eventId?: string; header?: string; self?: string } = {}): { body: Buffer; headers: Record<string, string> } {
  const at = opts.at ?? new Date();
  const body = Buffer.from(JSON.stringify({ ticketId: ticket.id, eventId: opts.eventId ?? `evt-${ticket.id}-${at.getTime()}`, event: 'ticket.updated', timestamp: at.getTime(), ...(opts.self ? { self: opts.self } : {}) }));
  return { body, headers: { 'content-type': 'application/json', [opts.header ?? 'x-signature']: signJsonWebhook(body, secret) } };
}
