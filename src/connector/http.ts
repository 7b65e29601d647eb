import type { CreateAxiosDefaults } from 'axios';
import { NonRetriableError, SourceRateLimitedError, SourceUnavailableError, type GrantlineError } from './errors.js';

/**
 * How every connector talks HTTP to its source, and what an answer's status means. One rule for all
 * sources: which failures are worth a retry, how long `Retry-After` says to wait, that a redirect is
 * never followed (and never retried), and that no proxy from the environment sees the credentials.
 */

/** How long to wait after a 429 that says nothing about when to come back. */
export const DEFAULT_RETRY_AFTER_MS = 60_000;

/**
 * axios options every connector client starts from:
 * - `maxRedirects: 0`: a 3xx is an answer, its `Location` never requested (a login page or SSO in
 *   front of the source; following it would send the credentials, or take its answer as data);
 * - `proxy: false`: `HTTP_PROXY` / `HTTPS_PROXY` from the environment are ignored, so no proxy
 *   nobody configured for grantline sees the Authorization header;
 * - statuses are judged by `statusError`, bodies by the connector: `validateStatus` accepts all and
 *   the body stays text.
 */
export const SOURCE_HTTP_DEFAULTS = {
  adapter: 'http',
  maxRedirects: 0,
  proxy: false,
  validateStatus: () => true,
  responseType: 'text',
  transformResponse: [(data: unknown) => data],
} as const satisfies CreateAxiosDefaults;

/**
 * The wait an answer asks for, in milliseconds: `Retry-After` as seconds or as an HTTP date
 * (RFC 9110 §10.2.3), else `X-RateLimit-Reset` as UNIX seconds (ServiceNow); undefined when neither
 * says. Header names are lower-case (as axios gives them).
 */
export function retryAfterMs(headers: Readonly<Record<string, unknown>>, now: number = Date.now()): number | undefined {
  const retryAfter = headers['retry-after'];
  if (typeof retryAfter === 'string' && retryAfter.trim() !== '') {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = Number(headers['x-ratelimit-reset']);
  if (Number.isFinite(reset) && reset > 0) return Math.max(1000, Math.ceil(reset * 1000 - now));
  return undefined;
}

/**
 * The error an HTTP status means, or null for a 2xx. `label` names the call and the source
 * (`get issue: Jira`); `detail` is the source's own error text, added for other 4xx answers.
 * - 429: rate limited, retry after `Retry-After` (default a minute);
 * - 5xx: unavailable, retry (after `Retry-After` when given);
 * - 401, 403: the configured credentials are refused, not retriable;
 * - 3xx: a redirect, never followed and not retriable (it will redirect again);
 * - any other status: not retriable.
 */
export function statusError(label: string, status: number, headers: Readonly<Record<string, unknown>>, detail?: string): GrantlineError | null {
  if (status >= 200 && status < 300) return null;
  if (status === 429) return new SourceRateLimitedError(`${label} rate limited (429)`, { retryAfterMs: retryAfterMs(headers) ?? DEFAULT_RETRY_AFTER_MS });
  if (status >= 500) {
    const wait = retryAfterMs(headers);
    return new SourceUnavailableError(`${label} answered ${status}`, wait === undefined ? {} : { retryAfterMs: wait });
  }
  if (status === 401 || status === 403) return new NonRetriableError(`${label} refused the configured credentials (${status})`);
  if (status >= 300 && status < 400) return new NonRetriableError(`${label} answered a redirect (${status}); redirects are not followed`);
  return new NonRetriableError(`${label} answered ${status}${detail === undefined ? '' : `: ${detail}`}`);
}
