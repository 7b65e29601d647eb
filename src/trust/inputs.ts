import { ed25519Jwk, verifyDetachedJws, type Jwks } from '../custody/index.js';
import type { Opened } from './internal.js';
import { ed25519PublicKey } from './signed.js';

/** A fulfillment adapter's key, registered for the one grant channel it serves (`trust.adapters`). */
export interface AdapterKeyConfig {
  readonly channel: string;
  readonly kid: string;
  readonly publicKeyPem: string;
}

/** An identity feed's key (`trust.identityFeeds`): its id is the `source` its events name, and the kid it signs with. */
export interface IdentityFeedConfig {
  readonly id: string;
  readonly publicKeyPem: string;
}

/** An opened fulfillment result, with the channel its signer is registered for. */
export type OpenedResult = Opened & { channel?: string };

function parse(text: string | null): { ok: true; value: Record<string, unknown> } | { ok: false } {
  if (text === null) return { ok: false };
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? { ok: true, value: value as Record<string, unknown> } : { ok: false };
  } catch {
    return { ok: false };
  }
}

function verify(value: Record<string, unknown>, jwks: Jwks, what: string): Opened {
  const signature = value.signature;
  if (typeof signature !== 'string') return { ok: false, reason: 'unsigned', detail: `${what} carries no signature` };
  const verdict = verifyDetachedJws(signature, value, jwks);
  if (verdict.result === 'valid') return { ok: true, value, kid: verdict.kid };
  if (verdict.result === 'unknown-kid') return { ok: false, reason: 'unknown-key', detail: `${what} is signed with kid "${verdict.kid}", which is not registered` };
  return { ok: false, reason: 'bad-signature', detail: `${what}: ${verdict.detail}` };
}

/**
 * The signed inputs from outside grantline: fulfillment results (`access.fulfillment.results.v1`)
 * signed by their adapter's own key, registered per channel, and offboardings
 * (`identity.lifecycle.v1`) signed by a registered identity feed or by grantline itself (its SCIM
 * endpoint signs with grantline's signing key). Detached JWS (EdDSA), as grantline signs grants.
 */
export class SignedInputs {
  private constructor(
    private readonly adapters: Jwks,
    private readonly channels: ReadonlyMap<string, string>,
    private readonly feeds: Jwks,
    private readonly grantline: Jwks,
  ) {}

  /** @throws Error naming the entry whose key is unusable. */
  static load(adapters: readonly AdapterKeyConfig[], feeds: readonly IdentityFeedConfig[], grantline: Jwks): SignedInputs {
    const channels = new Map<string, string>();
    const adapterJwks: Jwks = { keys: [] };
    for (const a of adapters) {
      if (channels.has(a.kid)) throw new Error(`adapter kid "${a.kid}" is registered more than once`);
      channels.set(a.kid, a.channel);
      adapterJwks.keys.push(ed25519Jwk(ed25519PublicKey(a.publicKeyPem, `adapter "${a.kid}"`), a.kid));
    }
    const feedJwks: Jwks = { keys: feeds.map((f) => ed25519Jwk(ed25519PublicKey(f.publicKeyPem, `identity feed "${f.id}"`), f.id)) };
    return new SignedInputs(adapterJwks, channels, feedJwks, grantline);
  }

  /** A fulfillment result, signed by a registered adapter; `channel` is the one its key serves. */
  fulfillment(text: string | null): OpenedResult {
    const parsed = parse(text);
    if (!parsed.ok) return { ok: false, reason: 'malformed', detail: 'value is not a JSON object' };
    const opened = verify(parsed.value, this.adapters, 'fulfillment result');
    if (!opened.ok) return opened;
    return { ...opened, channel: this.channels.get(opened.kid) as string };
  }

  /**
   * An identity lifecycle event, signed by a registered feed naming itself as `source`, or by
   * grantline's own key (its SCIM endpoint, `source: scim`).
   */
  identity(text: string | null): Opened {
    const parsed = parse(text);
    if (!parsed.ok) return { ok: false, reason: 'malformed', detail: 'value is not a JSON object' };
    const own = typeof parsed.value.signature === 'string' ? verify(parsed.value, this.grantline, 'identity event') : null;
    if (own?.ok) return own;
    const opened = verify(parsed.value, this.feeds, 'identity event');
    if (!opened.ok) return opened;
    if (parsed.value.source !== opened.kid) {
      return { ok: false, reason: 'not-authorized', detail: `identity feed "${opened.kid}" signed an event whose source is ${JSON.stringify(parsed.value.source)}` };
    }
    return opened;
  }
}
