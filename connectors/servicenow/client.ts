import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { NonRetriableError, SourceResponseError, SourceUnavailableError } from '../../src/connector/errors.js';
import { SOURCE_HTTP_DEFAULTS, statusError } from '../../src/connector/http.js';
import type { ServiceNowConfig } from './config.js';

/** Options of a Table API list read. */
export interface TableQuery {
  /** Encoded query (`field=value^field>=value^ORDERBYfield`). */
  readonly query: string;
  readonly fields?: readonly string[];
  readonly pageSize: number;
  /** Stop after this many pages; `truncated` then says so. */
  readonly maxPages?: number;
}

export interface TablePage {
  readonly records: readonly Record<string, unknown>[];
  /** True when `maxPages` stopped the read before the last page. */
  readonly truncated: boolean;
}

/** The `rel="next"` target of a `Link` header, or null. */
export function nextLink(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  for (const part of header.split(',')) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m !== null && /(?:^|;)\s*rel="?next"?\s*(?:;|$)/.test(m[2] ?? '')) return m[1] ?? null;
  }
  return null;
}

/**
 * Table API client. Talks to the configured instance URL only: no redirects are followed, links
 * inside records are never fetched, and a paging link to another origin stops the read.
 * Errors carry no credentials and no raw axios error (its config holds the auth header).
 */
export class ServiceNowClient {
  readonly #http: AxiosInstance;
  readonly #origin: string;
  readonly #authorization: () => string;

  constructor(config: Pick<ServiceNowConfig, 'instanceUrl' | 'auth' | 'timeoutMs'>) {
    this.#origin = new URL(config.instanceUrl).origin;
    const auth = config.auth;
    this.#authorization =
      auth.type === 'basic'
        ? () => `Basic ${Buffer.from(`${auth.username}:${auth.password.reveal()}`, 'utf8').toString('base64')}`
        : () => `Bearer ${auth.token.reveal()}`;
    // The connectors' HTTP defaults: no redirect followed, no proxy from the environment, status
    // and body judged here (an HTML 200 must not pass as data).
    this.#http = axios.create({ ...SOURCE_HTTP_DEFAULTS, baseURL: this.#origin, timeout: config.timeoutMs });
  }

  /** GET one record; null when the instance says it does not exist (404). */
  async getRecord(table: string, sysId: string, fields?: readonly string[]): Promise<Record<string, unknown> | null> {
    // Table API, retrieve a record: GET /api/now/table/{tableName}/{sys_id}
    // https://www.servicenow.com/docs/bundle/zurich-api-reference/page/integrate/inbound-rest/concept/c_TableAPI.html
    const res = await this.#send('GET', `/api/now/table/${enc(table)}/${enc(sysId)}`, { params: listParams(fields) }, true);
    if (res === null) return null;
    const result = this.#result(res, `${table}/${sysId}`);
    if (result === null || typeof result !== 'object' || Array.isArray(result)) {
      throw new SourceResponseError(`ServiceNow ${table} record answer has no result object`, { retriable: false });
    }
    return result as Record<string, unknown>;
  }

