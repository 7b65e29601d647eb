import type { AuthenticationProviderArgs, Authenticator, Mechanism } from 'kafkajs';
import { GrantlineError } from '../connector/errors.js';
import type { OAuthTokenSource } from './oauth.js';

/**
 * The broker refused the OAuth token (wrong issuer, audience or scope, expired, bad signature).
 * Retrying with the same token cannot help. `status` is the RFC 7628 error status the broker sent
 * (`invalid_token`), never the token.
 */
export class OAuthBearerRefusedError extends GrantlineError {
  readonly status: string | undefined;
  constructor(status: string | undefined) {
    super(`SASL OAUTHBEARER authentication failed: the broker refused the token${status === undefined ? '' : ` (${status})`}`, { retriable: false });
    this.status = status;
  }
}

const SOH = '\u0001';

/** SASL/Kafka BYTES: a 4-byte big-endian length, then the bytes (what kafkajs's authenticators send). */
function lengthPrefixed(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** The server's message, without its length prefix; empty on success (RFC 7628 3.2.2). */
function serverMessage(raw: Buffer | undefined): string {
  if (raw === undefined || raw.length <= 4) return '';
  return raw.subarray(4).toString('utf8');
}

function statusOf(message: string): string | undefined {
  try {
    const status = (JSON.parse(message) as { status?: unknown }).status;
    return typeof status === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(status) ? status : undefined;
  } catch {
    return undefined;
  }
}

/**
 * SASL/OAUTHBEARER (RFC 7628) for kafkajs, in place of its built-in one. A broker that refuses the
 * token answers with an error challenge (`{"status":"invalid_token"}`) and no error code; kafkajs
 * 2.2.4 takes that for success, and the broker then drops the connection, so a refused token looks
 * like "No brokers in the broker pool". Here the challenge is read, the exchange finished as the
 * RFC says (the client answers %x01) and `OAuthBearerRefusedError` thrown.
 */
export function oauthBearerMechanism(source: OAuthTokenSource): Mechanism {
  return {
    mechanism: 'oauthbearer',
    authenticationProvider: ({ saslAuthenticate }: AuthenticationProviderArgs): Authenticator => ({
      authenticate: async () => {
        const token = await source.token();
        const extensions = Object.entries(token.extensions ?? {}).map(([key, value]) => `${SOH}${key}=${value}`).join('');
        // gs2-header "n,," (no channel binding, no authzid), then the key-value pairs (RFC 7628 3.1).
        const initial = `n,,${SOH}auth=Bearer ${token.value}${extensions}${SOH}${SOH}`;
        const raw = (await saslAuthenticate<Buffer>({
          request: { encode: () => lengthPrefixed(initial) },
          response: { decode: (data) => data, parse: (data) => data },
        })) as Buffer | undefined;
        const challenge = serverMessage(raw);
        if (challenge === '') return;
        // The broker fails the exchange once the client acknowledges the error; its answer adds nothing.
        await saslAuthenticate({ request: { encode: () => lengthPrefixed(SOH) } }).catch(() => undefined);
        throw new OAuthBearerRefusedError(statusOf(challenge));
      },
    }),
  };
}
