/**
 * Errors that say what to do next. The processor chooses retry, pause or DLQ from the class and its
 * `retriable` flag, never from the message text. Messages never contain secrets.
 */
export class GrantlineError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options: { retriable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable;
  }
}

/** The source API is down, timing out, or answered 5xx: pause and retry with backoff. */
export class SourceUnavailableError extends GrantlineError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { retriable: true, cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The source API refused for rate (HTTP 429): wait at least `retryAfterMs`, then retry. */
export class SourceRateLimitedError extends SourceUnavailableError {}

/** The source answered something that is not data (a login page, a hibernating instance's HTML). */
export class SourceResponseError extends GrantlineError {
  constructor(message: string, options: { retriable: boolean; cause?: unknown }) {
    super(message, options);
  }
}

/** Retrying cannot help (ticket deleted, credentials refused, malformed event): DLQ with the reason. */
export class NonRetriableError extends GrantlineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: false, cause: options.cause });
  }
}

/** Error text for logs and the DLQ: class and message, never a request config that may hold credentials. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
