import axios from 'axios';
import type { Client, SendRequestOptions } from 'jira.js/core';
import { GrantlineError, NonRetriableError, SourceResponseError, SourceUnavailableError } from '../../src/connector/errors.js';
import { SOURCE_HTTP_DEFAULTS, statusError } from '../../src/connector/http.js';
import type { JiraConfig } from './config.js';

/** How long one request (connect, headers and body) may take before it counts as unavailable. */
export const REQUEST_TIMEOUT_MS = 15_000;

/**
 * What a failed request left behind: the status and `Retry-After` of an answer, or why there was
 * none. Never the request itself: an axios error carries its config, Authorization header included.
 */
class JiraHttpFailure extends Error {
  constructor(
    readonly failure:
      | { kind: 'status'; status: number; headers: Record<string, unknown> }
      | { kind: 'network'; code: string }
      | { kind: 'timeout'; ms: number }
      | { kind: 'not-json'; status: number },
  ) {
    super(`Jira request failed (${failure.kind})`);
    this.name = 'JiraHttpFailure';
  }
}

/**
 * The one way this connector talks to Jira: a jira.js `Client` (the factories in `jira.js/cloud`
 * and `jira.js/serviceDesk` build the paths and parameters, then call `sendRequest`), also used
 * directly for the Data Center v2 calls (`datacenter.ts`).
 *
 * Why our own transport and not jira.js 6's: its `createClient` calls `fetch(fullUrl, init)` with
 * neither `redirect` nor `signal` (dist/core/createClient.js, `doRequest`), and its config has no
 * option for either (dist/core/schemas/clientConfig.d.ts: host, auth, headers, getAuthOn401, retry,
 * onSchemaMismatch). fetch follows up to 20 redirects by default: tried against a local server, a
 * 302 to another origin was requested there (without Authorization) and that server's answer came
 * back as the issue; a 302 on the same origin was re-sent with the Authorization header. A request
 * without a signal can also hang forever. `createClient` hands back any object with a
 * `sendRequest` untouched (`isClient`), so the factories take this one:
 * - only `baseUrl` + the path jira.js or we built; a path that would leave it is refused unsent;
 * - axios with the connectors' HTTP defaults (`src/connector/http.ts`): no redirect followed, its
 *   `Location` never requested; no proxy from the environment sees the credentials;
 * - one deadline per request (`AbortSignal.timeout`) covering connect, headers and body;
 * - failures become `JiraHttpFailure`, mapped by `call` to our error classes (`statusError`).
 *
 * The `schema` jira.js passes is not applied: answers are checked once, by the lenient schemas in
 * vendor.ts, which also read the Data Center v2 shapes jira.js has no schemas for.
 */
export function createJiraTransport(config: Pick<JiraConfig, 'baseUrl' | 'auth'>, timeoutMs: number = REQUEST_TIMEOUT_MS): Client {
  const base = new URL(config.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const auth = config.auth;
  // Revealed per request, as the ServiceNow client does, so no object holds the plain secret.
  const authorization = (): string =>
    auth.kind === 'bearer'
      ? `Bearer ${auth.token.reveal()}`
      : `Basic ${Buffer.from(auth.kind === 'basic' ? `${auth.email}:${auth.apiToken.reveal()}` : `${auth.username}:${auth.password.reveal()}`, 'utf8').toString('base64')}`;

  return {
    async sendRequest<T>(options: SendRequestOptions<T>): Promise<T> {
      const url = targetUrl(base, basePath, options.url);
      const query = searchParams(options.searchParams);
      url.search = query.toString();
      const signal = AbortSignal.timeout(timeoutMs);
      let status: number;
      let headers: Record<string, unknown>;
      let text: string;
      try {
        const res = await axios.request<string>({
          ...SOURCE_HTTP_DEFAULTS,
          method: options.method ?? 'GET',
          url: url.href,
          headers: {
            ...options.headers,
            Accept: 'application/json',
            ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
            Authorization: authorization(),
          },
          data: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal,
        });
        status = res.status;
        headers = res.headers;
        text = typeof res.data === 'string' ? res.data : '';
      } catch (error) {
        if (signal.aborted) throw new JiraHttpFailure({ kind: 'timeout', ms: timeoutMs });
        const code = (error as { code?: unknown } | null)?.code;
        throw new JiraHttpFailure({ kind: 'network', code: typeof code === 'string' ? code : 'ERROR' });
      }
      if (status < 200 || status >= 300) {
        throw new JiraHttpFailure({ kind: 'status', status, headers });
      }
      if (text.trim() === '') return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        // An HTML login page or a hibernating proxy answers 200 with something that is not the resource.
        throw new JiraHttpFailure({ kind: 'not-json', status });
      }
    },
  };
}

/**
 * `baseUrl` + `path`, refused unless the result is exactly that: same origin, the path unchanged by
 * URL normalisation (no `..`, no `?` or `#` smuggled in through an interpolated id).
 */
function targetUrl(base: URL, basePath: string, path: string): URL {
  const wanted = `${basePath}${path.startsWith('/') ? path : `/${path}`}`;
  let url: URL;
  try {
    url = new URL(wanted, base.origin);
  } catch {
    throw new NonRetriableError('Jira request path is not a URL path');
  }
  if (url.origin !== base.origin || url.pathname !== wanted || url.search !== '' || url.hash !== '') {
    throw new NonRetriableError('Jira request path leaves the configured base URL; not sent');
  }
  return url;
}

/** Query parameters the way jira.js serialises them: absent values dropped, arrays repeated. */
function searchParams(params: Record<string, unknown> | undefined): URLSearchParams {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) continue;
      query.append(key, typeof item === 'object' ? JSON.stringify(item) : String(item));
    }
  }
  return query;
}

/**
 * Runs one call and maps what can go wrong to our error classes, with a message that names the
 * operation and the status. Nothing is chained: the message is all a log or the DLQ needs.
 */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw mapError(what, error);
  }
}

function mapError(what: string, error: unknown): Error {
  if (!(error instanceof JiraHttpFailure)) {
    // Ours already (a refused path); anything else is a fault of the call itself, said without its text.
    return error instanceof GrantlineError ? error : new SourceUnavailableError(`${what}: Jira call failed (${error instanceof Error ? error.name : typeof error})`);
  }
  const f = error.failure;
  if (f.kind === 'timeout') return new SourceUnavailableError(`${what}: Jira did not answer within ${f.ms} ms`);
  if (f.kind === 'network') return new SourceUnavailableError(`${what}: Jira unreachable (${f.code})`);
  if (f.kind === 'not-json') return new SourceResponseError(`${what}: Jira answered ${f.status} with something that is not JSON`, { retriable: false });
  return statusError(`${what}: Jira`, f.status, f.headers) ?? new SourceResponseError(`${what}: Jira answered ${f.status}`, { retriable: false });
}
