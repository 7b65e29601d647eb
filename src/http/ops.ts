import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { Registry } from 'prom-client';
import type { Secret } from '../connector/secret.js';

/** Result of one readiness check. `error` says what is wrong, without secrets. */
export type CheckResult = { ok: true } | { ok: false; error: string };

/** One thing `/readyz` asks: config loaded, Kafka reachable, service started, ... */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<CheckResult> | CheckResult;
}

export interface OpsDeps {
  readonly registry: Registry;
  /** All must pass for `/readyz` to answer 200. */
  readonly readiness: readonly ReadinessCheck[];
  /** Longest a readiness check may take before it counts as failed. */
  readonly checkTimeoutMs: number;
  /** When set, `/metrics` needs `Authorization: Bearer <token>`. */
  readonly metricsToken?: Secret | undefined;
}

/**
 * `/healthz`, `/readyz` and `/metrics`: on the main app, or alone on the admin listener
 * (`http.admin`) so that neither is reachable where webhooks are.
 */
export function opsRouter(deps: OpsDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const results = await Promise.all(deps.readiness.map(async (c) => [c.name, await runCheck(c, deps.checkTimeoutMs)] as const));
    const checks = Object.fromEntries(results);
    const failed = results.filter(([, r]) => !r.ok).map(([name]) => name);
    res.status(failed.length === 0 ? 200 : 503).json({ status: failed.length === 0 ? 'ready' : 'not_ready', failed, checks });
  });

  const token = deps.metricsToken;
  router.get('/metrics', async (req, res) => {
    if (token !== undefined && !bearerMatches(req.headers.authorization, token.reveal())) {
      res.set('WWW-Authenticate', 'Bearer realm="metrics"').status(401).json({ error: { code: 'unauthorized', message: 'metrics need a bearer token' } });
      return;
    }
    const text = await deps.registry.metrics();
    res.type(deps.registry.contentType).send(text);
  });
  return router;
}

/** `Bearer <token>` compared in constant time (both sides hashed first, so lengths do not show). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/.exec(header?.trim() ?? '')?.[1] ?? '';
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && given.length > 0;
}

async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: `timed out after ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => c.check()), timeout]);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : 'check failed' };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A check whose result is reused for `maxAgeMs`: however often `/readyz` is called (by every
 * kubelet, load balancer and curious client), the check itself runs at most once per `maxAgeMs`,
 * and calls that arrive while it runs wait for that one run. For the Kafka probe, which opens a
 * connection to a broker each time.
 */
export function cachedCheck(check: ReadinessCheck, maxAgeMs: number, now: () => number = Date.now): ReadinessCheck {
  let last: { result: CheckResult; at: number } | undefined;
  let running: Promise<CheckResult> | undefined;
  return {
    name: check.name,
    check: () => {
      if (last !== undefined && now() - last.at < maxAgeMs) return last.result;
      running ??= Promise.resolve()
        .then(() => check.check())
        .catch((err: unknown): CheckResult => ({ ok: false, error: err instanceof Error ? err.message : 'check failed' }))
        .then((result) => {
          last = { result, at: now() };
          return result;
        })
        .finally(() => {
          running = undefined;
        });
      return running;
    },
  };
}
