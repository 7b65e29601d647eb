/**
 * Turns one message of the grant topic into a verified grant or revocation, or a refusal with
 * every reason. The rule itself is grantline's (`verifyMessage` in src/custody: schema, signature
 * by kid against the JWKS, custody link, validity and expiry); the kit adds what only the envelope
 * can tell: the `ce_type` must say what the body is, the Kafka key must be the grant id, and a
 * grant must be for the channel this adapter serves.
 */
import { verifyMessage, type VerifyCheck } from '../../src/custody/index.js';
import type { Grant, GrantAmendment, Revocation } from '../../src/model/index.js';
import { CE_TYPES, decodeCloudEvent } from '../../src/pipeline/cloudevents.js';
import type { JwksSource } from './jwks.js';

/** A message as read from the topic. */
export interface RawMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, unknown> | undefined;
}

/** What a message turned out to be. Expected outcomes are data; nothing here throws. */
export type Intake =
  | { readonly kind: 'grant'; readonly grant: Grant }
  | { readonly kind: 'revocation'; readonly revocation: Revocation }
  /** A verified change of a grant's expiry (`grant.amended`). */
  | { readonly kind: 'amendment'; readonly amendment: GrantAmendment }
  /** A `ce_type` the kit does not act on (v1 may add types): skipped, as the contract says. */
  | { readonly kind: 'ignored'; readonly reason: string }
  /** Did not verify: never acted on, alerted. `grantId` when the message claims one. */
  | { readonly kind: 'refused'; readonly grantId: string | null; readonly failed: readonly { name: string; detail: string }[] }
  /** The JWKS could not be read: no verdict yet; the message is tried again later, in order. */
  | { readonly kind: 'unavailable'; readonly reason: string };

const KIND_OF_TYPE: Record<string, 'grant' | 'revocation' | 'amendment'> = {
  [CE_TYPES.grantIssued]: 'grant',
  [CE_TYPES.grantRevoked]: 'revocation',
  [CE_TYPES.grantAmended]: 'amendment',
};

function claimedGrantId(data: unknown): string | null {
  const id = (data as { grantId?: unknown } | null)?.grantId;
  return typeof id === 'string' && id !== '' ? id : null;
}

/**
 * Verifies one message at `now`. A grant that verifies in every respect but has expired is
 * accepted (it is genuine, and the kit needs it to know what it must not hold); only a grant in
 * force is ever provisioned.
 */
export async function intake(message: RawMessage, jwks: JwksSource, channel: string, now: Date): Promise<Intake> {
  const event = decodeCloudEvent(message.headers, message.value);
  if (!event.ok) return { kind: 'refused', grantId: null, failed: [{ name: 'cloudevent', detail: event.error }] };
  const expected = KIND_OF_TYPE[event.attributes.type];
  if (expected === undefined) return { kind: 'ignored', reason: `ce_type ${event.attributes.type} is not a grant or a revocation` };

  let report;
  try {
    report = verifyMessage(event.data, await jwks.current(), { now });
    // An unknown kid may be a key grantline rotated to after the set was read: read it again, once.
    if (report.checks.some((c) => c.name === 'kid-known' && !c.ok)) report = verifyMessage(event.data, await jwks.refresh(), { now });
  } catch (err) {
    return { kind: 'unavailable', reason: err instanceof Error ? err.message : String(err) };
  }

  const checks: VerifyCheck[] = report.checks.filter((c) => !(expected === 'grant' && c.name === 'not-expired'));
  if (report.kind !== expected) {
    checks.push({ name: 'ce-type', ok: false, detail: `ce_type ${event.attributes.type} says ${expected}, but the message is ${report.kind === 'unknown' ? 'neither' : `a ${report.kind}`}` });
  }
  const grantId = claimedGrantId(event.data);
  const key = message.key?.toString('utf8') ?? null;
  if (grantId !== null && key !== grantId) {
    checks.push({ name: 'kafka-key', ok: false, detail: `the Kafka key is ${JSON.stringify(key)}, not the grant id ${grantId}: a message moved to another key` });
  }
  if (expected === 'grant' && report.kind === 'grant') {
    const grantChannel = (event.data as Grant).entitlement?.channel;
    if (grantChannel !== channel) {
      checks.push({ name: 'channel', ok: false, detail: `the grant is for channel ${JSON.stringify(grantChannel)}, and this adapter serves ${JSON.stringify(channel)}` });
    }
  }
  const failed = checks.filter((c) => !c.ok).map(({ name, detail }) => ({ name, detail }));
  if (failed.length > 0) return { kind: 'refused', grantId, failed };
  if (expected === 'amendment') return { kind: 'amendment', amendment: event.data as GrantAmendment };
  return expected === 'grant' ? { kind: 'grant', grant: event.data as Grant } : { kind: 'revocation', revocation: event.data as Revocation };
}
