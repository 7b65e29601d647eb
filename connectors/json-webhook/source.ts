/**
 * The JSON the source serves (lenient: unknown keys are kept, missing optional ones are null) and
 * the one way this connector calls it: `baseUrl` + a configured path, bearer token, no redirects,
 * one deadline per request, failures as the core's error classes.
 */
import { statusError } from '../../src/connector/http.js';
import { z } from 'zod';
import { NonRetriableError, SourceResponseError, SourceUnavailableError } from '../../src/connector/errors.js';
import type { JsonWebhookConfig } from './config.js';

const Person = z.looseObject({ email: z.string().min(1) });
const Iso = z.iso.datetime({ offset: true });

/** One ticket, as `GET {paths.ticket}` returns it. */
export const SourceTicket = z.looseObject({
  id: z.string().min(1),
  key: z.string().min(1).optional(),
  status: z.string(),
  createdAt: Iso,
  updatedAt: Iso,
  requester: Person.nullable().default(null),
  /** Who filed it, when someone else than the requester. */
  filer: Person.nullable().default(null),
  request: z
    .looseObject({
      entitlement: z.string().nullable().default(null),
      subject: z.looseObject({ type: z.string(), id: z.string() }).nullable().default(null),
      resource: z.string().nullable().default(null),
      environment: z.string().nullable().default(null),
      ttlSeconds: z.number().nullable().default(null),
      justification: z.string().default(''),
      breakGlass: z.boolean().default(false),
    })
    .nullable()
    .default(null),
  /** What the person wrote. */
  text: z.string().default(''),
  /** The source's own approval records: the only approvals that count. */
  approvals: z.array(z.looseObject({ id: z.string().min(1), approver: Person, decision: z.enum(['approved', 'rejected']), decidedAt: Iso })).default([]),
  comments: z.array(z.looseObject({ id: z.string().min(1), author: Person, body: z.string(), createdAt: Iso })).default([]),
  /** When request fields changed after filing (`field` is a grantline request field name). */
  changes: z.array(z.looseObject({ field: z.string(), at: Iso })).default([]),
});
export type SourceTicket = z.infer<typeof SourceTicket>;

export const SourceNotes = z.array(z.looseObject({ id: z.string().min(1), body: z.string() }));
export const SourceNoteCreated = z.looseObject({ id: z.string().min(1) });
export const SourceChanges = z.looseObject({
  tickets: z.array(z.looseObject({ id: z.string().min(1), key: z.string().min(1).optional(), updatedAt: Iso })),
  hasMore: z.boolean().optional(),
});

const TIMEOUT_MS = 15_000;

export class SourceClient {
  readonly #base: URL;
  readonly #basePath: string;
  readonly #token: JsonWebhookConfig['auth']['token'];

  constructor(config: Pick<JsonWebhookConfig, 'baseUrl' | 'auth'>) {
    this.#base = new URL(config.baseUrl);
    this.#basePath = this.#base.pathname.replace(/\/+$/, '');
    this.#token = config.auth.token;
  }

  /** The URL of a configured path template; refused unsent when it would leave `baseUrl`'s origin. */
  url(template: string, ticketId: string | null, query: Record<string, string> = {}): URL {
    const path = template.replaceAll('{ticketId}', encodeURIComponent(ticketId ?? ''));
    const url = new URL(this.#base.href);
    url.pathname = `${this.#basePath}${path}`;
    url.search = new URLSearchParams(query).toString();
    if (url.origin !== this.#base.origin) throw new NonRetriableError(`refused to call ${url.origin}: only ${this.#base.origin} is configured`);
    return url;
  }

  async json<T>(schema: z.ZodType<T>, what: string, url: URL, init: { method?: 'GET' | 'POST'; body?: unknown } = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(url, {
        method: init.method ?? 'GET',
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${this.#token.reveal()}`,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
    } catch (err) {
      // Only the error's name: a fetch error may carry the request, headers included.
      throw new SourceUnavailableError(`${what}: the source did not answer (${err instanceof Error ? err.name : 'error'})`);
    }
    const text = await res.text().catch(() => '');
    // The one HTTP rule every connector follows (src/connector/http.ts): retriable or not, Retry-After, no redirect.
    const refused = statusError(`${what}: the source`, res.status, Object.fromEntries(res.headers));
    if (refused !== null) throw refused;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new SourceResponseError(`${what}: HTTP ${res.status} but not JSON (${res.headers.get('content-type') ?? 'no content type'})`, { retriable: true });
    }
    const parsed = schema.safeParse(doc);
    if (!parsed.success) throw new NonRetriableError(`${what}: unexpected JSON: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    return parsed.data;
  }
}
