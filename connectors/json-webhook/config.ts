import { z } from 'zod';
import { SecretString } from '../../src/connector/secret.js';

/**
 * A path under `baseUrl`, with `{ticketId}` where the ticket id goes (URL-encoded). Only a path:
 * no scheme, host, `..` segment, query or fragment, so a template can never point anywhere else.
 */
function pathTemplate(needsTicketId: boolean) {
  return z
    .string()
    .regex(/^\/[A-Za-z0-9._~{}/-]*$/, 'expected a path such as /api/tickets/{ticketId} (letters, digits, . _ ~ - / and {ticketId}; no scheme, host, query or fragment)')
    .refine((p) => !p.includes('//'), 'must not contain "//" (a path, never a host)')
    .refine((p) => !p.split('/').some((segment) => segment === '..' || segment === '.'), 'must not contain "." or ".." segments')
    .refine((p) => (p.match(/\{[^}]*\}/g) ?? []).every((t) => t === '{ticketId}'), 'the only placeholder is {ticketId}')
    .refine((p) => !needsTicketId || p.includes('{ticketId}'), 'must contain {ticketId}');
}

/**
 * A generic signed JSON webhook source (connectors/README.md walks through it): deliveries signed
 * with HMAC-SHA256 over the body, tickets read as JSON from paths under `baseUrl`. Strict at every
 * level: an unknown or misspelt key is a config error naming its path.
 */
export const JsonWebhookConfig = z.strictObject({
  /** The only origin this connector ever calls. */
  baseUrl: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')),
  /** Sent as `Authorization: Bearer <token>` on every call to the source. */
  auth: z.strictObject({ token: SecretString }),
  webhook: z.strictObject({
    /** HMAC-SHA256 key; the signature header carries `sha256=<hex>` of the raw body. */
    secret: SecretString,
    /** Lower-case header name of the signature. */
    signatureHeader: z.string().regex(/^[a-z0-9-]+$/, 'expected a lower-case header name').default('x-signature'),
    /** A delivery whose signed `timestamp` (epoch ms) is further than this from now is refused as `stale`. */
    maxAgeSeconds: z.number().int().positive().default(300),
  }),
  paths: z
    .strictObject({
      /** GET: one ticket as JSON. */
      ticket: pathTemplate(true).default('/tickets/{ticketId}'),
      /** GET: the ticket's notes; POST `{ body }`: adds one. */
      notes: pathTemplate(true).default('/tickets/{ticketId}/notes'),
      /** GET `?updatedAfter=&afterId=&limit=`: tickets changed after a position, oldest first. */
      changes: pathTemplate(false).default('/tickets'),
    })
    .default({ ticket: '/tickets/{ticketId}', notes: '/tickets/{ticketId}/notes', changes: '/tickets' }),
  /** The ticket's `request.entitlement` value → catalog entitlement id. Unlisted: `UNMAPPED_ENTITLEMENT`. */
  entitlements: z.record(z.string().min(1), z.string().min(1)),
  statuses: z
    .strictObject({
      /** The ticket's grants are revoked. */
      cancelled: z.array(z.string().min(1)).default(['cancelled']),
      /** Closed: no new grant, no write-back. */
      closed: z.array(z.string().min(1)).default(['closed', 'done']),
    })
    .default({ cancelled: ['cancelled'], closed: ['closed', 'done'] }),
  poll: z.strictObject({ pageSize: z.number().int().min(1).max(500).default(100) }).default({ pageSize: 100 }),
});
export type JsonWebhookConfig = z.infer<typeof JsonWebhookConfig>;
export type JsonWebhookConfigInput = z.input<typeof JsonWebhookConfig>;
