/**
 * A local, stateful ServiceNow Table API stub in the documented shapes: reference fields as
 * `{link, value}`, `sysparm_display_value=all` as `{display_value, value}`, numbers and booleans as
 * strings, times as `YYYY-MM-DD HH:MM:SS` (UTC). It pages with `sysparm_limit`/`sysparm_offset`,
 * `Link` rel=next and `X-Total-Count`, can answer 429 with `Retry-After` and `X-RateLimit-*`, and can
 * hibernate (every answer a `200 text/html` page). Used by connector tests, the pipeline's
 * end-to-end tests, the quick start and the benchmarks, so it does no per-request logging.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A stored record: every value a string (as the instance keeps them); references hold a sys_id. */
export type StubRecord = Record<string, string>;

/** One request the stub received. */
export interface StubRequest {
  readonly method: string;
  readonly url: string;
  readonly host: string;
}

/** A failure to inject into the next request(s). */
export type StubFailure =
  | { readonly kind: 'rate-limit'; readonly retryAfterSeconds?: number; readonly resetInSeconds?: number; readonly omitRetryAfter?: boolean }
  | { readonly kind: 'server-error'; readonly status?: number }
  | { readonly kind: 'html' }
  | { readonly kind: 'unauthorized' }
  | { readonly kind: 'redirect'; readonly location?: string }
  | { readonly kind: 'reset' };

/** Reference fields per table, and the table they point to. */
const REFERENCES: Record<string, Record<string, string>> = {
  sc_request: { requested_for: 'sys_user', opened_by: 'sys_user' },
  sc_req_item: { request: 'sc_request', cat_item: 'sc_cat_item', requested_for: 'sys_user', opened_by: 'sys_user', assignment_group: 'sys_user_group' },
  sc_item_option_mtom: { request_item: 'sc_req_item', sc_item_option: 'sc_item_option' },
  sc_item_option: { item_option_new: 'item_option_new' },
  sysapproval_approver: { sysapproval: 'sc_req_item', document_id: 'sc_req_item', approver: 'sys_user', group: 'sysapproval_group' },
  sys_user: { manager: 'sys_user' },
  sc_task: { request_item: 'sc_req_item', parent: 'sc_req_item', assignment_group: 'sys_user_group' },
  incident: { parent: 'sc_req_item', assignment_group: 'sys_user_group', caller_id: 'sys_user' },
};
const DISPLAY_FIELD: Record<string, string> = {
  sc_request: 'number',
  sc_req_item: 'number',
  sc_task: 'number',
  incident: 'number',
  sys_user: 'name',
  sc_cat_item: 'name',
  item_option_new: 'name',
  sc_item_option: 'value',
  sys_user_group: 'name',
  sysapproval_group: 'name',
};
const CHOICES: Record<string, Record<string, Record<string, string>>> = {
  sc_req_item: {
    state: { '-5': 'Pending', '1': 'Open', '2': 'Work in Progress', '3': 'Closed Complete', '4': 'Closed Incomplete', '7': 'Closed Skipped' },
    approval: { 'not requested': 'Not Yet Requested', requested: 'Requested', approved: 'Approved', rejected: 'Rejected' },
  },
  sc_task: { state: { '-5': 'Pending', '1': 'Open', '2': 'Work in Progress', '3': 'Closed Complete', '4': 'Closed Incomplete', '7': 'Closed Skipped' } },
  incident: { state: { '1': 'New', '2': 'In Progress', '3': 'On Hold', '6': 'Resolved', '7': 'Closed', '8': 'Canceled' } },
  sysapproval_approver: {
    state: { requested: 'Requested', approved: 'Approved', rejected: 'Rejected', cancelled: 'No Longer Required', not_required: 'Not Required', 'not requested': 'Not Yet Requested' },
  },
};
const NUMBER_PREFIX: Record<string, string> = { sc_request: 'REQ', sc_req_item: 'RITM', sc_task: 'SCTASK', incident: 'INC' };
const KNOWN_TABLES = [
  ...new Set([...Object.keys(REFERENCES), ...Object.keys(DISPLAY_FIELD), 'sys_journal_field', 'sys_audit', 'sc_cat_item']),
];
const HIBERNATION_PAGE =
  '<!DOCTYPE html><html><head><title>Instance Hibernating page</title></head><body><h1>Your instance is hibernating</h1><p>Sign in to wake it up.</p></body></html>';

