import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector, Delivery } from '../../src/connector/contract.js';
import { SourceRateLimitedError, SourceUnavailableError } from '../../src/connector/errors.js';
import { MappedRequest, type ReasonCode } from '../../src/model/index.js';

/** A request the stub saw; only `host` is read by the kit. */
export interface KitRecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly host: string;
}

/** A running stub of the connector's source system, seeded with the connector's own seed type. */
export interface KitStub<Seed> {
  readonly baseUrl: string;
  readonly requests: readonly KitRecordedRequest[];
  /** Puts a ticket in the stub; returns its id as the connector's `fetchTicket` takes it. */
  seed(seed: Seed): { ticketId: string };
  /** How many comments / work notes the ticket has now. */
  commentCount(ticketId: string): number;
  /** The next request gets this status and headers. */
  failNext(status: number, headers?: Record<string, string>): void;
  close(): Promise<void>;
}

export interface ConformanceOptions<Seed> {
  /** Connector type, shown in test names. */
  readonly name: string;
  /** Creates a connector configured against the stub's base URL. */
  readonly createConnector: (baseUrl: string) => Connector;
  readonly startStub: () => Promise<KitStub<Seed>>;
  readonly deliveries: {
    /** A well-formed delivery body about `ticketId`, sent at `at`; `linkBase` is the host put into `self`/links. */
    body(ticket: { ticketId: string }, at: Date, linkBase: string): Buffer;
    /** Authentication headers the source would send for these exact bytes (plus any `headersExtra`). */
    sign(body: Buffer, headersExtra?: Record<string, string>): Record<string, string>;
    /** Headers that look right but carry a wrong signature (say, signed with another secret). */
    forge(body: Buffer): Record<string, string>;
    /** Header names (lower-case) that carry the authentication; removing them gives "missing". */
    readonly authHeaders: readonly string[];
    /** An age beyond the connector's replay window. */
    readonly staleAgeMs: number;
  };
  readonly identification: readonly {
    name: string;
    delivery: Delivery;
    expect: { ticketId: string; deliveryId: string; relevant: boolean };
  }[];
  readonly mapping: readonly { name: string; seed: Seed; expect: 'request' | readonly ReasonCode[] }[];
  /** A ticket that maps to a request; used by write-back, payload-URL and failure checks. */
  readonly validSeed: Seed;
  /** Two batches seeded one after the other, the second changed later than the first; polling starts at `since`. */
  readonly polling: { readonly since: Date; readonly first: readonly Seed[]; readonly second: readonly Seed[] };
}