  /** GET a list, following `Link rel="next"` until the last page (or `maxPages`). */
  async list(table: string, q: TableQuery): Promise<TablePage> {
    // Table API, retrieve records: GET /api/now/table/{tableName}?sysparm_query=...&sysparm_limit=...
    // Paging: the Link header's rel="next" (absent on the last page), X-Total-Count.
    // https://www.servicenow.com/docs/bundle/zurich-api-reference/page/integrate/inbound-rest/concept/c_TableAPI.html
    const records: Record<string, unknown>[] = [];
    let path = `/api/now/table/${enc(table)}`;
    let params: Record<string, string> | undefined = {
      ...listParams(q.fields),
      sysparm_query: q.query,
      sysparm_limit: String(q.pageSize),
    };
    for (let page = 1; ; page++) {
      const res = await this.#send('GET', path, { params }, false);
      if (res === null) throw new NonRetriableError(`ServiceNow table ${table} not found`);
      const result = this.#result(res, table);
      if (!Array.isArray(result)) {
        throw new SourceResponseError(`ServiceNow ${table} list answer has no result array`, { retriable: false });
      }
      for (const r of result) {
        if (r === null || typeof r !== 'object') {
          throw new SourceResponseError(`ServiceNow ${table} list holds a non-record`, { retriable: false });
        }
        records.push(r as Record<string, unknown>);
      }
      const next = nextLink(res.headers['link']);
      if (next === null) return { records, truncated: false };
      if (q.maxPages !== undefined && page >= q.maxPages) return { records, truncated: true };
      let url: URL;
      try {
        url = new URL(next, this.#origin);
      } catch {
        throw new SourceResponseError(`ServiceNow ${table} paging link is not a URL`, { retriable: false });
      }
      if (url.origin !== this.#origin) {
        throw new SourceResponseError(`ServiceNow ${table} paging link points to another origin (${url.origin}); refusing to follow`, {
          retriable: false,
        });
      }
      path = `${url.pathname}${url.search}`;
      params = undefined;
    }
  }

  /** PATCH fields of one record; returns the updated record. */
  async patch(table: string, sysId: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    // Table API, update a record: PATCH /api/now/table/{tableName}/{sys_id}
    // https://www.servicenow.com/docs/bundle/zurich-api-reference/page/integrate/inbound-rest/concept/c_TableAPI.html
    const res = await this.#send('PATCH', `/api/now/table/${enc(table)}/${enc(sysId)}`, { data: body, params: listParams() }, true);
    if (res === null) throw new NonRetriableError(`ServiceNow ${table} record ${sysId} not found`);
    return asRecord(this.#result(res, table), table);
  }

  /** POST a new record; returns it. */
  async create(table: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    // Table API, create a record: POST /api/now/table/{tableName}
    // https://www.servicenow.com/docs/bundle/zurich-api-reference/page/integrate/inbound-rest/concept/c_TableAPI.html
    const res = await this.#send('POST', `/api/now/table/${enc(table)}`, { data: body, params: listParams() }, false);
    if (res === null) throw new NonRetriableError(`ServiceNow table ${table} not found`);
    return asRecord(this.#result(res, table), table);
  }

  async #send(
    method: 'GET' | 'PATCH' | 'POST',
    path: string,
    opts: { params?: Record<string, string> | undefined; data?: unknown },
    notFoundIsNull: boolean,
  ): Promise<AxiosResponse<string> | null> {
    let res: AxiosResponse<string>;
    try {
      res = await this.#http.request<string>({
        method,
        url: path,
        params: opts.params,
        data: opts.data === undefined ? undefined : JSON.stringify(opts.data),
        headers: {
          Accept: 'application/json',
          ...(opts.data === undefined ? {} : { 'Content-Type': 'application/json' }),
          Authorization: this.#authorization(),
        },
      });
    } catch (err) {
      // Deliberately not chained: an axios error's config carries the Authorization header.
      const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'ERROR';
      throw new SourceUnavailableError(`ServiceNow ${method} ${pathOnly(path)} failed: ${code}`);
    }
    const status = res.status;
    const where = `ServiceNow ${method} ${pathOnly(path)}`;
    if (status === 404 && notFoundIsNull && isJson(res)) return null;
    const otherClientError = status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 429;
    if ((status < 300 || otherClientError) && !isJson(res)) {
      throw new SourceResponseError(
        `${where} answered ${status} with Content-Type ${String(res.headers['content-type'] ?? 'none')}, not JSON (hibernating instance or login page?)`,
        { retriable: true },
      );
    }
    const error = statusError(where, status, res.headers, otherClientError ? errorMessage(res.data) : undefined);
    if (error !== null) throw error;
    return res;
  }

  #result(res: AxiosResponse<string>, what: string): unknown {
    let body: unknown;
    try {
      body = JSON.parse(res.data);
    } catch {
      throw new SourceResponseError(`ServiceNow ${what} answer is not valid JSON`, { retriable: true });
    }
    if (body === null || typeof body !== 'object' || !('result' in body)) {
      throw new SourceResponseError(`ServiceNow ${what} answer has no result`, { retriable: false });
    }
    return (body as { result: unknown }).result;
  }
}

function listParams(fields?: readonly string[]): Record<string, string> {
  const p: Record<string, string> = { sysparm_display_value: 'all', sysparm_exclude_reference_link: 'true' };
  if (fields !== undefined) p['sysparm_fields'] = fields.join(',');
  return p;
}

function isJson(res: AxiosResponse): boolean {
  const type = String(res.headers['content-type'] ?? '').toLowerCase();
  return /^application\/(?:[\w.+-]+\+)?json\b/.test(type);
}

function errorMessage(data: string): string {
  try {
    const body = JSON.parse(data) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') return body.error.message.slice(0, 200);
  } catch {
    // fall through
  }
  return 'no error message';
}

function asRecord(result: unknown, table: string): Record<string, unknown> {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    throw new SourceResponseError(`ServiceNow ${table} answer has no result object`, { retriable: false });
  }
  return result as Record<string, unknown>;
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function pathOnly(path: string): string {
  return path.split('?')[0] ?? path;
}
