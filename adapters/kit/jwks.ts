/**
 * Where the kit gets grantline's public keys: a JWK Set given as it is, or read from grantline's
 * `/.well-known/jwks.json`, cached, and read again when a message names a kid the cached set
 * does not have (grantline rotated its key), at most once per `minRefreshMs` so a flood of
 * messages with made-up kids cannot turn the adapter into a load generator.
 */
import { Jwks } from '../../src/custody/index.js';

/** The kit's view of grantline's JWKS. */
export interface JwksSource {
  /** The set to verify with now; fetches it first when there is none yet. */
  current(): Promise<Jwks>;
  /** Reads the set again (unless it was read less than `minRefreshMs` ago) and returns it. */
  refresh(): Promise<Jwks>;
}

/** How the kit is told about grantline's keys: a URL, a JWK Set, or a function that returns one. */
export type JwksSpec = string | Jwks | (() => Promise<Jwks>);

/** The JWKS could not be read: not a verdict on any message, so the message waits and is tried again. */
export class JwksUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JwksUnavailableError';
  }
}

export interface JwksSourceOptions {
  /** Least time between two reads; default 5 s. */
  readonly minRefreshMs?: number;
  /** Per request, for a URL; default 5 s. */
  readonly timeoutMs?: number;
}

async function fetchJwks(url: string, timeoutMs: number): Promise<Jwks> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new JwksUnavailableError(`cannot read the JWKS at ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!res.ok) throw new JwksUnavailableError(`the JWKS at ${url} answered HTTP ${res.status}`);
  const parsed = Jwks.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new JwksUnavailableError(`${url} did not answer with a JWK Set`);
  return parsed.data;
}

/** A `JwksSource` for what `runAdapter` was given. */
export function jwksSource(spec: JwksSpec, options: JwksSourceOptions = {}): JwksSource {
  if (typeof spec === 'object') {
    const fixed = Jwks.parse(spec);
    return { current: () => Promise.resolve(fixed), refresh: () => Promise.resolve(fixed) };
  }
  const read = typeof spec === 'string' ? () => fetchJwks(spec, options.timeoutMs ?? 5_000) : spec;
  const minRefreshMs = options.minRefreshMs ?? 5_000;
  let cached: { jwks: Jwks; at: number } | null = null;
  let inFlight: Promise<Jwks> | null = null;
  const load = (): Promise<Jwks> => {
    inFlight ??= read()
      .then((jwks) => {
        cached = { jwks, at: Date.now() };
        return jwks;
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
  return {
    current: () => (cached === null ? load() : Promise.resolve(cached.jwks)),
    refresh: () => (cached !== null && Date.now() - cached.at < minRefreshMs ? Promise.resolve(cached.jwks) : load()),
  };
}
