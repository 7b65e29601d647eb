import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/connector/secret.js';
import { createOAuthTokenSource, OAuthTokenError, refreshMarginMs, type OAuthClientCredentials } from '../../src/kafka/oauth.js';
import { startOAuthStub, type OAuthStub } from '../../dev/stubs/oauth-stub.js';

// Real HTTP on 127.0.0.1 against a local token endpoint; only the clock is ours.
const SECRET = 'client-secret-do-not-print+/=&';
let stub: OAuthStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

function credentials(endpoint: string, overrides: Partial<OAuthClientCredentials> = {}): OAuthClientCredentials {
  return { tokenEndpoint: endpoint, clientId: 'grantline svc', clientSecret: new Secret(SECRET), clientAuth: 'basic', ...overrides };
}

/** A clock the test moves by hand. */
function manualClock(start = 1_800_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('OAuth token source (client credentials)', () => {
  it('asks the token endpoint with HTTP Basic client credentials and the scope, and hands out the token with the extensions', async () => {
    stub = await startOAuthStub({ clientId: 'grantline svc', clientSecret: SECRET });
    const source = createOAuthTokenSource(credentials(stub.tokenEndpoint, { scope: 'kafka.write', extensions: { logicalCluster: 'lkc-1' } }));
    const token = await source.token();
    expect(token).toEqual({ value: stub.issued[0], extensions: { logicalCluster: 'lkc-1' } });
    const [request] = stub.requests;
    expect(request?.form.get('grant_type')).toBe('client_credentials');
    expect(request?.form.get('scope')).toBe('kafka.write');
    expect(request?.form.get('client_secret')).toBeNull();
    expect(request?.authorization).toMatch(/^Basic /);
  });

  it('sends the credentials in the form body with clientAuth: post', async () => {
    stub = await startOAuthStub({ clientId: 'grantline svc', clientSecret: SECRET });
    await createOAuthTokenSource(credentials(stub.tokenEndpoint, { clientAuth: 'post' })).token();
    expect(stub.requests[0]?.authorization).toBeUndefined();
    expect(stub.requests[0]?.form.get('client_id')).toBe('grantline svc');
    expect(stub.issued).toHaveLength(1);
  });

  it('reuses the token until a fifth of its lifetime is left, then fetches a new one', async () => {
    stub = await startOAuthStub({ clientId: 'grantline svc', clientSecret: SECRET, lifetimeSeconds: 3600 });
    const clock = manualClock();
    const source = createOAuthTokenSource(credentials(stub.tokenEndpoint), { now: clock.now });
    const first = await source.token();
    clock.advance(2_870_000); // 730 s left of 3600: more than a fifth (720 s)
    expect(await source.token()).toEqual(first);
    expect(stub.issued).toHaveLength(1);
    clock.advance(20_000); // 710 s left
    const second = await source.token();
    expect(stub.issued).toHaveLength(2);
    expect(second.value).toBe(stub.issued[1]);
    expect(second.value).not.toBe(first.value);
  });

  it('fetches once for many connections authenticating at the same moment', async () => {
    stub = await startOAuthStub({ clientId: 'grantline svc', clientSecret: SECRET });
    const source = createOAuthTokenSource(credentials(stub.tokenEndpoint));
    const tokens = await Promise.all(Array.from({ length: 5 }, () => source.token()));
    expect(new Set(tokens.map((t) => t.value)).size).toBe(1);
    expect(stub.requests).toHaveLength(1);
  });

  it('keeps using the current token when a refresh fails before it expires, and fails once it has expired', async () => {
    stub = await startOAuthStub({ clientId: 'grantline svc', clientSecret: SECRET, lifetimeSeconds: 600 });
    const clock = manualClock();
    const source = createOAuthTokenSource(credentials(stub.tokenEndpoint), { now: clock.now });
    const first = await source.token();
    stub.refuse(503);
    clock.advance(500_000); // inside the refresh margin, not expired
    expect(await source.token()).toEqual(first);
    clock.advance(100_000); // expired
    await expect(source.token()).rejects.toMatchObject({ name: 'OAuthTokenError', retriable: true, status: 503 });
    stub.refuse(undefined);
    expect((await source.token()).value).toBe(stub.issued[1]);
  });

  it('does not cache a token that says nothing about its expiry', async () => {
    stub = await startOAuthStub({ clientId: 'grantline svc', clientSecret: SECRET, omitExpiresIn: true });
    const source = createOAuthTokenSource(credentials(stub.tokenEndpoint));
    await source.token();
    await source.token();
    expect(stub.issued).toHaveLength(2);
  });

  it('reports a refused client as not retriable, naming the endpoint and the OAuth error, never the secret', async () => {
    stub = await startOAuthStub({ clientId: 'grantline svc', clientSecret: 'the-right-one' });
    const err = await createOAuthTokenSource(credentials(stub.tokenEndpoint)).token().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OAuthTokenError);
    expect((err as OAuthTokenError).retriable).toBe(false);
    expect((err as Error).message).toBe(`OAuth token endpoint ${stub.tokenEndpoint}: HTTP 401 invalid_client`);
    expect(JSON.stringify(err) + String((err as Error).stack) + String((err as Error).cause)).not.toContain(SECRET);
  });

  it('reports an endpoint that does not answer as retriable', async () => {
    const port = await closedPort();
    const err = await createOAuthTokenSource(credentials(`http://127.0.0.1:${port}/token`)).token().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'OAuthTokenError', retriable: true, message: `OAuth token endpoint http://127.0.0.1:${port}/token: no answer (ECONNREFUSED)` });
    expect((err as Error).cause).toBeUndefined();
  });

  it.each([
    [3_600_000, 720_000],
    [600_000, 120_000],
    [200_000, 60_000],
    [30_000, 15_000],
    [0, 0],
  ])('refreshes a token living %i ms when %i ms are left', (lifetime, margin) => {
    expect(refreshMarginMs(lifetime)).toBe(margin);
  });
});
