import { CustodyEvent } from '../model/index.js';
import { canonicalJson, sha256Hex } from './canonical.js';

/** A custody event before it is linked: everything but `seq`, `prevHash` and `hash`. */
export type CustodyEventDraft = Omit<CustodyEvent, 'seq' | 'prevHash' | 'hash'>;

/**
 * What `chainEvent` needs of the previous event: its `seq` and `hash`. Pass the whole previous event
 * when you have it; its `ticket` is then checked against the new event's.
 */
export type ChainHead = { seq: number; hash: string; ticket?: CustodyEvent['ticket'] };

/** One thing wrong with a custody chain, located by the event's position and the words to fix it. */
export type ChainProblem = {
  /** The `seq` the event claims (or `null` when it has none), so a reader can find it in the log. */
  seq: number | null;
  eventId: string | null;
  problem: string;
};

/** The verdict on one ticket's chain. */
export type ChainVerdict = { ok: true } | { ok: false; problems: ChainProblem[] };

/**
 * The hash of a custody event: SHA-256 over the RFC 8785 canonical JSON of the event without its
 * `hash` member. The event is hashed as given (extra members included), never a parsed copy, so a
 * member added after the fact changes the hash.
 */
export function custodyEventHash(event: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = event;
  return sha256Hex(canonicalJson(rest));
}

function sameTicket(a: CustodyEvent['ticket'], b: CustodyEvent['ticket']): boolean {
  return a.connectorId === b.connectorId && a.ticketId === b.ticketId;
}

/**
 * Appends an event to a ticket's custody chain: `seq` follows `prev` (0 when `prev` is null, a new
 * chain), `prevHash` is `prev.hash`, and `hash` covers everything else.
 *
 * @throws Error when `prev` belongs to another ticket, or when the result is not a valid
 *   `CustodyEvent`: both are bugs in the caller, never expected outcomes.
 */
export function chainEvent(prev: ChainHead | null, draft: CustodyEventDraft): CustodyEvent {
  if (prev !== null && prev.ticket !== undefined && !sameTicket(prev.ticket, draft.ticket)) {
    throw new Error(
      `custody event ${draft.eventId} is for ticket ${draft.ticket.connectorId}/${draft.ticket.ticketId} but would be chained after an event of ticket ${prev.ticket.connectorId}/${prev.ticket.ticketId}`,
    );
  }
  const unhashed = { ...draft, seq: prev === null ? 0 : prev.seq + 1, prevHash: prev === null ? null : prev.hash };
  const event = { ...unhashed, hash: custodyEventHash(unhashed) };
  const parsed = CustodyEvent.safeParse(event);
  if (!parsed.success) {
    throw new Error(`custody event ${draft.eventId} is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return event;
}

function short(hash: unknown): string {
  return typeof hash === 'string' ? `${hash.slice(0, 12)}…` : String(hash);
}

/**
 * Checks one ticket's custody chain, in the order the events were read from the log. Reports every
 * problem found, not the first: an altered event (content does not match its hash), a removed or
 * inserted event (`prevHash` does not match the previous event, or `seq` jumps), reordered events
 * (`seq` goes backwards), a chain that does not start at seq 0, events of another ticket, and
 * entries that are not custody events at all.
 *
 * An empty list is a valid (empty) chain; callers that expect a particular event must look for it.
 * Accepts `unknown[]` so that events read from a file or topic can be checked before they are trusted.
 */
export function verifyChain(events: readonly unknown[]): ChainVerdict {
  const problems: ChainProblem[] = [];
  let prev: CustodyEvent | null = null;
  let first: CustodyEvent | null = null;

  events.forEach((raw, index) => {
    const parsed = CustodyEvent.safeParse(raw);
    if (!parsed.success) {
      const candidate = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
      problems.push({
        seq: typeof candidate['seq'] === 'number' ? candidate['seq'] : null,
        eventId: typeof candidate['eventId'] === 'string' ? candidate['eventId'] : null,
        problem: `entry ${index} is not a valid custody event (${parsed.error.issues
          .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
          .join('; ')}); the chain cannot be checked past it`,
      });
      // Without a trustworthy seq and hash the next link cannot be judged against this one.
      prev = null;
      return;
    }
    const event = parsed.data;
    const at = { seq: event.seq, eventId: event.eventId };

    if (custodyEventHash(raw as Record<string, unknown>) !== event.hash) {
      problems.push({
        ...at,
        problem: `event was altered after it was recorded: its content does not match its hash ${short(event.hash)}`,
      });
    }

    if (first === null) {
      first = event;
      if (index === 0 && event.seq !== 0) {
        problems.push({ ...at, problem: `the chain does not start at seq 0 but at seq ${event.seq}: earlier events are missing` });
      }
      if (index === 0 && event.seq === 0 && event.prevHash !== null) {
        problems.push({ ...at, problem: 'the first event (seq 0) must have prevHash null, but it links to an earlier event' });
      }
    } else if (!sameTicket(first.ticket, event.ticket)) {
      problems.push({
        ...at,
        problem: `event belongs to ticket ${event.ticket.connectorId}/${event.ticket.ticketId}, not to ${first.ticket.connectorId}/${first.ticket.ticketId}: group chains by ticket before checking`,
      });
    }

    if (prev !== null) {
      const before: CustodyEvent = prev;
      if (event.seq === before.seq) {
        problems.push({ ...at, problem: `seq ${event.seq} appears twice (also event ${before.eventId}): an event was duplicated or forked` });
      } else if (event.seq < before.seq) {
        problems.push({ ...at, problem: `seq ${event.seq} comes after seq ${before.seq}: events are out of order` });
      } else if (event.seq > before.seq + 1) {
        const missing = event.seq === before.seq + 2 ? `seq ${before.seq + 1} is` : `seq ${before.seq + 1}–${event.seq - 1} are`;
        problems.push({ ...at, problem: `seq jumps from ${before.seq} to ${event.seq}: ${missing} missing` });
      }
      if (event.prevHash !== before.hash) {
        problems.push({
          ...at,
          problem: `prevHash ${short(event.prevHash)} does not match the hash ${short(before.hash)} of the event before it (seq ${before.seq}): an event was removed, inserted, reordered or altered`,
        });
      }
    }
    prev = event;
  });

  return problems.length === 0 ? { ok: true } : { ok: false, problems };
}