/** The Table API's UTC `YYYY-MM-DD HH:MM:SS`. */
export function snTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

export function newSysId(): string {
  return randomBytes(16).toString('hex');
}

/** The stub's data and the helpers that seed and change it the way an instance would. */
export class ServiceNowStubState {
  readonly tables = new Map<string, Map<string, StubRecord>>();
  /** Clock used for `sys_created_on`/`sys_updated_on`; tests may replace it. */
  now: () => Date = () => new Date();
  /** Origin written into `Link` headers and reference links (defaults to the stub's own). */
  linkBaseUrl = '';
  #counters = new Map<string, number>();

  constructor() {
    for (const t of KNOWN_TABLES) this.tables.set(t, new Map());
  }

  table(name: string): Map<string, StubRecord> {
    let t = this.tables.get(name);
    if (t === undefined) {
      t = new Map();
      this.tables.set(name, t);
    }
    return t;
  }

  get(table: string, sysId: string): StubRecord | undefined {
    return this.tables.get(table)?.get(sysId);
  }

  /** Inserts a record as given, filling sys_id, number and system times when absent. */
  insert(table: string, fields: Record<string, string | number | boolean>, by = 'admin'): StubRecord {
    const now = snTime(this.now());
    const record: StubRecord = { sys_created_on: now, sys_updated_on: now, sys_created_by: by, sys_updated_by: by, sys_mod_count: '0' };
    for (const [k, v] of Object.entries(fields)) record[k] = String(v);
    record['sys_id'] ??= newSysId();
    const prefix = NUMBER_PREFIX[table];
    if (prefix !== undefined && record['number'] === undefined) {
      const n = (this.#counters.get(table) ?? 10000) + 1;
      this.#counters.set(table, n);
      record['number'] = `${prefix}${String(n).padStart(7, '0')}`;
    }
    this.table(table).set(record['sys_id'], record);
    return record;
  }

  /** Updates fields as an instance would: bumps sys_updated_on and sys_mod_count; journal fields become journal entries. */
  update(table: string, sysId: string, fields: Record<string, unknown>, by = 'admin'): StubRecord | undefined {
    const record = this.get(table, sysId);
    if (record === undefined) return undefined;
    for (const [k, v] of Object.entries(fields)) {
      if (k === 'work_notes' || k === 'comments') {
        if (typeof v === 'string' && v !== '') this.addJournal(table, sysId, k, v, by);
        continue;
      }
      if (k === 'sys_id') continue;
      record[k] = v === null || v === undefined ? '' : String(v);
    }
    record['sys_updated_on'] = snTime(this.now());
    record['sys_updated_by'] = by;
    record['sys_mod_count'] = String(Number(record['sys_mod_count'] ?? '0') + 1);
    return record;
  }

  addJournal(table: string, sysId: string, element: 'work_notes' | 'comments', value: string, by = 'admin'): StubRecord {
    return this.insert('sys_journal_field', { element_id: sysId, element, name: table, value }, by);
  }

  addUser(u: { user_name: string; name?: string; email?: string; active?: boolean; sys_id?: string; manager?: string }): StubRecord {
    return this.insert('sys_user', {
      user_name: u.user_name,
      name: u.name ?? u.user_name,
      email: u.email ?? `${u.user_name}@example.com`,
      active: u.active ?? true,
      manager: u.manager ?? '',
      ...(u.sys_id === undefined ? {} : { sys_id: u.sys_id }),
    });
  }

  addCatalogItem(name: string, sysId?: string): StubRecord {
    return this.insert('sc_cat_item', { name, active: true, ...(sysId === undefined ? {} : { sys_id: sysId }) });
  }

  /**
   * Orders a catalog item: an `sc_request`, the RITM, and one `sc_item_option` (+ `_mtom` link)
   * per variable, as the Service Catalog does.
   */
  createRequestedItem(r: {
    catItem: string;
    openedBy: string;
    requestedFor?: string;
    variables?: Record<string, string>;
    shortDescription?: string;
    description?: string;
    state?: string;
    sysId?: string;
    number?: string;
  }): StubRecord {
    const requestedFor = r.requestedFor ?? r.openedBy;
    const request = this.insert('sc_request', { requested_for: requestedFor, opened_by: r.openedBy, state: '1' });
    const ritm = this.insert('sc_req_item', {
      request: request['sys_id'] ?? '',
      cat_item: r.catItem,
      requested_for: requestedFor,
      opened_by: r.openedBy,
      state: r.state ?? '1',
      stage: 'requested',
      approval: 'requested',
      active: r.state === undefined || !['3', '4', '7'].includes(r.state),
      short_description: r.shortDescription ?? (this.get('sc_cat_item', r.catItem)?.['name'] ?? ''),
      description: r.description ?? '',
      ...(r.sysId === undefined ? {} : { sys_id: r.sysId }),
      ...(r.number === undefined ? {} : { number: r.number }),
    });
    for (const [name, value] of Object.entries(r.variables ?? {})) this.#addVariable(ritm['sys_id'] ?? '', name, value);
    return ritm;
  }

  /** Sets (or adds) a catalog variable of a RITM, bumping that option's sys_updated_on. */
  setVariable(ritmId: string, name: string, value: string): void {
    for (const link of this.table('sc_item_option_mtom').values()) {
      if (link['request_item'] !== ritmId) continue;
      const option = this.get('sc_item_option', link['sc_item_option'] ?? '');
      const question = this.get('item_option_new', option?.['item_option_new'] ?? '');
      if (option !== undefined && question?.['name'] === name) {
        this.update('sc_item_option', option['sys_id'] ?? '', { value });
        return;
      }
    }
    this.#addVariable(ritmId, name, value);
  }

  #addVariable(ritmId: string, name: string, value: string): void {
    let question = [...this.table('item_option_new').values()].find((q) => q['name'] === name);
    question ??= this.insert('item_option_new', { name, question_text: name, type: '6' });
    const option = this.insert('sc_item_option', { item_option_new: question['sys_id'] ?? '', value });
    this.insert('sc_item_option_mtom', { request_item: ritmId, sc_item_option: option['sys_id'] ?? '' });
  }

