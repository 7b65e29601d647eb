import type { z } from 'zod';
import { CustodyEvent, Grant, GrantAmendment, Rejection, Revocation } from '../model/index.js';
import type { ChainLink } from '../model/index.js';
import { verifyChain, custodyEventHash } from './chain.js';
import { verifyDetachedJws } from './jws.js';
import type { Jwks } from './keys.js';
import { DECISION_DIGEST_KEY, DECISION_EVENTS, decisionDigest, type MessageKind } from './seal.js';

/** One check of a message, with the words that explain its outcome. */
export type VerifyCheck = { name: string; ok: boolean; detail: string };

/**
 * Everything `verifyMessage` found. `ok` is true only when every check passed. Check names are
 * stable: `schema`, `signature-present`, `signature-header`, `kid-known`, `signature-valid`,
 * `custody-link`, `custody-event`, `custody-chain`, `validity-window`, `ttl-consistent`, `not-expired`.
 */
export type VerifyReport = {
  ok: boolean;
  kind: MessageKind | 'unknown';
  checks: VerifyCheck[];
};

export type VerifyOptions = {
  /** The time to judge expiry at; defaults to the current time. */
  now?: Date;
  /**
   * The ticket's custody events from `access.custody.v1`, in log order. When given, the whole chain
   * must verify and contain the event that records this message. A single element that is the
   * message's own event (rather than the chain from seq 0) is also accepted: then only that event
   * is checked.
   */
  custodyEvents?: readonly unknown[];
};

const SCHEMAS: Record<MessageKind, z.ZodType> = { grant: Grant, rejection: Rejection, revocation: Revocation, amendment: GrantAmendment };
const OUTCOME_KIND: Record<string, MessageKind> = { granted: 'grant', rejected: 'rejection', revoked: 'revocation', amended: 'amendment' };

function kindOf(message: Record<string, unknown>): MessageKind | 'unknown' {
  const outcome = message['outcome'];
  return typeof outcome === 'string' ? (OUTCOME_KIND[outcome] ?? 'unknown') : 'unknown';
}

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}

function describeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  const more = error.issues.length > 5 ? `; and ${error.issues.length - 5} more` : '';
  return `${shown.join('; ')}${more}`;
}

function signatureChecks(message: Record<string, unknown>, jwks: Jwks): VerifyCheck[] {
  const signature = message['signature'];
  if (typeof signature !== 'string' || signature === '') {
    return [{ name: 'signature-present', ok: false, detail: 'the message has no signature, so nobody can tell who made it' }];
  }
  const checks: VerifyCheck[] = [{ name: 'signature-present', ok: true, detail: 'the message carries a detached JWS' }];
  const verdict = verifyDetachedJws(signature, message, jwks);
  switch (verdict.result) {
    case 'malformed':
    case 'unsupported-header':
      checks.push({ name: 'signature-header', ok: false, detail: verdict.detail });
      return checks;
    case 'unknown-kid':
      checks.push({ name: 'signature-header', ok: true, detail: `EdDSA, kid "${verdict.kid}"` });
      checks.push({ name: 'kid-known', ok: false, detail: verdict.detail });
      return checks;
    case 'bad-signature':
    case 'valid':
      checks.push({ name: 'signature-header', ok: true, detail: `EdDSA, kid "${verdict.kid}"` });
      checks.push({ name: 'kid-known', ok: true, detail: `kid "${verdict.kid}" is in the JWKS` });
      checks.push(
        verdict.result === 'valid'
          ? { name: 'signature-valid', ok: true, detail: `signed by "${verdict.kid}"; the message is exactly what was signed` }
          : { name: 'signature-valid', ok: false, detail: verdict.detail },
      );
      return checks;
  }
}

type Linked = {
  kind: MessageKind;
  link: ChainLink;
  source: { connectorId: string; ticketId: string };
  requestId: string;
  grantId: string | null;
};

