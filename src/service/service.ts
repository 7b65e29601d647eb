import type { Logger } from 'pino';
import type { CheckResult, ReadinessCheck } from '../http/app.js';

/** A part of the running process with a lifecycle: an HTTP server, a Kafka consumer, a poller. */
export interface Component {
  readonly name: string;
  /** Resolves once the component is doing its job; rejects when it cannot. */
  start(): Promise<void>;
  /** Stops taking work, finishes or hands back what is in flight, releases connections. */
  stop(): Promise<void>;
  /**
   * Re-reads what the component loaded at start (the catalog and directory, say) without stopping.
   * Called on SIGHUP while the service runs; a rejection is logged, and the component keeps running
   * with what it had.
   */
  reload?(): Promise<void>;
}

export type ServiceState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/** A component failed to start; `cause` is what it threw. */
export class ComponentStartError extends Error {
  readonly component: string;
  constructor(component: string, cause: unknown) {
    super(`component ${component} failed to start`, { cause });
    this.name = 'ComponentStartError';
    this.component = component;
  }
}

export interface ServiceOptions {
  readonly logger: Logger;
  readonly components: readonly Component[];
  /** Budget for the whole stop; a component that has not stopped by then is abandoned. */
  readonly stopTimeoutMs: number;
}

/**
 * Starts components in order and stops them in reverse. A failed start stops what had started and
 * rethrows: the process must not look healthy while part of it is not running.
 */
export class Service {
  readonly #logger: Logger;
  readonly #components: readonly Component[];
  readonly #stopTimeoutMs: number;
  readonly #started: Component[] = [];
  #state: ServiceState = 'idle';
  #fatal: ((err: unknown) => void) | undefined;
  #stopping: Promise<boolean> | undefined;
  /** A reload asked for while starting runs once everything has started. */
  #reloadPending = false;
  #startError: unknown;

  constructor(options: ServiceOptions) {
    this.#logger = options.logger;
    this.#components = options.components;
    this.#stopTimeoutMs = options.stopTimeoutMs;
  }

  get state(): ServiceState {
    return this.#state;
  }

  /** Why `run` could not start the service (a `ComponentStartError`), for the caller to report. */
  get startError(): unknown {
    return this.#startError;
  }

  /** Readiness: ok only while every component is running (not while starting or stopping). */
  readonly readiness: ReadinessCheck = {
    name: 'service',
    check: (): CheckResult => (this.#state === 'running' ? { ok: true } : { ok: false, error: `service is ${this.#state}` }),
  };

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`service cannot start: it is ${this.#state}`);
    this.#state = 'starting';
    for (const component of this.#components) {
      const log = this.#logger.child({ component: component.name });
      try {
        log.debug('starting');
        await component.start();
        this.#started.push(component);
        log.info('started');
      } catch (err) {
        log.error({ err }, 'start failed');
        await this.stop();
        throw new ComponentStartError(component.name, err);
      }
    }
    this.#state = 'running';
    if (this.#reloadPending) {
      this.#reloadPending = false;
      void this.reload();
    }
  }

  /**
   * Asks every started component that can to reload, one after the other. While starting, the
   * reload is deferred until the start completes (what started may have read the old files); while
   * stopping or stopped it is ignored. Never rejects: a failed reload is logged by its component.
   */
  async reload(): Promise<void> {
    if (this.#state === 'idle' || this.#state === 'starting') {
      this.#reloadPending = true;
      this.#logger.info({ state: this.#state }, 'reload deferred until the service has started');
      return;
    }
    if (this.#state !== 'running') {
      this.#logger.info({ state: this.#state }, 'reload ignored: the service is stopping');
      return;
    }
    for (const component of this.#started) {
      if (component.reload === undefined) continue;
      try {
        await component.reload();
      } catch (err) {
        this.#logger.error({ err, component: component.name }, 'reload failed; the component keeps what it had');
      }
    }
  }

  /**
   * Stops started components in reverse order within the stop budget. Resolves `true` when every
   * one stopped cleanly. Calling it again returns the same promise.
   */
  stop(): Promise<boolean> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  /**
   * For a component that breaks while running (a consumer crashed): logs it and makes `run` stop
   * the service and exit non-zero.
   */
  fail(err: unknown, component: string): void {
    this.#logger.error({ err, component }, 'component failed while running');
    this.#fatal?.(err);
  }

  /**
   * Starts, then runs until a stop signal or `fail`, then stops. Returns the exit code: 0 after a
   * clean stop on a signal, 1 after a failed start, a component failure, or an unclean stop. A
   * reload signal (SIGHUP) calls `reload()`; listening for it also keeps Node's default for SIGHUP,
   * which is to exit, from ending the process.
   */
  async run(
    signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
    proc: Pick<NodeJS.Process, 'on' | 'once' | 'off'> = process,
    reloadSignals: readonly NodeJS.Signals[] = ['SIGHUP'],
  ): Promise<number> {
    let resolveStop!: (reason: { signal: NodeJS.Signals } | { error: unknown }) => void;
    const stopRequested = new Promise<{ signal: NodeJS.Signals } | { error: unknown }>((resolve) => (resolveStop = resolve));
    const handlers = signals.map((signal) => {
      const handler = () => resolveStop({ signal });
      proc.once(signal, handler);
      return [signal, handler] as const;
    });
    for (const signal of reloadSignals) {
      const handler = () => {
        this.#logger.info({ signal }, 'reloading on signal');
        void this.reload();
      };
      proc.on(signal, handler);
      handlers.push([signal, handler]);
    }
    this.#fatal = (error) => resolveStop({ error });
    try {
      try {
        await this.start();
      } catch (err) {
        this.#startError = err;
        this.#logger.error({ err }, 'service failed to start');
        return 1;
      }
      this.#logger.info('service running');
      const reason = await stopRequested;
      if ('signal' in reason) this.#logger.info({ signal: reason.signal }, 'stopping on signal');
      const clean = await this.stop();
      return clean && 'signal' in reason ? 0 : 1;
    } finally {
      for (const [signal, handler] of handlers) proc.off(signal, handler);
      this.#fatal = undefined;
    }
  }

  async #stopAll(): Promise<boolean> {
    this.#state = 'stopping';
    const deadline = Date.now() + this.#stopTimeoutMs;
    let clean = true;
    for (const component of [...this.#started].reverse()) {
      const log = this.#logger.child({ component: component.name });
      const remaining = Math.max(0, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          component.stop(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`did not stop within ${remaining} ms`)), remaining);
          }),
        ]);
        log.info('stopped');
      } catch (err) {
        clean = false;
        log.error({ err }, 'stop failed');
      } finally {
        clearTimeout(timer);
      }
    }
    this.#started.length = 0;
    this.#state = 'stopped';
    return clean;
  }
}
