import type { Mount } from './app.js';
import type { Ingress } from '../pipeline/ingress.js';

/** Header values as node gives them, lower-cased names, arrays joined the way HTTP joins them. */
function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/**
 * `POST /webhooks/:connectorId`: the raw bytes go to the connector's `verify` untouched (signatures
 * are over the exact body), then to Kafka. 202 only once the event is durably stored.
 */
export function webhookMount(ingress: Ingress): Mount {
  return (app, ctx) => {
    app.post('/webhooks/:connectorId', ctx.rawBody, async (req, res) => {
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const result = await ingress.ingest(String(req.params.connectorId), {
        rawBody,
        headers: flatHeaders(req.headers),
        receivedAt: new Date(),
      });
      if (result.status === 503) res.set('Retry-After', String(result.retryAfterSeconds));
      res.status(result.status).json(result.body);
    });
  };
}

/** `GET /.well-known/jwks.json`: the public keys grants are signed with, current and retired. */
export function jwksMount(jwks: () => unknown): Mount {
  return (app) => {
    app.get('/.well-known/jwks.json', (_req, res) => {
      res.set('Cache-Control', 'public, max-age=300').json(jwks());
    });
  };
}
