import axios, { type AxiosResponse } from 'axios';
import { GrantlineError } from '../connector/errors.js';
import type { Secret } from '../connector/secret.js';

/** OAuth 2.0 client credentials for SASL/OAUTHBEARER (`kafka.sasl` with `mechanism: oauthbearer`). */
export type OAuthClientCredentials = {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: Secret;
  scope?: string | undefined;
  /** HTTP Basic (RFC 6749 2.3.1, the default every server must support) or the form body. */
  clientAuth: 'basic' | 'post';
  /** SASL extensions sent with every token (RFC 7628 3.1). */
  extensions?: Record<string, string> | undefined;
};

/** What kafkajs's `oauthBearerProvider` returns. */
export type OAuthBearerToken = { value: string; extensions?: Record<string, string> };

/**
 * No token could be had from the token endpoint. `retriable` is false when the endpoint refused
 * the client (4xx: wrong id or secret, unknown scope) and true when it was down or answered 5xx.
 * The message names the endpoint and the OAuth `error` code, never the secret or the token.
 */
export class OAuthTokenError extends GrantlineError {
  readonly status: number | undefined;
  constructor(message: string, options: { retriable: boolean; status?: number }) {
    super(message, { retriable: options.retriable });
    this.status = options.status;
  }
}

/** Options of `createOAuthTokenSource`; the clock is a parameter so tests need not wait. */
export type OAuthTokenSourceOptions = {
  now?: () => number;
  /** Per request to the token endpoint. */
  timeoutMs?: number;
};

/** Hands out a cached access token, fetching a new one as the old one nears expiry. */
export interface OAuthTokenSource {
  token(): Promise<OAuthBearerToken>;
}

type Cached = { value: string; refreshAt: number; expiresAt: number };

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * When to fetch again: once less than a fifth of the token's lifetime is left, but at least a
 * minute before expiry (half the lifetime for tokens shorter than two minutes), so a token handed
 * to kafkajs always outlives the authentication it is used for.
 */
export function refreshMarginMs(lifetimeMs: number): number {
  return Math.max(lifetimeMs * 0.2, Math.min(60_000, lifetimeMs * 0.5));
}

// application/x-www-form-urlencoded, as RFC 6749 2.3.1 wants for Basic credentials.
const formEncode = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');

/** The `exp` claim of a JWT access token, in ms, when the token is one. */
function jwtExpiryMs(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function describeRefusal(response: AxiosResponse<unknown>): string {
  const body = response.data as { error?: unknown } | null;
  // Only the RFC 6749 5.2 error code, in its own alphabet: the description is free text.
  const code = body !== null && typeof body === 'object' && typeof body.error === 'string' && /^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$/.test(body.error) ? ` ${body.error}` : '';
  return `HTTP ${response.status}${code}`;
}

/**
 * A token source for kafkajs's `oauthBearerProvider`, which kafkajs calls on every connection
 * and re-authentication. One token is shared by all of them and fetched again (once, however many
 * connections ask at the same moment) when `refreshMarginMs` of its lifetime is left; if that
 * fetch fails, the old token is used until it expires. A token without `expires_in` or a JWT `exp`
 * is not cached.
 */
export function createOAuthTokenSource(credentials: OAuthClientCredentials, options: OAuthTokenSourceOptions = {}): OAuthTokenSource {
  const now = options.now ?? Date.now;
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const where = `OAuth token endpoint ${new URL(credentials.tokenEndpoint).origin}${new URL(credentials.tokenEndpoint).pathname}`;
  let cached: Cached | undefined;
  let inFlight: Promise<Cached> | undefined;

  const fetchToken = async (): Promise<Cached> => {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (credentials.scope !== undefined) form.set('scope', credentials.scope);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (credentials.clientAuth === 'basic') {
      const pair = `${formEncode(credentials.clientId)}:${formEncode(credentials.clientSecret.reveal())}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      form.set('client_id', credentials.clientId);
      form.set('client_secret', credentials.clientSecret.reveal());
    }
    const requestedAt = now();
    let response: AxiosResponse<unknown>;
    try {
      response = await axios.post(credentials.tokenEndpoint, form.toString(), {
        headers,
        timeout,
        maxRedirects: 0,
        responseType: 'json',
        // Judged below: a 4xx is an answer, not an exception.
        validateStatus: () => true,
      });
    } catch (err) {
      // Not chained: an axios error's config holds the Authorization header or the form with the secret.
      const code = (err as { code?: unknown }).code;
      throw new OAuthTokenError(`${where}: no answer (${typeof code === 'string' ? code : 'request failed'})`, { retriable: true });
    }
    if (response.status !== 200) {
      throw new OAuthTokenError(`${where}: ${describeRefusal(response)}`, { retriable: response.status >= 500 || response.status === 429, status: response.status });
    }
    const body = response.data as { access_token?: unknown; token_type?: unknown; expires_in?: unknown } | null;
    const value = body !== null && typeof body === 'object' ? body.access_token : undefined;
    if (typeof value !== 'string' || value === '') {
      throw new OAuthTokenError(`${where}: the answer holds no access_token`, { retriable: false, status: response.status });
    }
    if (typeof body?.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
      throw new OAuthTokenError(`${where}: token_type is "${body.token_type.slice(0, 32)}", expected Bearer`, { retriable: false, status: response.status });
    }
    const expiresIn = Number(body?.expires_in);
    // The lifetime counts from when the request was sent: the token was issued after that.
    const expiresAt = Number.isFinite(expiresIn) && expiresIn > 0 ? requestedAt + expiresIn * 1000 : (jwtExpiryMs(value) ?? requestedAt);
    const lifetime = Math.max(0, expiresAt - requestedAt);
    return { value, expiresAt, refreshAt: expiresAt - refreshMarginMs(lifetime) };
  };

  return {
    async token(): Promise<OAuthBearerToken> {
      if (cached === undefined || now() >= cached.refreshAt) {
        inFlight ??= fetchToken().finally(() => {
          inFlight = undefined;
        });
        try {
          cached = await inFlight;
        } catch (err) {
          // A refresh that fails early is no reason to fail while the current token still holds.
          if (cached === undefined || now() >= cached.expiresAt) throw err;
        }
      }
      return credentials.extensions === undefined ? { value: cached.value } : { value: cached.value, extensions: { ...credentials.extensions } };
    },
  };
}