  /** Adds an approval of a RITM for one approver (state `requested` unless given). */
  addApproval(ritmId: string, approverId: string, state = 'requested'): StubRecord {
    return this.insert('sysapproval_approver', {
      sysapproval: ritmId,
      document_id: ritmId,
      source_table: 'sc_req_item',
      approver: approverId,
      group: '',
      state,
      comments: '',
    });
  }

  /** An approver acts: the approval's state changes (and the RITM's `approval` field, as the engine does). */
  setApprovalState(approvalId: string, state: string): StubRecord | undefined {
    const approval = this.update('sysapproval_approver', approvalId, { state });
    const ritm = approval?.['sysapproval'];
    if (ritm !== undefined && (state === 'approved' || state === 'rejected')) this.update('sc_req_item', ritm, { approval: state }, 'system');
    return approval;
  }

  /** Work notes (or comments) of a record, oldest first. */
  journal(sysId: string, element: 'work_notes' | 'comments' = 'work_notes'): StubRecord[] {
    return [...this.table('sys_journal_field').values()].filter((j) => j['element_id'] === sysId && j['element'] === element);
  }
}

interface Condition {
  readonly field: string;
  readonly op: string;
  readonly value: string;
}

/** Parses the subset of encoded queries the connector uses: `^`-joined conditions and ORDERBY/ORDERBYDESC. */
export function parseEncodedQuery(query: string): { conditions: Condition[]; orderBy: { field: string; desc: boolean }[] } {
  const conditions: Condition[] = [];
  const orderBy: { field: string; desc: boolean }[] = [];
  if (query === '') return { conditions, orderBy };
  for (const part of query.split('^')) {
    if (part === '') continue;
    if (part.startsWith('ORDERBYDESC')) orderBy.push({ field: part.slice(11), desc: true });
    else if (part.startsWith('ORDERBY')) orderBy.push({ field: part.slice(7), desc: false });
    else if (part.startsWith('OR') || part.startsWith('NQ')) throw new Error(`unsupported query part ${part}`);
    else {
      const m = /^([a-z0-9_.]+?)(>=|<=|!=|=|>|<|NOT IN|IN|LIKE|STARTSWITH|ISEMPTY|ISNOTEMPTY)(.*)$/.exec(part);
      if (m === null) throw new Error(`unsupported query part ${part}`);
      conditions.push({ field: m[1] ?? '', op: m[2] ?? '', value: m[3] ?? '' });
    }
  }
  return { conditions, orderBy };
}