/** Starts a server that only counts hits: a payload's links point here, and it must see none. */
async function startTrap(): Promise<{ baseUrl: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * The conformance suite every connector runs against itself: authenticity (valid, missing, forged,
 * tampered, replayed), identification of every fixture, mapping to requests or reason codes, a pure
 * `map`, idempotent write-back, polling that resumes from its watermark, payload URLs never fetched,
 * and source failures surfaced as retriable / rate-limited errors.
 */
export function describeConformance<Seed>(options: ConformanceOptions<Seed>): void {
  describe(`connector conformance: ${options.name}`, () => {
    let stub: KitStub<Seed>;
    let connector: Connector;

    beforeAll(async () => {
      stub = await options.startStub();
      connector = options.createConnector(stub.baseUrl);
    });
    afterAll(async () => {
      await stub.close();
    });

    const d = options.deliveries;
    const fresh = (body: Buffer, headers: Record<string, string>, receivedAt = new Date()): Delivery => ({ rawBody: body, headers, receivedAt });

    describe('authenticity', () => {
      it('accepts a correctly signed, fresh delivery', () => {
        const body = d.body({ ticketId: '1' }, new Date(), 'https://example.invalid');
        expect(connector.verify(fresh(body, d.sign(body)))).toBe('valid');
      });

      it('refuses a delivery without its authentication headers', () => {
        const body = d.body({ ticketId: '1' }, new Date(), 'https://example.invalid');
        const headers = { ...d.sign(body) };
        for (const h of d.authHeaders) delete headers[h];
        expect(['missing_signature', 'unauthorized']).toContain(connector.verify(fresh(body, headers)));
      });

      it('refuses a forged signature', () => {
        const body = d.body({ ticketId: '1' }, new Date(), 'https://example.invalid');
        expect(['bad_signature', 'unauthorized']).toContain(connector.verify(fresh(body, d.forge(body))));
      });

      it('refuses a body changed by one byte after signing', () => {
        const body = d.body({ ticketId: '1' }, new Date(), 'https://example.invalid');
        const headers = d.sign(body);
        const tampered = Buffer.from(body);
        const i = tampered.indexOf('"1"') + 1 || Math.floor(tampered.length / 2);
        tampered[i] = tampered[i] === 0x32 ? 0x33 : 0x32;
        expect(tampered.equals(body)).toBe(false);
        expect(['bad_signature', 'unauthorized']).toContain(connector.verify(fresh(tampered, headers)));
      });

      it('refuses a replayed delivery whose signed timestamp is outside the window', () => {
        const now = new Date();
        const old = new Date(now.getTime() - d.staleAgeMs);
        const body = d.body({ ticketId: '1' }, old, 'https://example.invalid');
        expect(connector.verify(fresh(body, d.sign(body), now))).toBe('stale');
        // The same bytes received at the time they were sent are fine: it is the age that refuses them.
        expect(connector.verify(fresh(body, d.sign(body), old))).toBe('valid');
      });
    });

    describe('identification', () => {
      it.each(options.identification.map((c) => [c.name, c] as const))('identifies %s', (_name, c) => {
        const id = connector.identify(c.delivery);
        expect(id).toMatchObject({ ok: true, ...c.expect });
      });
    });

    describe('mapping', () => {
      it.each(options.mapping.map((c) => [c.name, c] as const))('maps %s', async (_name, c) => {
        const { ticketId } = stub.seed(c.seed);
        const snapshot = await connector.fetchTicket(ticketId);
        const before = stub.requests.length;
        const result = connector.map(snapshot);
        const again = connector.map(structuredClone(snapshot));
        expect(stub.requests.length).toBe(before);
        expect(again).toEqual(result);
        if (c.expect === 'request') {
          expect(result.ok, result.ok ? '' : JSON.stringify(result.failure.reasons)).toBe(true);
          // A valid request, and no id of the connector's own: the core computes the request id.
          if (result.ok) {
            expect(MappedRequest.strict().safeParse(result.request).error?.issues ?? []).toEqual([]);
          }
        } else {
          expect(result.ok).toBe(false);
          if (!result.ok) expect(result.failure.reasons.map((r) => r.code).sort()).toEqual([...c.expect].sort());
        }
      });
    });

    describe('write-back', () => {
      it('writes once for one idempotency key, even when called twice', async () => {
        const { ticketId } = stub.seed(options.validSeed);
        const ticket = { ticketId, ticketKey: (await connector.fetchTicket(ticketId)).ticketKey };
        expect(connector.scope(ticket)).toEqual({ ok: true });
        const before = stub.commentCount(ticketId);
        const first = await connector.writeBack(ticket, { kind: 'note', text: 'conformance note' }, 'kit-key-1');
        const second = await connector.writeBack(ticket, { kind: 'note', text: 'conformance note' }, 'kit-key-1');
        expect(first.written).toBe(true);
        expect(second).toEqual({ written: false, recordId: first.recordId });
        expect(stub.commentCount(ticketId)).toBe(before + 1);
        const from = stub.requests.length;
        const third = await connector.writeBack(ticket, { kind: 'note', text: 'another decision' }, 'kit-key-2');
        expect(third.written).toBe(true);
        expect(stub.commentCount(ticketId)).toBe(before + 2);
        // Told the note cannot be there (knownAbsent): written without reading the ticket for its marker first.
        const checked = stub.requests.length - from;
        const mid = stub.requests.length;
        const told = await connector.writeBack(ticket, { kind: 'note', text: 'a third decision' }, 'kit-key-3', { knownAbsent: true });
        expect(told.written).toBe(true);
        expect(stub.requests.length - mid).toBe(checked - 1);
        expect(stub.commentCount(ticketId)).toBe(before + 3);
      });
    });

    describe('polling', () => {
      it('returns changed tickets and resumes from its watermark without repeats or gaps', async () => {
        const pollAll = async (start: string | null): Promise<{ ids: string[]; watermark: string | null }> => {
          const ids: string[] = [];
          let watermark = start;
          for (let i = 0; i < 50; i += 1) {
            const page = await connector.poll(watermark, options.polling.since);
            ids.push(...page.tickets.map((t) => t.ticketId));
            watermark = page.watermark;
            if (page.tickets.length === 0 || page.hasMore === false) break;
          }
          return { ids, watermark };
        };
        const first = options.polling.first.map((s) => stub.seed(s).ticketId);
        const one = await pollAll(null);
        expect(one.ids).toEqual(first);
        const second = options.polling.second.map((s) => stub.seed(s).ticketId);
        const two = await pollAll(one.watermark);
        expect(two.ids).toEqual(second);
        const three = await pollAll(two.watermark);
        expect(three.ids).toEqual([]);
      });
    });

    describe('update time', () => {
      // A stub of its own: the polling checks above count every ticket in the window.
      let own: KitStub<Seed>;
      let reader: Connector;
      beforeAll(async () => {
        own = await options.startStub();
        reader = options.createConnector(own.baseUrl);
      });
      afterAll(async () => {
        await own.close();
      });

      it('reads a ticket with the update time its poll sighting reports, so the processor does not read it twice', async () => {
        const { ticketId } = own.seed(options.polling.first[0] as Seed);
        const sighted = new Map<string, string>();
        let watermark: string | null = null;
        for (let i = 0; i < 50 && !sighted.has(ticketId); i += 1) {
          const page = await reader.poll(watermark, options.polling.since);
          for (const t of page.tickets) sighted.set(t.ticketId, t.updatedAt);
          watermark = page.watermark;
          if (page.tickets.length === 0 || page.hasMore === false) break;
        }
        expect(sighted.get(ticketId)).toMatch(/^\d{4}-\d{2}-\d{2}T/);
        const snapshot = await reader.fetchTicket(ticketId);
        expect(snapshot.updatedAt).toBe(sighted.get(ticketId));
      });
    });

    describe('payload URLs', () => {
      it('never fetches a URL from a payload; every call goes to the configured base URL', async () => {
        const trap = await startTrap();
        try {
          const { ticketId } = stub.seed(options.validSeed);
          const body = d.body({ ticketId }, new Date(), trap.baseUrl);
          expect(body.toString('utf8')).toContain(trap.baseUrl);
          const delivery = fresh(body, d.sign(body));
          expect(connector.verify(delivery)).toBe('valid');
          const id = connector.identify(delivery);
          expect(id.ok && id.ticketId).toBe(ticketId);
          const snapshot = await connector.fetchTicket(ticketId);
          const mapped = connector.map(snapshot);
          expect(mapped.ok).toBe(true);
          await connector.writeBack({ ticketId, ticketKey: snapshot.ticketKey }, { kind: 'note', text: 'url check' }, 'kit-url-check');
          expect(trap.hits()).toBe(0);
          const host = new URL(stub.baseUrl).host;
          expect(stub.requests.length).toBeGreaterThan(0);
          expect(stub.requests.filter((r) => r.host !== host)).toEqual([]);
        } finally {
          await trap.close();
        }
      });
    });

    describe('source failures', () => {
      it('throws a retriable error when the source answers 503', async () => {
        const { ticketId } = stub.seed(options.validSeed);
        stub.failNext(503);
        const error = await connector.fetchTicket(ticketId).then(() => null, (e: unknown) => e);
        expect(error).toBeInstanceOf(SourceUnavailableError);
        expect((error as SourceUnavailableError).retriable).toBe(true);
      });

      it('throws SourceRateLimitedError with Retry-After on 429', async () => {
        const { ticketId } = stub.seed(options.validSeed);
        stub.failNext(429, { 'Retry-After': '7' });
        const error = await connector.fetchTicket(ticketId).then(() => null, (e: unknown) => e);
        expect(error).toBeInstanceOf(SourceRateLimitedError);
        expect((error as SourceRateLimitedError).retryAfterMs).toBe(7000);
      });
    });
  });
}
