import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NonRetriableError, SourceRateLimitedError, SourceResponseError, SourceUnavailableError } from '../../src/connector/errors.js';
import { startServiceNowStub, type ServiceNowStub } from '../../dev/stubs/servicenow-stub.js';
import { testConfig } from '../../test/fixtures/servicenow/config.js';
import { nextLink, ServiceNowClient } from './client.js';

const PASSWORD = 'sn-password-do-not-log';
let stub: ServiceNowStub;
let client: ServiceNowClient;

beforeAll(async () => {
  stub = await startServiceNowStub({ credentials: { username: 'grantline.integration', password: PASSWORD } });
  client = new ServiceNowClient(testConfig(stub.baseUrl));
  for (let i = 0; i < 5; i++) stub.state.addUser({ user_name: `pager.${i}` });
});
afterAll(() => stub.close());
beforeEach(() => {
  stub.requests.length = 0;
  stub.hibernate(false);
  stub.state.linkBaseUrl = '';
});

const users = (pageSize: number, maxPages?: number) =>
  client.list('sys_user', { query: 'user_nameSTARTSWITHpager.^ORDERBYuser_name', fields: ['sys_id', 'user_name'], pageSize, ...(maxPages === undefined ? {} : { maxPages }) });

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

function expectNoSecret(err: Error): void {
  const text = `${err.message} ${inspect(err, { depth: 5 })}`;
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(Buffer.from(`grantline.integration:${PASSWORD}`).toString('base64'));
}

describe('ServiceNowClient paging', () => {
  it('reads every page by following Link rel="next", and stops where it is absent', async () => {
    const { records, truncated } = await users(2);
    expect(records.map((r) => (r['user_name'] as { value: string }).value)).toEqual(['pager.0', 'pager.1', 'pager.2', 'pager.3', 'pager.4']);
    expect(truncated).toBe(false);
    expect(stub.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('sysparm_offset'))).toEqual([null, '2', '4']);
  });

  it('asks for display values and no reference links, on the configured host only', async () => {
    await users(10);
    const url = new URL(stub.requests[0]?.url ?? '', 'http://x');
    expect(url.pathname).toBe('/api/now/table/sys_user');
    expect(url.searchParams.get('sysparm_display_value')).toBe('all');
    expect(url.searchParams.get('sysparm_exclude_reference_link')).toBe('true');
    expect(url.searchParams.get('sysparm_limit')).toBe('10');
    expect(stub.requests.every((r) => `http://${r.host}` === stub.baseUrl)).toBe(true);
  });

  it('stops after maxPages and says so', async () => {
    const { records, truncated } = await users(2, 2);
    expect(records).toHaveLength(4);
    expect(truncated).toBe(true);
  });

  it('refuses a next link to another origin instead of following it', async () => {
    stub.state.linkBaseUrl = 'http://evil.example';
    const err = await caught(users(2));
    expect(err).toBeInstanceOf(SourceResponseError);
    expect(err.message).toContain('another origin');
    expect(stub.requests).toHaveLength(1);
  });
});

describe('ServiceNowClient answers that are not data', () => {
  it('turns 429 into SourceRateLimitedError with Retry-After in milliseconds', async () => {
    stub.failNext({ kind: 'rate-limit', retryAfterSeconds: 7 });
    const err = await caught(users(2));
    expect(err).toBeInstanceOf(SourceRateLimitedError);
    expect((err as SourceRateLimitedError).retryAfterMs).toBe(7000);
    expect((err as SourceRateLimitedError).retriable).toBe(true);
  });

  it('falls back to X-RateLimit-Reset when Retry-After is absent', async () => {
    stub.failNext({ kind: 'rate-limit', resetInSeconds: 30, omitRetryAfter: true });
    const err = (await caught(users(2))) as SourceRateLimitedError;
    expect(err).toBeInstanceOf(SourceRateLimitedError);
    expect(err.retryAfterMs).toBeGreaterThan(28_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(31_000);
  });

  it('a 429 on a later page fails the whole read rather than returning part of it', async () => {
    stub.failNext({ kind: 'rate-limit', retryAfterSeconds: 2 }, 1, 1);
    const err = await caught(users(2));
    expect(err).toBeInstanceOf(SourceRateLimitedError);
    expect(stub.requests).toHaveLength(2);
  });

  it('a hibernation page on a later page fails the whole read', async () => {
    stub.failNext({ kind: 'html' }, 1, 2);
    expect(await caught(users(2))).toBeInstanceOf(SourceResponseError);
    expect(stub.requests).toHaveLength(3);
  });

  it('treats a hibernating instance (200 text/html) as an error, never as an empty result', async () => {
    stub.hibernate(true);
    const err = await caught(users(2));
    expect(err).toBeInstanceOf(SourceResponseError);
    expect((err as SourceResponseError).retriable).toBe(true);
    expect(err.message).toContain('text/html');
    await expect(client.getRecord('sys_user', 'a'.repeat(32))).rejects.toBeInstanceOf(SourceResponseError);
  });

  it('turns 5xx into SourceUnavailableError', async () => {
    stub.failNext({ kind: 'server-error', status: 503 });
    expect(await caught(users(2))).toBeInstanceOf(SourceUnavailableError);
  });

  it('turns a dropped connection into SourceUnavailableError without credentials', async () => {
    stub.failNext({ kind: 'reset' });
    const err = await caught(users(2));
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expectNoSecret(err);
  });

  it('turns refused credentials into NonRetriableError without the credentials in it', async () => {
    stub.failNext({ kind: 'unauthorized' });
    const err = await caught(users(2));
    expect(err).toBeInstanceOf(NonRetriableError);
    expectNoSecret(err);
    const wrong = new ServiceNowClient(testConfig(stub.baseUrl, { auth: { type: 'basic', username: 'grantline.integration', password: 'nope' } }));
    expect(await caught(wrong.list('sys_user', { query: '', pageSize: 1 }))).toBeInstanceOf(NonRetriableError);
  });

  it('does not follow a redirect (login page or SSO), nor retry it', async () => {
    stub.failNext({ kind: 'redirect', location: 'http://evil.example/login.do' });
    const err = await caught(users(2));
    expect(err).toBeInstanceOf(NonRetriableError);
    expect(err.message).toMatch(/answered a redirect \(30\d\); redirects are not followed/);
    expect(stub.requests).toHaveLength(1);
  });

  it('returns null for a record that does not exist', async () => {
    expect(await client.getRecord('sys_user', 'a'.repeat(32))).toBeNull();
  });
});

describe('header helpers', () => {
  it('reads rel="next" from a ServiceNow Link header', () => {
    const h =
      '<https://acme.service-now.com/api/now/table/x?sysparm_offset=0>;rel="first",<https://acme.service-now.com/api/now/table/x?sysparm_offset=2>;rel="next",<https://acme.service-now.com/api/now/table/x?sysparm_offset=4>;rel="last"';
    expect(nextLink(h)).toBe('https://acme.service-now.com/api/now/table/x?sysparm_offset=2');
    expect(nextLink('<https://a/x>;rel="last"')).toBeNull();
    expect(nextLink(undefined)).toBeNull();
  });
});