function matches(actual: string, c: Condition): boolean {
  switch (c.op) {
    case '=':
      return actual === c.value;
    case '!=':
      return actual !== c.value;
    case '>=':
      return actual >= c.value;
    case '<=':
      return actual <= c.value;
    case '>':
      return actual > c.value;
    case '<':
      return actual < c.value;
    case 'IN':
      return c.value.split(',').includes(actual);
    case 'NOT IN':
      return !c.value.split(',').includes(actual);
    case 'LIKE':
      return actual.includes(c.value);
    case 'STARTSWITH':
      return actual.startsWith(c.value);
    case 'ISEMPTY':
      return actual === '';
    case 'ISNOTEMPTY':
      return actual !== '';
    default:
      return false;
  }
}

/** A running stub. */
export interface ServiceNowStub {
  readonly baseUrl: string;
  readonly state: ServiceNowStubState;
  /** Every request received, in order. */
  readonly requests: StubRequest[];
  /** After letting `skip` requests pass, answers the next `times` requests with the failure instead of data. */
  failNext(failure: StubFailure, times?: number, skip?: number): void;
  /** While on, every request gets `200 text/html` (a hibernating instance). */
  hibernate(on: boolean): void;
  close(): Promise<void>;
}

export interface ServiceNowStubOptions {
  readonly port?: number;
  /** When set, requests must carry these credentials (else 401). */
  readonly credentials?: { readonly username: string; readonly password: string } | { readonly token: string };
  readonly state?: ServiceNowStubState;
}