function custodyChecks(message: Record<string, unknown>, linked: Linked, events: readonly unknown[] | undefined): VerifyCheck[] {
  const { link } = linked;
  const checks: VerifyCheck[] = [];
  const wellFormed = (link.seq === 0) === (link.prevHash === null);
  checks.push({
    name: 'custody-link',
    ok: wellFormed,
    detail: wellFormed
      ? `recorded by custody event seq ${link.seq} (hash ${short(link.hash)})${events === undefined ? '; not compared with the custody log (none given)' : ''}`
      : link.seq === 0
        ? 'custody link says seq 0 but names a previous event; the first event of a chain has prevHash null'
        : `custody link says seq ${link.seq} but has prevHash null; only seq 0 may have no previous event`,
  });
  if (events === undefined) return checks;

  const { kind: eventKind } = DECISION_EVENTS[linked.kind];
  const parsed = events.map((e) => CustodyEvent.safeParse(e));
  const index = parsed.findIndex((p) => p.success && p.data.seq === link.seq && p.data.ticket.connectorId === linked.source.connectorId && p.data.ticket.ticketId === linked.source.ticketId);
  const found = index >= 0 ? parsed[index] : undefined;
  const raw = index >= 0 ? events[index] : undefined;
  const onlyOwnEvent = events.length === 1 && found !== undefined;

  if (found === undefined || !found.success) {
    checks.push({
      name: 'custody-event',
      ok: false,
      detail: `no custody event seq ${link.seq} of ticket ${linked.source.connectorId}/${linked.source.ticketId} in the events given: the event recording this message is missing`,
    });
  } else {
    const event = found.data;
    const problems: string[] = [];
    if (custodyEventHash(raw as Record<string, unknown>) !== event.hash) problems.push('the event was altered after it was recorded (its content does not match its hash)');
    if (event.hash !== link.hash) problems.push(`the event's hash ${short(event.hash)} is not the ${short(link.hash)} the message names`);
    if (event.prevHash !== link.prevHash) problems.push("the event's prevHash differs from the message's link");
    if (event.kind !== eventKind) problems.push(`the event is a ${event.kind}, not a ${eventKind}`);
    if (event.requestId !== linked.requestId) problems.push(`the event is for request ${String(event.requestId)}, not ${linked.requestId}`);
    if (event.grantId !== linked.grantId) problems.push(`the event is for grant ${String(event.grantId)}, not ${String(linked.grantId)}`);
    const recorded = event.data[DECISION_DIGEST_KEY];
    const digest = decisionDigest(message);
    if (typeof recorded === 'string') {
      if (recorded !== digest) {
        problems.push(`the event recorded ${DECISION_DIGEST_KEY} ${short(recorded)} but this message's decision hashes to ${short(digest)}: the message is not the decision that was recorded`);
      }
    } else if (linked.kind === 'revocation' && typeof message['revocationId'] === 'string') {
      // Revocation events may name the revocation instead of hashing it; the signed link still binds them.
      if (event.data['revocationId'] !== message['revocationId']) {
        problems.push(`the event records revocation ${String(event.data['revocationId'])}, not ${message['revocationId']}`);
      }
    } else {
      problems.push(`the event has no ${DECISION_DIGEST_KEY}, so it does not vouch for this message's content`);
    }
    checks.push({
      name: 'custody-event',
      ok: problems.length === 0,
      detail: problems.length === 0 ? `custody event ${event.eventId} (seq ${event.seq}, ${event.kind}) records exactly this message` : problems.join('; '),
    });
  }

  if (!onlyOwnEvent) {
    const verdict = verifyChain(events);
    checks.push(
      verdict.ok
        ? { name: 'custody-chain', ok: true, detail: `${events.length} custody event(s) form an unbroken chain from seq 0` }
        : {
            name: 'custody-chain',
            ok: false,
            detail: verdict.problems.map((p) => `seq ${p.seq ?? '?'}${p.eventId === null ? '' : ` (${p.eventId})`}: ${p.problem}`).join('; '),
          },
    );
  }
  return checks;
}

