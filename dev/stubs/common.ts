import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a stub received. `host` is the Host header: tests check every call went to the configured base URL. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly host: string;
  readonly body: unknown;
  readonly authorization: string | undefined;
}

export interface StubReply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export type StubHandler = (req: RecordedRequest) => StubReply | undefined;

export interface StartedStub {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** The next `times` requests (default 1) get this status and headers instead of an answer. */
  failNext(status: number, headers?: Record<string, string>, times?: number): void;
  /** The next `times` requests that `match` selects get this status instead of an answer; others are answered. */
  failWhen(match: (req: RecordedRequest) => boolean, status: number, times: number): void;
  close(): Promise<void>;
}

/**
 * A small JSON HTTP server on 127.0.0.1 that records every request and hands it to `handler`
 * (`undefined` means 404). No per-request logging: the benchmarks run through it.
 */
export async function startJsonStub(handler: StubHandler, port = 0): Promise<StartedStub> {
  const requests: RecordedRequest[] = [];
  const failures: { status: number; headers: Record<string, string> }[] = [];
  const targeted: { match: (req: RecordedRequest) => boolean; status: number; left: number }[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stub.invalid');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = undefined;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        host: req.headers.host ?? '',
        body,
        authorization: req.headers.authorization,
      };
      requests.push(recorded);
      const aimed = targeted.find((t) => t.left > 0 && t.match(recorded));
      if (aimed !== undefined) aimed.left -= 1;
      const failure = aimed !== undefined ? { status: aimed.status, headers: {} } : failures.shift();
      let reply: StubReply;
      if (failure !== undefined) {
        reply = { status: failure.status, headers: failure.headers, body: { errorMessages: [`stub failure ${failure.status}`], errors: {} } };
      } else {
        try {
          reply = handler(recorded) ?? { status: 404, body: { errorMessages: ['Not found'], errors: {} } };
        } catch (error) {
          reply = { status: 500, body: { errorMessages: [String(error)], errors: {} } };
        }
      }
      const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': 'application/json;charset=UTF-8', ...reply.headers });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${bound}`,
    requests,
    failNext(status, headers = {}, times = 1) {
      for (let i = 0; i < times; i += 1) failures.push({ status, headers });
    },
    failWhen(match, status, times) {
      targeted.push({ match, status, left: times });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
