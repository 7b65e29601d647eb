import { pino, stdSerializers, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

const REDACTED = '[redacted]';

// Field names that hold a secret wherever they appear. pino matches `*.x` one level deep only,
// so each name is listed at the top level and up to three levels down (`signing.keys[0].privateKeyPem`).
const SECRET_KEYS = [
  'password',
  'apiToken',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'clientSecret',
  'webhookSecret',
  'privateKeyPem',
  'privateKey',
  'authorization',
  'cookie',
] as const;

// Inbound webhook and outbound API headers that carry credentials or signatures.
const SECRET_HEADERS = ['authorization', 'Authorization', 'cookie', 'set-cookie', 'x-hub-signature', 'x-hub-signature-256', 'x-atlassian-webhook-signature', 'proxy-authorization'] as const;

/**
 * Paths pino redacts in every log line. Secret-named fields at depth 0–3 and credential headers under
 * `headers`, `req.headers` and `res.headers`. Config secrets are `Secret` values and print as
 * `[redacted]` on their own; these paths catch plain strings.
 */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]),
  ...SECRET_HEADERS.flatMap((h) => [`headers["${h}"]`, `*.headers["${h}"]`]),
];

/** What `createLogger` reads from the config: `log.level`, and `service` for bound fields. */
export interface LoggerConfig {
  readonly log: { readonly level: string };
  readonly service?: { readonly name: string; readonly instanceId: string };
}

/**
 * Serializes an error without what HTTP client errors carry along: axios puts the request config
 * (with the `Authorization` header and basic-auth password) and the raw request/response on the error.
 */
function errSerializer(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  return scrubError(stdSerializers.err(err) as unknown as Record<string, unknown>, 0);
}

function scrubError(out: Record<string, unknown>, depth: number): Record<string, unknown> {
  delete out.config;
  delete out.request;
  const response = out.response as { status?: unknown } | null | undefined;
  if (response !== undefined) out.response = { status: response?.status };
  const cause = out.cause;
  if (cause !== null && typeof cause === 'object' && depth < 5) out.cause = scrubError({ ...(cause as Record<string, unknown>) }, depth + 1);
  return out;
}

/**
 * The process logger. Secrets are redacted (see `REDACT_PATHS`); `destination` is for tests (a
 * memory stream) and defaults to stdout. Components make child loggers with bound context, e.g.
 * `logger.child({ component: 'ingress', connector })`.
 */
export function createLogger(config: LoggerConfig, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: config.log.level,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: { err: errSerializer, error: errSerializer },
    base: config.service ? { service: config.service.name, instance: config.service.instanceId } : {},
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