function timeChecks(grant: Grant, now: Date): VerifyCheck[] {
  const from = Date.parse(grant.validFrom);
  const to = Date.parse(grant.expiresAt);
  const checks: VerifyCheck[] = [];
  checks.push(
    to > from
      ? { name: 'validity-window', ok: true, detail: `valid from ${grant.validFrom} until ${grant.expiresAt}` }
      : { name: 'validity-window', ok: false, detail: `expiresAt ${grant.expiresAt} is not after validFrom ${grant.validFrom}: the grant never gives access` },
  );
  const span = (to - from) / 1000;
  checks.push(
    span === grant.ttlSeconds
      ? { name: 'ttl-consistent', ok: true, detail: `expiresAt − validFrom = ttlSeconds = ${grant.ttlSeconds}` }
      : {
          name: 'ttl-consistent',
          ok: false,
          detail: `expiresAt − validFrom is ${span} s but ttlSeconds says ${grant.ttlSeconds}: the grant contradicts itself, do not provision it`,
        },
  );
  const at = now.toISOString();
  checks.push(
    now.getTime() < to
      ? { name: 'not-expired', ok: true, detail: `still valid at ${at} (${Math.floor((to - now.getTime()) / 1000)} s left)` }
      : { name: 'not-expired', ok: false, detail: `expired at ${grant.expiresAt}, before the check time ${at}: do not provision it` },
  );
  return checks;
}

/**
 * Verifies a grantline message (grant, rejection or revocation) the way an adapter should before it
 * acts on it: schema, signature (EdDSA detached JWS over the RFC 8785 canonical JSON of the message
 * without `signature`) against the published JWKS, the custody link (and, when the ticket's custody
 * events are given, the chain and the event that records this message), and for grants the validity
 * window, TTL and expiry at `now`.
 *
 * Never throws for a bad message: every failure is a check with `ok: false` and words that say
 * what is wrong. Pass the message as parsed from the wire, not a schema-parsed copy, so that members
 * added after signing are caught.
 */
export function verifyMessage(message: unknown, jwks: Jwks, options: VerifyOptions = {}): VerifyReport {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return {
      ok: false,
      kind: 'unknown',
      checks: [{ name: 'schema', ok: false, detail: 'the message is not a JSON object' }],
    };
  }
  const record = message as Record<string, unknown>;
  const kind = kindOf(record);
  const checks: VerifyCheck[] = [];

  const parsed = kind === 'unknown' ? null : SCHEMAS[kind].safeParse(message);
  if (kind === 'unknown') {
    checks.push({
      name: 'schema',
      ok: false,
      detail: `outcome is ${JSON.stringify(record['outcome'])}; expected "granted" (grant), "rejected" (rejection), "revoked" (revocation) or "amended" (amendment)`,
    });
  } else if (parsed !== null && !parsed.success) {
    checks.push({ name: 'schema', ok: false, detail: `not a valid ${kind}: ${describeIssues(parsed.error)}` });
  } else {
    checks.push({ name: 'schema', ok: true, detail: `a valid ${kind}` });
  }

  // The signature is checked even when the schema fails: it tells whether the sender or the wire is at fault.
  checks.push(...signatureChecks(record, jwks));

  if (kind !== 'unknown' && parsed?.success) {
    // Every published kind requires custody (the schema check above), so a message without it stops there.
    const valid = parsed.data as Grant | Rejection | Revocation | GrantAmendment;
    checks.push(
      ...custodyChecks(
        record,
        {
          kind,
          link: valid.custody.chain,
          source: valid.source,
          requestId: valid.requestId,
          grantId: 'grantId' in valid ? valid.grantId : null,
        },
        options.custodyEvents,
      ),
    );
    if (kind === 'grant') checks.push(...timeChecks(valid as Grant, options.now ?? new Date()));
  }

  return { ok: checks.every((c) => c.ok), kind, checks };
}
