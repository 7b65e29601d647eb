import type { Request, RequestHandler, Response } from 'express';
import type { RefusalLimits } from '../config/http-schema.js';
import type { Ingress } from '../pipeline/ingress.js';
import type { Mount } from './app.js';
import { RefusalLimiter } from './refusals.js';

/** Header values as node gives them, lower-cased names, arrays joined the way HTTP joins them. */
function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** Early answers that refuse without reading the body: no JSON parse, no signature. */
function early(res: Response, status: 404 | 429, code: string, message: string): void {
  // The body is left unread: close the connection rather than read it to keep the connection alive.
  res.set('Connection', 'close').status(status).json({ error: { code, message } });
}

/** Answers ingress gives that refuse the caller (not 202, not 503). */
const REFUSED = new Set([400, 401, 404, 413, 415]);

/**
 * `POST /webhooks/:connectorId`: the raw bytes go to the connector's `verify` untouched (signatures
 * are over the exact body), then to Kafka. 202 only once the event is durably stored.
 *
 * Before anything is read: a connector id that is not configured is 404, and a client whose
 * refusals for this connector are over `limits` (a token bucket per connector and address) is 429.
 * Refusals are logged once per interval with counts (`RefusalLimiter`), not once per request.
 */
export function webhookMount(ingress: Ingress, limits: RefusalLimits): Mount {
  return (app, ctx) => {
    const limiter = new RefusalLimiter(limits, ctx.logger);
    const route = '/webhooks/:connectorId';
    const gate: RequestHandler = (req, res, next) => {
      const id = String(req.params.connectorId);
      const known = ingress.has(id);
      // Unknown ids share one bucket per address, so inventing ids gains no fresh tokens.
      const connector = known ? id : '(unknown)';
      const client = clientOf(req);
      res.locals.refusal = { connector, client };
      if (!limiter.admits(connector, client)) {
        limiter.refused(connector, client, 'rate_limited');
        ingress.count(connector, 'rate_limited');
        res.set('Retry-After', String(limiter.retryAfterSeconds()));
        early(res, 429, 'rate_limited', 'too many refused deliveries from this address; slow down');
        return;
      }
      if (!known) {
        limiter.refused(connector, client, 'unknown_connector');
        ingress.count(connector, 'unknown_connector');
        early(res, 404, 'unknown_connector', `no connector is configured with id "${id}"`);
        return;
      }
      next();
    };
    // The body parser's own refusals (413 too large, 415 bad encoding) count against the bucket too.
    const body: RequestHandler = (req, res, next) => {
      ctx.rawBody(req, res, (err?: unknown) => {
        if (err !== undefined && err !== null) {
          const { connector, client } = res.locals.refusal as { connector: string; client: string };
          const status = (err as { status?: unknown }).status;
          const code = status === 413 ? 'payload_too_large' : 'unreadable_body';
          limiter.refused(connector, client, code);
          ingress.count(connector, code);
        }
        next(err);
      });
    };
    app.post(route, gate, body, async (req, res) => {
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const result = await ingress.ingest(String(req.params.connectorId), {
        rawBody,
        headers: flatHeaders(req.headers),
        receivedAt: new Date(),
      });
      if (REFUSED.has(result.status)) {
        const { connector, client } = res.locals.refusal as { connector: string; client: string };
        limiter.refused(connector, client, 'error' in result.body ? result.body.error.code : String(result.status));
      }
      if (result.status === 503 || result.status === 504) res.set('Retry-After', String(result.retryAfterSeconds));
      res.status(result.status).json(result.body);
    });
  };
}

/** The client's address: the TCP peer, or what trusted proxies say (`http.trustProxy`). */
function clientOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** `GET /.well-known/jwks.json`: the public keys grants are signed with, current and retired. */
export function jwksMount(jwks: () => unknown): Mount {
  return (app) => {
    app.get('/.well-known/jwks.json', (_req, res) => {
      res.set('Cache-Control', 'public, max-age=300').json(jwks());
    });
  };
}
