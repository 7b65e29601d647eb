import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { Secret } from '../connector/secret.js';
import { listResponse, resourceTypes, schemaDefinitions, serviceProviderConfig } from '../scim/discovery.js';
import { badRequest, notFound, ScimError } from '../scim/errors.js';
import type { ScimQuery } from '../scim/query.js';
import type { ScimAnswer, ScimService } from '../scim/service.js';
import type { Mount } from './app.js';

/** Where the SCIM service provider is served; the URL an IdP admin enters is `https://HOST/scim/v2`. */
export const SCIM_BASE_PATH = '/scim/v2';

export interface ScimMountOptions {
  readonly service: ScimService;
  /** `scim.bearerToken`: the IdP sends it as `Authorization: Bearer <token>`. */
  readonly bearerToken: Secret;
  readonly logger: Logger;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <token>` in constant time: both sides are hashed first, so the
 * comparison neither depends on where they differ nor reveals the token's length.
 */
export function bearerMatches(header: string | undefined, expected: Secret): boolean {
  const m = /^Bearer[ \t]+(\S+)\s*$/i.exec(header ?? '');
  const given = m?.[1] ?? '';
  const equal = timingSafeEqual(digest(given), digest(expected.reveal()));
  return m !== null && equal;
}

function send(res: Response, status: number, body?: unknown): void {
  res.status(status);
  if (body === undefined) {
    res.end();
    return;
  }
  res.type('application/scim+json').send(JSON.stringify(body));
}

function sendError(res: Response, error: ScimError): void {
  if (error.retryAfterSeconds !== undefined) res.set('Retry-After', String(error.retryAfterSeconds));
  send(res, error.status, error.body());
}

/** The JSON of a request body; any content type (Okta's documented requests name none). */
function bodyOf(req: Request): unknown {
  const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  if (raw.trim() === '') throw badRequest('invalidSyntax', 'the request needs a JSON body');
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw badRequest('invalidSyntax', 'the request body is not valid JSON');
  }
}

const queryOf = (req: Request): ScimQuery => req.query as ScimQuery;
const idOf = (req: Request): string => String(req.params.id);

/**
 * `/scim/v2`: the SCIM 2.0 service provider (RFC 7644) an identity provider provisions people and
 * groups to. Every request needs the bearer token; bodies are limited to `http.bodyLimitBytes`.
 * Every error is a SCIM error body (RFC 7644 §3.12) in `application/scim+json`.
 */
export function scimMount(options: ScimMountOptions): Mount {
  return (app, ctx) => {
    const router = express.Router({ caseSensitive: false });
    const log = options.logger;
    const handle =
      (work: (req: Request) => ScimAnswer | Promise<ScimAnswer>): RequestHandler =>
      async (req, res) => {
        try {
          const answer = await work(req);
          if (answer.location !== undefined) res.set('Location', answer.location);
          send(res, answer.status, answer.body);
        } catch (error) {
          if (error instanceof ScimError) {
            if (error.status >= 500) log.error({ method: req.method, path: req.path, status: error.status, detail: error.message }, 'SCIM request not stored');
            else log.info({ method: req.method, path: req.path, status: error.status, scimType: error.scimType, detail: error.message }, 'SCIM request refused');
            sendError(res, error);
            return;
          }
          log.error({ err: error, method: req.method, path: req.path }, 'SCIM request failed');
          sendError(res, new ScimError(500, 'internal error'));
        }
      };

    router.use((req, res, next) => {
      if (bearerMatches(req.get('authorization'), options.bearerToken)) {
        next();
        return;
      }
      log.warn({ method: req.method, path: req.path, hasAuthorization: req.get('authorization') !== undefined }, 'SCIM request without the right bearer token refused');
      res.set('WWW-Authenticate', 'Bearer realm="grantline-scim"');
      sendError(res, new ScimError(401, 'a valid bearer token is required (Authorization: Bearer <scim.bearerToken>)'));
    });
    router.use(express.raw({ type: () => true, limit: ctx.bodyLimitBytes }));

    router.get('/ServiceProviderConfig', handle(() => ({ status: 200, body: serviceProviderConfig() })));
    router.get('/ResourceTypes', handle(() => ({ status: 200, body: listResponse(resourceTypes(), resourceTypes().length, 1) })));
    router.get('/ResourceTypes/:id', handle((req) => ({ status: 200, body: found(resourceTypes(), idOf(req), 'ResourceType') })));
    router.get('/Schemas', handle(() => ({ status: 200, body: listResponse(schemaDefinitions(), schemaDefinitions().length, 1) })));
    router.get('/Schemas/:id', handle((req) => ({ status: 200, body: found(schemaDefinitions(), idOf(req), 'Schema') })));

    const scim = options.service;
    router.get('/Users', handle((req) => scim.listUsers(queryOf(req))));
    router.post('/Users', handle((req) => scim.createUser(bodyOf(req))));
    router.get('/Users/:id', handle((req) => scim.getUser(idOf(req), queryOf(req))));
    router.put('/Users/:id', handle((req) => scim.replaceUser(idOf(req), bodyOf(req))));
    router.patch('/Users/:id', handle((req) => scim.patchUser(idOf(req), bodyOf(req))));
    router.delete('/Users/:id', handle((req) => scim.deleteUser(idOf(req))));
    router.get('/Groups', handle((req) => scim.listGroups(queryOf(req))));
    router.post('/Groups', handle((req) => scim.createGroup(bodyOf(req))));
    router.get('/Groups/:id', handle((req) => scim.getGroup(idOf(req), queryOf(req))));
    router.put('/Groups/:id', handle((req) => scim.replaceGroup(idOf(req), bodyOf(req))));
    router.patch('/Groups/:id', handle((req) => scim.patchGroup(idOf(req), bodyOf(req))));
    router.delete('/Groups/:id', handle((req) => scim.deleteGroup(idOf(req))));

    router.use((req, res) => sendError(res, new ScimError(404, `no SCIM endpoint ${req.method} ${SCIM_BASE_PATH}${req.path}`)));
    const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
      const status = (err as { status?: unknown }).status;
      if (status === 413) {
        sendError(res, new ScimError(413, `the request body is larger than ${ctx.bodyLimitBytes} bytes`));
        return;
      }
      if (typeof status === 'number' && status >= 400 && status < 500) {
        sendError(res, badRequest('invalidSyntax', 'the request body could not be read'));
        return;
      }
      log.error({ err, method: req.method, path: req.path }, 'SCIM request failed');
      sendError(res, new ScimError(500, 'internal error'));
    };
    router.use(onError);
    app.use(SCIM_BASE_PATH, router);
  };
}

function found(list: readonly Record<string, unknown>[], id: string, what: string): Record<string, unknown> {
  const item = list.find((r) => String(r.id).toLowerCase() === id.toLowerCase());
  if (item === undefined) throw notFound(`${what} ${id}`);
  return item;
}
