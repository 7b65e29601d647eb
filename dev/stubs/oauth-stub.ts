/**
 * A local OAuth 2.0 token endpoint (client credentials grant, RFC 6749 4.4) for SASL/OAUTHBEARER
 * tests. With a signing key it issues RS256 JWTs that the test broker's OIDC validator accepts
 * (`dev/kafka/start.sh --secure` makes the key and the JWKS the broker checks); without one, opaque
 * tokens. Records every request (`requests`) and every token it issued (`issued`).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importPKCS8, SignJWT } from 'jose';

export interface OAuthStubOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  /** `expires_in` of each token, in seconds (default 3600); `undefined` with `omitExpiresIn`. */
  readonly lifetimeSeconds?: number;
  /** Leave `expires_in` out of the answer (a JWT still carries `exp`). */
  readonly omitExpiresIn?: boolean;
  /** PKCS#8 PEM RSA key: tokens are RS256 JWTs signed with it; otherwise opaque strings. */
  readonly signingKeyPem?: string;
  readonly kid?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Seconds since the epoch for `iat`/`exp` (default the wall clock). */
  readonly nowSeconds?: () => number;
}

/** One request the token endpoint received, with its form body. */
export interface OAuthStubRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly form: URLSearchParams;
}

export interface OAuthStub {
  /** The token endpoint URL (`…/oauth2/token`). */
  readonly tokenEndpoint: string;
  readonly requests: OAuthStubRequest[];
  readonly issued: string[];
  /** Stops answering tokens: every request gets this status (and an OAuth error body). */
  refuse(status: number | undefined): void;
  close(): Promise<void>;
}

/** Client id and secret from a Basic header (form-url-encoded per RFC 6749 2.3.1) or the form body. */
function clientOf(authorization: string | undefined, form: URLSearchParams): { id: string; secret: string } | undefined {
  if (authorization?.startsWith('Basic ')) {
    const pair = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const at = pair.indexOf(':');
    if (at < 0) return undefined;
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { id: decode(pair.slice(0, at)), secret: decode(pair.slice(at + 1)) };
  }
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  return id !== null && secret !== null ? { id, secret } : undefined;
}

type Reply = { status: number; body: Record<string, unknown> };

/** Starts the token endpoint on a free port on 127.0.0.1. */
export async function startOAuthStub(options: OAuthStubOptions): Promise<OAuthStub> {
  const lifetime = options.lifetimeSeconds ?? 3600;
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const key = options.signingKeyPem === undefined ? undefined : await importPKCS8(options.signingKeyPem, 'RS256');
  const requests: OAuthStubRequest[] = [];
  const issued: string[] = [];
  let refusing: number | undefined;

  const mint = async (scope: string | null): Promise<string> => {
    if (key === undefined) return randomBytes(24).toString('base64url');
    const iat = nowSeconds();
    const jwt = new SignJWT(scope === null ? {} : { scope })
      .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'grantline-it-1', typ: 'JWT' })
      .setSubject(options.clientId)
      .setJti(randomBytes(8).toString('hex'))
      .setIssuedAt(iat)
      .setExpirationTime(iat + lifetime);
    if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
    if (options.audience !== undefined) jwt.setAudience(options.audience);
    return jwt.sign(key);
  };

  const answer = async (method: string, path: string, authorization: string | undefined, form: URLSearchParams): Promise<Reply> => {
    if (method !== 'POST' || path !== '/oauth2/token') return { status: 404, body: { error: 'not_found' } };
    if (refusing !== undefined) return { status: refusing, body: { error: refusing >= 500 ? 'temporarily_unavailable' : 'invalid_request' } };
    if (form.get('grant_type') !== 'client_credentials') return { status: 400, body: { error: 'unsupported_grant_type' } };
    const client = clientOf(authorization, form);
    if (client === undefined || client.id !== options.clientId || client.secret !== options.clientSecret) {
      return { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } };
    }
    const token = await mint(form.get('scope'));
    issued.push(token);
    return { status: 200, body: { access_token: token, token_type: 'Bearer', ...(options.omitExpiresIn ? {} : { expires_in: lifetime }) } };
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const path = new URL(req.url ?? '/', 'http://stub.invalid').pathname;
      requests.push({ method: req.method ?? 'GET', path, authorization: req.headers.authorization, form });
      void answer(req.method ?? 'GET', path, req.headers.authorization, form).then(
        (reply) => {
          res.writeHead(reply.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(reply.body));
        },
        () => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"error":"server_error"}');
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    tokenEndpoint: `http://127.0.0.1:${port}/oauth2/token`,
    requests,
    issued,
    refuse: (status) => {
      refusing = status;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
