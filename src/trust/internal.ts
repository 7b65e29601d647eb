import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { canonicalJson } from '../custody/canonical.js';
import type { Secret } from '../connector/secret.js';

/**
 * Message authentication of grantline's internal topics (commands, ticket state, write-back
 * tasks, poller watermarks, the SCIM directory): an HMAC-SHA256 with a key only grantline holds,
 * carried in the `grantline-mac` header as `v1.<kid>.<base64url MAC>`. The MAC covers the RFC 8785
 * canonical JSON of `{ topic, key, value }` (the value parsed as JSON), so it fails when the
 * content changes, and when a genuine sealed value is replayed under another key (another
 * ticket) or on another topic. Pure: no I/O.
 */
export const MAC_HEADER = 'grantline-mac';

/** Domain separation: these MACs never verify as any other HMAC made with the same key. */
const DOMAIN = 'grantline.internal-mac.v1\n';
const VERSION = 'v1';
/** Kids appear in the header, separated by dots; so they hold no dot-free separator ambiguity. */
export const INTERNAL_KID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** Fewer bytes than SHA-256's output would weaken HMAC-SHA256 (RFC 2104 section 3). */
export const MIN_INTERNAL_KEY_BYTES = 32;

/**
 * Why a message was refused; stable codes, used as the metric's `reason` label. `out-of-scope`:
 * authentic, but a write-back task naming a ticket its connector is not configured for.
 */
export type RefusalReason = 'unsealed' | 'unknown-key' | 'bad-mac' | 'malformed' | 'unsigned' | 'bad-signature' | 'not-authorized' | 'out-of-scope';

/** The outcome of opening a message: its parsed JSON value, or why it may not be acted on. */
export type Opened = { ok: true; value: unknown; kid: string } | { ok: false; reason: RefusalReason; detail: string };

/** What a reader has of a message: the bytes, as the Kafka layer gives them. */
export interface MessageBytes {
  readonly key: Buffer | string | null | undefined;
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, unknown>> | undefined;
}

/** A message about to be written, as the producer takes it. */
export interface OutboundMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export interface InternalKeysInput {
  readonly activeKid: string;
  readonly keys: readonly { kid: string; secret: string | Secret }[];
}

/**
 * Decodes a configured secret: base64 or base64url of at least 32 random bytes (what
 * `grantline keygen --internal` writes). Returns null for anything else, never saying why in a
 * way that quotes the value.
 */
export function decodeInternalSecret(text: string): Buffer | null {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return null;
  const bytes = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return bytes.length >= MIN_INTERNAL_KEY_BYTES ? bytes : null;
}

function text(value: Buffer | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : value.toString('utf8');
}

function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return value.length === 1 ? headerText(value[0]) : undefined;
  return undefined;
}

/**
 * The internal keys: the active one seals, every configured one verifies, so a key is rotated by
 * adding the new one, making it active once every process has it, and removing the old one once
 * no message it sealed is still read (compacted topics keep old records: reseal or wait).
 * Printing a keyring shows kids only.
 */
export class InternalKeyring {
  readonly #activeKid: string;
  /**
   * As KeyObjects, made once: `createHmac` given a Buffer prepares a key object on every call (its
   * KeyObject check throws and catches internally), about 2% of grantline's CPU in the bench
   * profile with a seal or an open per internal message (issue 16).
   */
  readonly #keys: ReadonlyMap<string, KeyObject>;

  private constructor(activeKid: string, keys: ReadonlyMap<string, Buffer>) {
    this.#activeKid = activeKid;
    this.#keys = new Map([...keys].map(([kid, bytes]) => [kid, createSecretKey(bytes)]));
  }

