import type { Logger } from 'pino';
import type { z } from 'zod';
import type {
  GrantDecision,
  IsoDateTime,
  MappedRequest,
  Reason,
  RejectionDecision,
  Revocation,
  SourceIdentity,
  TicketSource,
  FulfillmentResult,
} from '../model/index.js';

/** One inbound HTTP delivery as the core's HTTP layer received it. Header names are lower-case. */
export interface Delivery {
  readonly rawBody: Buffer;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly receivedAt: Date;
}

/**
 * Result of checking a delivery's authenticity. Expected outcomes are data, not throws.
 * `valid` is the only value that lets a delivery in. `malformed`: the credentials are good but the
 * body is not what the source sends (not JSON); returned only once the signature has passed, so an
 * unauthenticated caller never learns more than `missing_signature` / `bad_signature`.
 */
export type VerifyResult = 'valid' | 'missing_signature' | 'bad_signature' | 'stale' | 'unauthorized' | 'malformed';

/** What a verified delivery is about. `relevant: false` (say, a project we do not watch) is acknowledged and dropped. */
export type Identification =
  | {
      readonly ok: true;
      readonly ticketId: string;
      readonly ticketKey: string | null;
      /** Unique per delivery and stable across the source's retries: the dedup key. */
      readonly deliveryId: string;
      readonly eventType: string;
      readonly relevant: boolean;
      /** Why a delivery of a watched event is not relevant (say, it only reports grantline's own note). */
      readonly ignoredBecause?: string;
    }
  | { readonly ok: false; readonly reason: string };

/** The authoritative state of a ticket, read from the source API. `raw` is hashed into custody. */
export interface TicketSnapshot {
  readonly ticketId: string;
  readonly ticketKey: string;
  readonly fetchedAt: IsoDateTime;
  /**
   * The ticket's last-updated time as the source gave it with this read, in the very form `poll`
   * reports it (`PollPage.tickets[].updatedAt`), when the source gives one. The processor takes the
   * poller's sighting of the ticket at this time as seen: it would read the same ticket again
   * (issue 16, source requests). Absent: every sighting is read.
   */
  readonly updatedAt?: IsoDateTime;
  /** Everything the mapping reads, JSON-serializable. Its SHA-256 goes into custody as `snapshotSha256`. */
  readonly raw: unknown;
}

/** A ticket that cannot become a request, with every reason (free text, unmapped value, missing field). */
export interface MappingFailure {
  readonly source: TicketSource;
  readonly requester: { principalId: string | null; sourceIdentity: SourceIdentity } | null;
  readonly reasons: readonly Reason[];
  readonly freeText: string;
  /** Whether the source considers the ticket open for a decision (a closed ticket gets no write-back). */
  readonly actionable: boolean;
}

/** A mapped request carries no `requestId`: the core computes it from the request fields (`requestIdFor`). */
export type MapResult =
  | { readonly ok: true; readonly request: MappedRequest }
  | { readonly ok: false; readonly failure: MappingFailure };

/** What grantline writes on a ticket. Each carries an idempotency key the connector must honour. */
export type WriteBack =
  | { readonly kind: 'decision'; readonly decision: GrantDecision | RejectionDecision }
  | { readonly kind: 'revocation'; readonly revocation: Revocation }
  | { readonly kind: 'fulfillment'; readonly result: FulfillmentResult }
  | { readonly kind: 'review-opened'; readonly grantId: string; readonly reviewTicketKey: string; readonly reviewUrl: string }
  | { readonly kind: 'note'; readonly text: string };

/** The ticket a write-back is for: the source's id and its human key (a Jira issue key, a RITM number or sys_id). */
export interface TicketRef {
  readonly ticketId: string;
  readonly ticketKey: string;
}

/** Whether a ticket is one this connector instance may write on (its configured projects or tables). */
export type ScopeCheck = { readonly ok: true } | { readonly ok: false; readonly detail: string };

/** What the caller knows of the ticket when it asks for a write-back. */
export interface WriteBackOptions {
  /**
   * No note with this idempotency key can be on the ticket: grantline saw the ticket without it,
   * queued no other write with this key, and this is the first attempt. The connector may then
   * write without first reading the ticket for the marker (one source request fewer per note).
   */
  readonly knownAbsent?: boolean;
}

export interface WriteBackResult {
  /** False when a note with the same idempotency key was already on the ticket. */
  readonly written: boolean;
  /** The source's id of the comment or work note. */
  readonly recordId: string;
  /**
   * The ticket's `updated` time this write set (ISO, as `poll` reports it), when the source's answer
   * tells it. The poller's sighting of the ticket at exactly that time is the echo of this write,
   * and is not fetched (issue 16). Absent when nothing was written or the source does not say.
   */
  readonly ticketUpdatedAt?: string;
}

/** A post-event review ticket opened for a break-glass grant. */
export interface ReviewTicket {
  readonly ticketId: string;
  readonly ticketKey: string;
  readonly url: string;
}

export interface ReviewState {
  readonly closed: boolean;
  /** `approved` / `rejected` etc. as the reviewer concluded; null while open. */
  readonly outcome: string | null;
  readonly closedAt: IsoDateTime | null;
}

export interface PollPage {
  readonly tickets: readonly { ticketId: string; ticketKey: string; updatedAt: IsoDateTime }[];
  /** Opaque watermark to store and hand back on the next call; resumes exactly after what was returned. */
  readonly watermark: string;
  /** True when more changed tickets are waiting: call again with `watermark` at once. Absent means unknown (poll again until a page is empty). */
  readonly hasMore?: boolean;
}