/** Starts the stub on 127.0.0.1 (a random port unless given). */
export async function startServiceNowStub(options: ServiceNowStubOptions = {}): Promise<ServiceNowStub> {
  const state = options.state ?? new ServiceNowStubState();
  const requests: StubRequest[] = [];
  const failures: (StubFailure | null)[] = [];
  let hibernating = false;
  const expectedAuth =
    options.credentials === undefined
      ? null
      : 'token' in options.credentials
        ? `Bearer ${options.credentials.token}`
        : `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64')}`;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks));
      } catch (err) {
        json(res, 500, { error: { message: 'stub error', detail: err instanceof Error ? err.message : String(err) }, status: 'failure' });
      }
    });
  });

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    requests.push({ method, url: rawUrl, host: req.headers.host ?? '' });
    if (hibernating) return html(res);
    const failure = failures.shift();
    if (failure !== undefined && failure !== null) return fail(res, failure);
    if (expectedAuth !== null && req.headers.authorization !== expectedAuth) {
      return json(res, 401, { error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' }, status: 'failure' });
    }
    const url = new URL(rawUrl, 'http://stub');
    const m = /^\/api\/now\/table\/([a-z0-9_]+)(?:\/([^/]+))?$/.exec(url.pathname);
    if (m === null) return json(res, 400, { error: { message: 'Requested URI does not represent any resource', detail: null }, status: 'failure' });
    const table = m[1] ?? '';
    const sysId = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    if (!state.tables.has(table)) return json(res, 400, { error: { message: `Invalid table ${table}`, detail: null }, status: 'failure' });
    const p = url.searchParams;
    const render = renderer(table, p);

    if (method === 'GET' && sysId === undefined) {
      let parsed: ReturnType<typeof parseEncodedQuery>;
      try {
        parsed = parseEncodedQuery(p.get('sysparm_query') ?? '');
      } catch (err) {
        return json(res, 400, { error: { message: 'Invalid query', detail: err instanceof Error ? err.message : '' }, status: 'failure' });
      }
      let rows = [...state.table(table).values()].filter((r) => parsed.conditions.every((c) => matches(fieldValue(table, r, c.field), c)));
      if (parsed.orderBy.length > 0) {
        rows = rows.sort((a, b) => {
          for (const o of parsed.orderBy) {
            const x = fieldValue(table, a, o.field);
            const y = fieldValue(table, b, o.field);
            if (x !== y) return (x < y ? -1 : 1) * (o.desc ? -1 : 1);
          }
          return 0;
        });
      }
      const limit = clampInt(p.get('sysparm_limit'), 10_000);
      const offset = clampInt(p.get('sysparm_offset'), 0);
      const page = rows.slice(offset, offset + limit);
      const base = `${state.linkBaseUrl || baseUrl}${url.pathname}`;
      const link = (o: number): string => {
        const q = new URLSearchParams(p);
        q.set('sysparm_offset', String(o));
        q.set('sysparm_limit', String(limit));
        return `${base}?${q.toString()}`;
      };
      const links = [`<${link(0)}>;rel="first"`];
      if (offset > 0) links.push(`<${link(Math.max(0, offset - limit))}>;rel="prev"`);
      if (offset + limit < rows.length) links.push(`<${link(offset + limit)}>;rel="next"`);
      links.push(`<${link(rows.length === 0 ? 0 : Math.floor((rows.length - 1) / limit) * limit)}>;rel="last"`);
      return json(res, 200, { result: page.map(render) }, { Link: links.join(','), 'X-Total-Count': String(rows.length) });
    }
    if (method === 'GET') {
      const record = state.get(table, sysId ?? '');
      if (record === undefined) return notFound(res);
      return json(res, 200, { result: render(record) });
    }
    const payload = parseBody(body);
    if (payload === null) return json(res, 400, { error: { message: 'Exception while reading request', detail: 'invalid JSON' }, status: 'failure' });
    const user = userOf(req.headers.authorization);
    if ((method === 'PATCH' || method === 'PUT') && sysId !== undefined) {
      const updated = state.update(table, sysId, payload, user);
      if (updated === undefined) return notFound(res);
      return json(res, 200, { result: render(updated) });
    }
    if (method === 'POST' && sysId === undefined) {
      const fields: Record<string, string> = {};
      const journal: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(payload)) {
        if (k === 'work_notes' || k === 'comments') journal[k] = v;
        else fields[k] = v === null || v === undefined ? '' : String(v);
      }
      if (table === 'sc_task' || table === 'incident') {
        fields['state'] ??= '1';
        fields['active'] ??= 'true';
      }
      const created = state.insert(table, fields, user);
      for (const [k, v] of Object.entries(journal)) {
        if (typeof v === 'string' && v !== '') state.addJournal(table, created['sys_id'] ?? '', k as 'work_notes', v, user);
      }
      return json(res, 201, { result: render(created) }, { Location: `${baseUrl}/api/now/table/${table}/${created['sys_id'] ?? ''}` });
    }
    return json(res, 405, { error: { message: 'Method not Supported', detail: null }, status: 'failure' });
  };

  /** A field of a record, following dot-walked references (`sc_item_option.item_option_new.name`). */
  const walk = (table: string, record: StubRecord, path: string): { table: string; record: StubRecord; field: string } | null => {
    const parts = path.split('.');
    let t = table;
    let r: StubRecord | undefined = record;
    for (let i = 0; i < parts.length - 1; i++) {
      const target: string | undefined = REFERENCES[t]?.[parts[i] ?? ''];
      if (target === undefined) return null;
      r = state.get(target, r?.[parts[i] ?? ''] ?? '');
      if (r === undefined) return null;
      t = target;
    }
    return { table: t, record: r, field: parts[parts.length - 1] ?? '' };
  };
  const fieldValue = (table: string, record: StubRecord, path: string): string => {
    const w = walk(table, record, path);
    return w === null ? '' : (w.record[w.field] ?? '');
  };

  const renderer = (table: string, p: URLSearchParams): ((r: StubRecord) => Record<string, unknown>) => {
    const display = p.get('sysparm_display_value') ?? 'false';
    const excludeLink = p.get('sysparm_exclude_reference_link') === 'true';
    const fieldsParam = p.get('sysparm_fields');
    const fields = fieldsParam === null || fieldsParam === '' ? null : fieldsParam.split(',').map((f) => f.trim());
    return (record) => {
      const out: Record<string, unknown> = {};
      for (const path of fields ?? Object.keys(record)) {
        const w = walk(table, record, path);
        const value = w === null ? '' : (w.record[w.field] ?? '');
        const refTable = w === null ? undefined : REFERENCES[w.table]?.[w.field];
        let displayValue = value;
        let link: string | undefined;
        if (refTable !== undefined && value !== '') {
          const target = state.get(refTable, value);
          displayValue = target?.[DISPLAY_FIELD[refTable] ?? 'sys_id'] ?? value;
          link = `${state.linkBaseUrl || baseUrl}/api/now/table/${refTable}/${value}`;
        } else if (w !== null) {
          displayValue = CHOICES[w.table]?.[w.field]?.[value] ?? value;
        }
        if (display === 'all') {
          out[path] = link === undefined || excludeLink ? { display_value: displayValue, value } : { display_value: displayValue, value, link };
        } else if (display === 'true') {
          out[path] = link === undefined || excludeLink ? displayValue : { display_value: displayValue, link };
        } else {
          out[path] = link === undefined || excludeLink ? value : { link, value };
        }
      }
      return out;
    };
  };

  const fail = (res: ServerResponse, f: StubFailure): void => {
    switch (f.kind) {
      case 'rate-limit': {
        const reset = Math.floor(Date.now() / 1000) + (f.resetInSeconds ?? f.retryAfterSeconds ?? 1);
        const headers: Record<string, string> = {
          'X-RateLimit-Limit': '100',
          'X-RateLimit-Reset': String(reset),
          'X-RateLimit-Rule': 'grantline-stub-rule',
        };
        if (f.omitRetryAfter !== true) headers['Retry-After'] = String(f.retryAfterSeconds ?? 1);
        return json(res, 429, { error: { message: 'Rate limit exceeded', detail: 'Too many requests for rule grantline-stub-rule' }, status: 'failure' }, headers);
      }
      case 'server-error':
        return json(res, f.status ?? 503, { error: { message: 'Service Unavailable', detail: null }, status: 'failure' });
      case 'html':
        return html(res);
      case 'unauthorized':
        return json(res, 401, { error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' }, status: 'failure' });
      case 'redirect':
        res.writeHead(302, { Location: f.location ?? `${baseUrl}/login.do` });
        res.end();
        return;
      case 'reset':
        res.socket?.destroy();
        return;
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl,
    state,
    requests,
    failNext(failure, times = 1, skip = 0) {
      for (let i = 0; i < skip; i++) failures.push(null);
      for (let i = 0; i < times; i++) failures.push(failure);
    },
    hibernate(on) {
      hibernating = on;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err === undefined ? resolve() : reject(err)));
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function html(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/html;charset=UTF-8', 'Content-Length': Buffer.byteLength(HIBERNATION_PAGE) });
  res.end(HIBERNATION_PAGE);
}

function notFound(res: ServerResponse): void {
  json(res, 404, { error: { message: 'No Record found', detail: "Record doesn't exist or ACL restricts the record retrieval" }, status: 'failure' });
}

function parseBody(body: Buffer): Record<string, unknown> | null {
  if (body.length === 0) return {};
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function clampInt(v: string | null, fallback: number): number {
  const n = v === null ? Number.NaN : Number.parseInt(v, 10);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

function userOf(authorization: string | undefined): string {
  if (authorization?.startsWith('Basic ') === true) {
    const user = Buffer.from(authorization.slice(6), 'base64').toString('utf8').split(':')[0];
    if (user !== undefined && user !== '') return user;
  }
  return 'grantline.integration';
}

/**
 * Signs a delivery body the way the shipped business rule does: base64 HMAC-SHA256 with the
 * base64-decoded key over `timestamp + "." + body`. Returns the headers to send with the body.
 */
export function signServiceNowDelivery(
  body: string | Buffer,
  base64Key: string,
  timestamp: number = Math.floor(Date.now() / 1000),
  names: { signatureHeader?: string; timestampHeader?: string } = {},
): Record<string, string> {
  const ts = String(timestamp);
  const mac = createHmac('sha256', Buffer.from(base64Key, 'base64'))
    .update(Buffer.concat([Buffer.from(`${ts}.`, 'utf8'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')]))
    .digest('base64');
  return {
    'content-type': 'application/json',
    [names.signatureHeader ?? 'x-grantline-signature']: mac,
    [names.timestampHeader ?? 'x-grantline-timestamp']: ts,
  };
}
