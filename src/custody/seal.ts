import { Custody, Grant, Rejection, Revocation } from '../model/index.js';
import type { CustodyEvent, CustodyEventKind } from '../model/index.js';
import { jsonSha256 } from './canonical.js';
import { chainEvent } from './chain.js';
import { signGrant, signRejection, signRevocation } from './jws.js';
import type { SigningKeys } from './keys.js';

/** The kinds of signed message grantline publishes. */
export type MessageKind = 'grant' | 'rejection' | 'revocation' | 'amendment';

/**
 * For each message kind: the custody event kind that records it. That event's `data` holds the
 * message's `decisionSha256` (see `decisionDigest`).
 */
export const DECISION_EVENTS = {
  grant: { kind: 'decision.granted' },
  rejection: { kind: 'decision.rejected' },
  revocation: { kind: 'grant.revoked' },
  amendment: { kind: 'grant.amended' },
} as const satisfies Record<MessageKind, { kind: CustodyEventKind }>;

/** The `data` member of a decision's custody event that holds `decisionDigest` of the message. */
export const DECISION_DIGEST_KEY = 'decisionSha256';

/**
 * The digest a custody event records for a message: SHA-256 of the RFC 8785 canonical JSON of the
 * message without `signature` and without `custody`, i.e. of the decision itself. Both are left
 * out because they are made after the event: `custody.chain` names the event's hash, and the
 * signature covers the custody block; the signature binds the custody block to the decision.
 */
export function decisionDigest(message: object): string {
  const { signature: _signature, custody: _custody, ...decision } = message as Record<string, unknown>;
  return jsonSha256(decision);
}

/** A message ready to be sealed: custody without its chain link, no signature. */
export type Unsealed<M extends { custody?: Custody | undefined; signature?: string | undefined }> = Omit<M, 'custody' | 'signature'> & {
  custody: Omit<Custody, 'chain'>;
};

/** What the caller says about the custody event that records the message. */
export type SealEvent = {
  eventId: string;
  at: string;
  actor: string;
  /** Extra evidence for the event; `decisionSha256` is added to it. */
  data?: Record<string, unknown>;
};

/** A signed message and the custody event to publish with it (in the same Kafka transaction). */
export type Sealed<M> = { message: M; event: CustodyEvent };

const UNSEALED_SCHEMAS = {
  grant: Grant.omit({ signature: true }).extend({ custody: Custody.omit({ chain: true }) }),
  rejection: Rejection.omit({ signature: true }).extend({ custody: Custody.omit({ chain: true }) }),
  revocation: Revocation.omit({ signature: true }).extend({ custody: Custody.omit({ chain: true }) }),
};

function seal<M extends Grant | Rejection | Revocation>(
  kind: keyof typeof UNSEALED_SCHEMAS,
  input: Unsealed<M>,
  prev: CustodyEvent | null,
  eventInput: SealEvent,
  signer: (withChain: Omit<M, 'signature'>) => M,
): Sealed<M> {
  // Parse first so that the digest and the signature cover the same members: unknown members are
  // dropped before either is computed.
  const parsed = UNSEALED_SCHEMAS[kind].safeParse(input);
  if (!parsed.success) {
    throw new Error(`refusing to seal an invalid ${kind}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const unsealed = parsed.data;
  const { kind: eventKind } = DECISION_EVENTS[kind];
  const source = unsealed.source;
  const event = chainEvent(prev, {
    eventId: eventInput.eventId,
    kind: eventKind,
    ticket: { connectorId: source.connectorId, ticketId: source.ticketId, ticketKey: source.ticketKey },
    requestId: unsealed.requestId,
    grantId: 'grantId' in unsealed ? unsealed.grantId : null,
    at: eventInput.at,
    actor: eventInput.actor,
    data: { ...eventInput.data, [DECISION_DIGEST_KEY]: decisionDigest(unsealed) },
  });
  const withChain = {
    ...unsealed,
    custody: { ...unsealed.custody, chain: { seq: event.seq, prevHash: event.prevHash, hash: event.hash } },
  } as unknown as Omit<M, 'signature'>;
  return { message: signer(withChain), event };
}

/**
 * Records a grant in its ticket's custody chain and signs it, in the one order that works: the
 * `decision.granted` event (after `prev`, the ticket's latest event, or null for the first) carries
 * the grant's digest; the grant's `custody.chain` names that event; the signature covers both.
 *
 * @throws Error when the grant does not match the `Grant` schema or `prev` is of another ticket.
 */
export function sealGrant(grant: Unsealed<Grant>, prev: CustodyEvent | null, event: SealEvent, keys: SigningKeys): Sealed<Grant> {
  return seal<Grant>('grant', grant, prev, event, (m) => signGrant(m, keys));
}

/** As `sealGrant`, for a rejection (`decision.rejected`). */
export function sealRejection(
  rejection: Unsealed<Rejection>,
  prev: CustodyEvent | null,
  event: SealEvent,
  keys: SigningKeys,
): Sealed<Rejection> {
  return seal<Rejection>('rejection', rejection, prev, event, (m) => signRejection(m, keys));
}

/** As `sealGrant`, for a revocation (`grant.revoked`). */
export function sealRevocation(
  revocation: Unsealed<Revocation>,
  prev: CustodyEvent | null,
  event: SealEvent,
  keys: SigningKeys,
): Sealed<Revocation> {
  return seal<Revocation>('revocation', revocation, prev, event, (m) => signRevocation(m, keys));
}
