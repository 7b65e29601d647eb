import { describe, expect, it } from 'vitest';
import { NonRetriableError, SourceRateLimitedError, SourceUnavailableError } from '../../src/connector/errors.js';
import { retryAfterMs, statusError } from '../../src/connector/http.js';

const NOW = 1_000_000_000_000;

describe('retryAfterMs', () => {
  it.each([
    [{ 'retry-after': '3' }, 3000],
    [{ 'retry-after': '0' }, 0],
    [{ 'retry-after': '0.5' }, 500],
    [{ 'retry-after': new Date(NOW + 42_000).toUTCString() }, 42_000],
    [{ 'retry-after': new Date(0).toUTCString() }, 0],
    [{ 'x-ratelimit-reset': String(NOW / 1000 + 60) }, 60_000],
    [{ 'retry-after': 'soon' }, undefined],
    [{}, undefined],
  ])('%j → %s ms', (headers, ms) => {
    expect(retryAfterMs(headers, NOW)).toBe(ms);
  });
});

describe('statusError: one classification for every source', () => {
  it('2xx is no error', () => expect(statusError('x', 204, {})).toBeNull());
  it('429 is rate limited, waiting as told or a minute', () => {
    const told = statusError('get issue: Jira', 429, { 'retry-after': '7' });
    expect(told).toBeInstanceOf(SourceRateLimitedError);
    expect((told as SourceRateLimitedError).retryAfterMs).toBe(7000);
    expect((statusError('x', 429, {}) as SourceRateLimitedError).retryAfterMs).toBe(60_000);
  });
  it('5xx is retriable, with the wait when given', () => {
    const e = statusError('x', 503, { 'retry-after': '2' });
    expect(e).toBeInstanceOf(SourceUnavailableError);
    expect(e).not.toBeInstanceOf(SourceRateLimitedError);
    expect(e?.retriable).toBe(true);
    expect((e as SourceUnavailableError).retryAfterMs).toBe(2000);
  });
  it.each([301, 302, 303, 307, 308])('a %d redirect is never followed and not retriable', (status) => {
    const e = statusError('x: Src', status, { location: 'https://elsewhere.example/' });
    expect(e).toBeInstanceOf(NonRetriableError);
    expect(e?.message).toBe(`x: Src answered a redirect (${status}); redirects are not followed`);
  });
  it.each([401, 403])('%d: the credentials are refused, not retriable', (status) => {
    expect(statusError('x', status, {})).toBeInstanceOf(NonRetriableError);
  });
  it('another 4xx is not retriable and says what the source said', () => {
    expect(statusError('x', 400, {}, 'bad query')?.message).toBe('x answered 400: bad query');
  });
});