  /** @throws Error naming the bad kid (never a secret) when a key is unusable or the active one is missing. */
  static load(input: InternalKeysInput): InternalKeyring {
    const keys = new Map<string, Buffer>();
    for (const { kid, secret } of input.keys) {
      if (!INTERNAL_KID.test(kid)) throw new Error(`internal key kid "${kid}" must be 1-64 letters, digits, "_" or "-"`);
      if (keys.has(kid)) throw new Error(`internal key kid "${kid}" is configured more than once`);
      const bytes = decodeInternalSecret(typeof secret === 'string' ? secret : secret.reveal());
      if (bytes === null) throw new Error(`internal key "${kid}": secret is not base64 of at least ${MIN_INTERNAL_KEY_BYTES} bytes (use grantline keygen --internal)`);
      keys.set(kid, bytes);
    }
    if (!keys.has(input.activeKid)) throw new Error(`internal activeKid "${input.activeKid}" is not among the configured keys (${[...keys.keys()].join(', ') || 'none'})`);
    return new InternalKeyring(input.activeKid, keys);
  }

  get activeKid(): string {
    return this.#activeKid;
  }

  get kids(): string[] {
    return [...this.#keys.keys()];
  }

  /**
   * The header value that seals a message: written by grantline only, on its internal topics.
   * @throws Error when the value is not JSON (grantline writes only JSON there: a bug).
   */
  seal(topic: string, key: Buffer | string | null | undefined, value: Buffer | string | null): string {
    const body = text(value);
    const parsed: unknown = body === null ? null : JSON.parse(body);
    const secret = this.#keys.get(this.#activeKid) as KeyObject;
    return `${VERSION}.${this.#activeKid}.${mac(secret, topic, text(key), parsed).toString('base64url')}`;
  }

  /** A copy of an outbound message with its `grantline-mac` header set. */
  sealMessage<M extends OutboundMessage>(topic: string, message: M): M {
    return { ...message, headers: { ...message.headers, [MAC_HEADER]: this.seal(topic, message.key, message.value) } };
  }

  /**
   * Verifies a message read from `topic` and returns its parsed value. Refused: no MAC, a kid
   * not configured (or retired), a value that is not JSON, or a MAC that does not match the
   * topic, key and canonical value.
   */
  open(topic: string, message: MessageBytes): Opened {
    const header = headerText(message.headers?.[MAC_HEADER]);
    if (header === undefined) return { ok: false, reason: 'unsealed', detail: `no ${MAC_HEADER} header` };
    const parts = header.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION || !INTERNAL_KID.test(parts[1] ?? '') || !/^[A-Za-z0-9_-]{43}$/.test(parts[2] ?? '')) {
      return { ok: false, reason: 'bad-mac', detail: `${MAC_HEADER} header is not v1.<kid>.<mac>` };
    }
    const kid = parts[1] as string;
    const secret = this.#keys.get(kid);
    if (secret === undefined) return { ok: false, reason: 'unknown-key', detail: `sealed with kid "${kid}", which is not a configured internal key` };
    const body = text(message.value);
    let parsed: unknown = null;
    if (body !== null) {
      try {
        parsed = JSON.parse(body);
      } catch {
        return { ok: false, reason: 'malformed', detail: 'value is not JSON' };
      }
    }
    let expected: Buffer;
    try {
      expected = mac(secret, topic, text(message.key), parsed);
    } catch {
      return { ok: false, reason: 'malformed', detail: 'value has no canonical JSON form' };
    }
    const given = Buffer.from(parts[2] as string, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'bad-mac', detail: `MAC (kid "${kid}") does not match this topic, key and value` };
    }
    return { ok: true, value: parsed, kid };
  }

  toJSON(): { activeKid: string; kids: string[] } {
    return { activeKid: this.#activeKid, kids: this.kids };
  }

  [inspect.custom](): string {
    return `InternalKeyring(active=${this.#activeKid}, kids=[${this.kids.join(', ')}])`;
  }
}

function mac(secret: KeyObject, topic: string, key: string | null, value: unknown): Buffer {
  return createHmac('sha256', secret)
    .update(DOMAIN + canonicalJson({ topic, key, value }))
    .digest();
}

/**
 * Seals what a producer writes to the given topics and leaves other topics alone: the one hook
 * through which every grantline producer passes its messages.
 */
export function internalSealer(keyring: InternalKeyring, topics: Iterable<string>): <M extends OutboundMessage>(topic: string, message: M) => M {
  const internal = new Set(topics);
  return (topic, message) => (internal.has(topic) ? keyring.sealMessage(topic, message) : message);
}