/** Several principals share the email a person was matched by, so grantline cannot tell which one they are. */
export interface AmbiguousEmail {
  readonly email: string;
  /** The principals holding that email, sorted. */
  readonly principals: readonly string[];
  /** Says so in plain words, naming them, and what the IdP admin should map to settle it. */
  readonly explanation: string;
}

/** How a person a ticketing system names resolved to a directory principal. */
export type PersonResolution =
  | { readonly principalId: string; readonly by: 'identity' | 'email' }
  | { readonly principalId: null; readonly ambiguous: AmbiguousEmail | null };

/** Resolves a source identity to a directory principal id, or null. Synchronous, in-memory. */
export interface PrincipalResolver {
  /** The principal holding exactly this source identity, or null. */
  resolve(identity: SourceIdentity): string | null;
  /**
   * A person as a ticketing system names them: by `identity`, else by the `email` the system also
   * gave (case-insensitive) when exactly one principal, active or not, has it. When several do, the
   * person is not resolved and `ambiguous` says why. Build one with `principalResolver`
   * (`src/connector/resolve.ts`), which holds the rule.
   */
  resolvePerson(identity: SourceIdentity, email?: string | null): PersonResolution;
}

/** Everything the core gives a connector. Connectors get nothing else from `src`. */
export interface ConnectorDeps {
  readonly connectorId: string;
  readonly logger: Logger;
  readonly directory: PrincipalResolver;
}

/**
 * One configured connector instance (say, `jira-main`). Several instances of one type run side by
 * side with their own config. Only `fetchTicket`, `writeBack`, `openReview`, `reviewState`, `noteReview` and `poll`
 * do I/O, and only against the configured base URL; URLs inside payloads are never fetched.
 */
export interface Connector {
  readonly id: string;
  readonly type: string;
  /** Base URL every call goes to; used in `TicketSource.instanceUrl`. */
  readonly instanceUrl: string;
  /** Checks the delivery's authenticity over the raw bytes. No I/O, no parsing before the check. */
  verify(delivery: Delivery): VerifyResult;
  /** Reads ticket id and delivery id out of a verified delivery. Pure. */
  identify(delivery: Delivery): Identification;
  /** Re-reads the ticket from the source API. Throws `SourceUnavailableError` and friends. */
  fetchTicket(ticketId: string): Promise<TicketSnapshot>;
  /** Maps a snapshot to a canonical request or a structured failure. Pure. */
  map(snapshot: TicketSnapshot): MapResult;
  /**
   * Whether `ticket` lies in what this instance is configured to serve (Jira: its projects;
   * ServiceNow: its RITM table; json-webhook: its paths under `baseUrl`). Pure, no I/O. The
   * write-back worker refuses a task outside it; `writeBack` addresses the ticket the way this
   * check judged it, so a task cannot pass with one name and write on another. `review`: a
   * post-event review ticket `openReview` opened (Jira: the review project; ServiceNow: its table).
   */
  scope(ticket: TicketRef, kind?: 'ticket' | 'review'): ScopeCheck;
  /** Writes on the ticket; a second call with the same key writes nothing (unless told `knownAbsent`, when none can exist). */
  writeBack(ticket: TicketRef, item: WriteBack, idempotencyKey: string, options?: WriteBackOptions): Promise<WriteBackResult>;
  /** Opens a post-event review ticket for a break-glass grant, linked to the original ticket (addressed as `scope` judged it, like `writeBack`). */
  openReview(ticket: TicketRef, grant: GrantDecision): Promise<ReviewTicket>;
  reviewState(review: ReviewTicket): Promise<ReviewState>;
  /** Writes a note on a review ticket `openReview` opened; a second call with the same key writes nothing. */
  noteReview(review: ReviewTicket, text: string, idempotencyKey: string): Promise<WriteBackResult>;
  /** Tickets changed after the watermark (null: from `since`), oldest first. */
  poll(watermark: string | null, since: Date): Promise<PollPage>;
  /** Status names the connector is configured to treat as cancelled/withdrawn/declined. */
  isCancelled(snapshot: TicketSnapshot): boolean;
}

/** A kind of person identity a source names people by, and the directory field that holds it. */
export interface IdentityKindSpec {
  readonly kind: string;
  /** The directory's `identities` field (and SCIM extension attribute) that holds this identity. */
  readonly directoryField: string;
}

/** A kind of approval evidence, and whether it is the source's own approval record. */
export interface EvidenceKindSpec {
  readonly kind: string;
  /** True only for a structured approval record (an approval step, an approval table); a comment is never one. */
  readonly structured: boolean;
}

export interface SourceKinds {
  readonly identities: readonly IdentityKindSpec[];
  readonly evidence: readonly EvidenceKindSpec[];
}

/**
 * A connector type: one registration object. The core parses `configSchema` for every configured
 * instance before it calls `create`, and reports every bad field with its path.
 */
export interface ConnectorType<S extends z.ZodType = z.ZodType> {
  readonly type: string;
  readonly configSchema: S;
  /**
   * The identity kinds this source names people by (with the directory field holding each) and the
   * approval-evidence kinds it produces (each saying whether it is a structured approval). Registered
   * with the type in `connectors/registry.ts`, checked at config load; `src/connector/kinds.ts`.
   */
  readonly kinds: SourceKinds;
  create(config: z.infer<S>, deps: ConnectorDeps): Connector;
}

const TYPE_ID = /^[a-z][a-z0-9-]{1,31}$/;

/** Declares a connector type. The id is checked at load time. */
export function defineConnector<S extends z.ZodType>(definition: ConnectorType<S>): ConnectorType<S> {
  if (!TYPE_ID.test(definition.type)) {
    throw new Error(`connector type id "${definition.type}" must match ${TYPE_ID}`);
  }
  return Object.freeze({ ...definition });
}
