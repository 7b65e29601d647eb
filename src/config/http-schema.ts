import { z } from 'zod';
import { SecretString } from '../connector/secret.js';
import { integer, nonEmpty } from './fields.js';

/** Node's server timeouts: a slow or idle client cannot hold a connection open for long. */
const Timeouts = z
  .strictObject({
    /** Longest a client may take to send the request headers (slowloris). */
    headersMs: integer(1_000, 600_000).default(10_000),
    /** Longest a client may take to send the whole request, body included. */
    requestMs: integer(1_000, 600_000).default(30_000),
    /** How long an idle keep-alive connection is kept after a response. */
    keepAliveMs: integer(100, 600_000).default(5_000),
  })
  .prefault({})
  .superRefine((t, ctx) => {
    if (t.headersMs > t.requestMs) ctx.addIssue({ code: 'custom', path: ['headersMs'], message: `must be at most requestMs (${t.requestMs})` });
  });

/**
 * Refused webhook deliveries (400, 401, 404, 413, 429) per connector and client address: a token
 * bucket of `burst` refusals refilled at `perMinute`. An empty bucket is answered 429 before the
 * body is read or any signature computed.
 */
const Refusals = z
  .strictObject({
    burst: integer(1, 1_000_000).default(20),
    perMinute: integer(1, 6_000_000).default(60),
    /** Refusals are logged once per interval per connector and address, with counts. */
    logIntervalMs: integer(1_000, 3_600_000).default(60_000),
    /** Addresses tracked at most; past it the least recently refused is forgotten. */
    maxClients: integer(1, 10_000_000).default(10_000),
  })
  .prefault({});

/** `trust proxy` as express takes it: a hop count, or the addresses / CIDRs of trusted proxies. */
const TrustProxy = z.union([integer(0, 10), z.array(nonEmpty).min(1, 'list at least one proxy address')], {
  error: 'expected a number of proxy hops or a list of proxy addresses',
});

/**
 * A second listener for `/readyz` and `/metrics` (and `/healthz`), so that they need not be
 * reachable where webhooks are. `metricsToken`: `/metrics` then needs `Authorization: Bearer <token>`.
 */
const Admin = z.strictObject({
  host: nonEmpty.default('127.0.0.1'),
  port: integer(0, 65_535),
  // Checked before it becomes a Secret, so the message never holds it.
  metricsToken: z
    .string({ error: 'expected a secret string (use ${env:NAME} or ${file:PATH})' })
    .min(32, 'must be at least 32 characters (for example `openssl rand -base64 32`)')
    .pipe(SecretString)
    .optional(),
});

export const HttpSection = z
  .strictObject({
    host: nonEmpty.default('127.0.0.1'),
    port: integer(0, 65_535).default(8080),
    bodyLimitBytes: integer(1, 64 * 1024 * 1024).default(1024 * 1024),
    timeouts: Timeouts,
    refusals: Refusals,
    /** Which `X-Forwarded-For` hops name the client (for the refusal limit). Default 0: the TCP peer. */
    trustProxy: TrustProxy.default(0),
    admin: Admin.optional(),
    /** How long `/readyz` reuses the Kafka probe's result: the broker is asked at most this often. */
    readinessCacheMs: integer(0, 600_000).default(5_000),
  })
  .prefault({})
  .superRefine((http, ctx) => {
    if (http.admin !== undefined && http.admin.port !== 0 && http.admin.port === http.port) {
      ctx.addIssue({ code: 'custom', path: ['admin', 'port'], message: `must differ from http.port (${http.port})` });
    }
  });

export type HttpConfig = z.infer<typeof HttpSection>;
export type RefusalLimits = HttpConfig['refusals'];
export type ServerTimeouts = HttpConfig['timeouts'];
export type AdminListener = NonNullable<HttpConfig['admin']>;
