import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Secret } from '../connector/secret.js';
import { httpRequestDuration } from './metrics.js';
import { opsRouter, type CheckResult, type ReadinessCheck } from './ops.js';

export type { CheckResult, ReadinessCheck };

/** What a route module gets besides the app: the body limit from config and a raw-body parser using it. */
export interface HttpContext {
  readonly bodyLimitBytes: number;
  /**
   * `express.raw({ type: '*\/*', limit })`: `req.body` is the exact bytes received (a Buffer), as
   * signature checks need. A larger body is answered with 413 JSON by the app.
   */
  readonly rawBody: RequestHandler;
  readonly registry: Registry;
  readonly logger: Logger;
}

/** Adds routes (webhooks, JWKS, ...) to the app. Runs after the health routes, before the 404 handler. */
export type Mount = (app: Express, ctx: HttpContext) => void;

export interface AppDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly bodyLimitBytes: number;
  /** All must pass for `/readyz` to answer 200. */
  readonly readiness: readonly ReadinessCheck[];
  /** Routes others add as `mount(app, ctx)` functions (webhooks need `ctx.rawBody`). */
  readonly mounts?: readonly Mount[];
  /** Routes others add as `express.Router`s (JWKS, ...). Mounted after `mounts`. */
  readonly routers?: readonly Router[];
  /** Longest a readiness check may take before it counts as failed. Default 3000 ms. */
  readonly checkTimeoutMs?: number;
  /**
   * `true` (default): `/healthz`, `/readyz` and `/metrics` are served here. `false`: only `/healthz`;
   * the others are on the admin listener (`createAdminApp`).
   */
  readonly ops?: boolean;
  /** When set, `/metrics` needs `Authorization: Bearer <token>` (`http.admin.metricsToken`). */
  readonly metricsToken?: Secret | undefined;
  /** express `trust proxy`: hops or proxy addresses whose `X-Forwarded-For` names the client. Default 0. */
  readonly trustProxy?: number | readonly string[];
}

/** JSON error body every non-2xx answer of the app has. */
export interface ErrorBody {
  error: { code: string; message: string };
}

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/**
 * The grantline HTTP app: `/healthz`, `/readyz`, `/metrics`, the routes in `deps.mounts`, and JSON
 * errors (`{ error: { code, message } }`, never a stack trace) for 404, 413 and 500.
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  const trust = deps.trustProxy ?? 0;
  app.set('trust proxy', typeof trust === 'number' ? trust : [...trust]);
  const duration = httpRequestDuration(deps.registry);
  const checkTimeoutMs = deps.checkTimeoutMs ?? 3000;
  const ctx: HttpContext = {
    bodyLimitBytes: deps.bodyLimitBytes,
    rawBody: express.raw({ type: '*/*', limit: deps.bodyLimitBytes }),
    registry: deps.registry,
    logger: deps.logger,
  };

  app.use((req, res, next) => {
    const end = duration.startTimer();
    res.on('finish', () => {
      const route = routeOf(req);
      end({ method: req.method, route, status: String(res.statusCode) });
      deps.logger.debug({ method: req.method, route, status: res.statusCode }, 'http request');
    });
    next();
  });

  if (deps.ops === false) {
    app.get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
  } else {
    app.use(opsRouter({ registry: deps.registry, readiness: deps.readiness, checkTimeoutMs, metricsToken: deps.metricsToken }));
  }

  for (const mount of deps.mounts ?? []) mount(app, ctx);
  for (const router of deps.routers ?? []) app.use(router);

  app.use((_req, res) => {
    res.status(404).json(errorBody('not_found', 'no such route'));
  });

  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    const status = httpStatusOf(err);
    if (status === 413) {
      res.status(413).json(errorBody('payload_too_large', `request body is larger than ${deps.bodyLimitBytes} bytes`));
      return;
    }
    if (status !== undefined && status >= 400 && status < 500) {
      const code = STATUS_CODES[status] ?? 'bad_request';
      // body-parser and express mark client errors `expose`; their messages carry no request data.
      const exposed = (err as { expose?: unknown }).expose === true && err instanceof Error ? err.message : code.replace(/_/g, ' ');
      res.status(status).json(errorBody(code, exposed));
      return;
    }
    deps.logger.error({ err, method: req.method, route: routeOf(req) }, 'unhandled error in HTTP route');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(500).json(errorBody('internal_error', 'internal error'));
  };
  app.use(onError);
  return app;
}

// The route pattern, not the URL, so metrics labels stay few (`/webhooks/:connectorId`).
function routeOf(req: Request): string {
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof pattern === 'string') return `${req.baseUrl}${pattern}`;
  return 'unmatched';
}

function httpStatusOf(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { status?: unknown; statusCode?: unknown };
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  return status;
}
