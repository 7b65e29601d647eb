import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { ServerTimeouts } from '../config/http-schema.js';

/** A listening HTTP server. */
export interface HttpServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  /**
   * Stops taking connections, lets in-flight requests finish for up to `drainTimeoutMs`, then
   * closes whatever is left. Resolves `true` when everything drained in time.
   */
  close(drainTimeoutMs: number): Promise<boolean>;
}

/** Node's defaults (60 s for headers, 300 s per request) let a slow client hold a socket for minutes. */
export const DEFAULT_TIMEOUTS: ServerTimeouts = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000 };

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** Header, whole-request and keep-alive timeouts (`http.timeouts`). Default `DEFAULT_TIMEOUTS`. */
  readonly timeouts?: ServerTimeouts;
}

/** Starts listening; rejects when the port cannot be bound (so a failed start is not swallowed). */
export async function listen(app: Express, options: ListenOptions): Promise<HttpServer> {
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const server: Server = createServer(
    {
      // A client that has not sent its headers, or its whole body, by then gets 408 and is closed.
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      // Node checks those every 30 s by default, which would add up to 30 s to each.
      connectionsCheckingInterval: Math.min(1_000, timeouts.headersMs),
    },
    app,
  );
  server.keepAliveTimeout = timeouts.keepAliveMs;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // While draining, a keep-alive connection must not outlive its last response: new requests on it
  // are told the connection closes, and each finished response lets idle connections go.
  let draining = false;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (draining) res.setHeader('connection', 'close');
    res.on('finish', () => {
      if (draining) setImmediate(() => server.closeIdleConnections());
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    port,
    url: `http://${host}:${port}`,
    close: (drainTimeoutMs) =>
      new Promise<boolean>((resolve) => {
        draining = true;
        let drained = true;
        const timer = setTimeout(() => {
          drained = false;
          server.closeAllConnections();
        }, drainTimeoutMs);
        // close() refuses new connections and (Node >= 19) closes idle keep-alive ones; in-flight
        // requests run to completion.
        server.close(() => {
          clearTimeout(timer);
          resolve(drained);
        });
        server.closeIdleConnections();
      }),
  };
}
