import { describe, expect, it } from 'vitest';
import { JsonWebhookConfig } from './config.js';

const valid = { baseUrl: 'https://tickets.example.com/api', auth: { token: 't' }, webhook: { secret: 's' }, entitlements: { 'db-rw': 'db-orders-prod-readwrite' } };
const problems = (input: unknown): string[] => {
  const parsed = JsonWebhookConfig.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('json-webhook settings schema', () => {
  it('fills the defaults a minimal entry leaves out', () => {
    const config = JsonWebhookConfig.parse(valid);
    expect(config.paths).toEqual({ ticket: '/tickets/{ticketId}', notes: '/tickets/{ticketId}/notes', changes: '/tickets' });
    expect(config.webhook.signatureHeader).toBe('x-signature');
    expect(config.webhook.maxAgeSeconds).toBe(300);
    expect(config.webhook.secret.reveal()).toBe('s');
  });

  it('names every unknown or misspelt key with its path, nested ones too', () => {
    const found = problems({ ...valid, webhok: {}, webhook: { secret: 's', maxAge: 5 }, poll: { pagesize: 5 } });
    expect(found.some((p) => p.startsWith(': ') && p.includes('webhok'))).toBe(true);
    expect(found.some((p) => p.startsWith('webhook') && p.includes('maxAge'))).toBe(true);
    expect(found.some((p) => p.startsWith('poll') && p.includes('pagesize'))).toBe(true);
  });

  it.each([
    ['another host', 'https://evil.example/{ticketId}'],
    ['a protocol-relative host', '//evil.example/{ticketId}'],
    ['a parent segment', '/tickets/../admin/{ticketId}'],
    ['a query', '/tickets/{ticketId}?expand=all'],
    ['another placeholder', '/tickets/{id}'],
    ['no ticket id', '/tickets/current'],
  ])('refuses a ticket path template with %s', (_what, ticket) => {
    expect(problems({ ...valid, paths: { ticket } }).some((p) => p.startsWith('paths.ticket'))).toBe(true);
  });

  it('refuses a base URL that is not http(s) and a signature header with upper-case letters', () => {
    expect(problems({ ...valid, baseUrl: 'file:///etc/passwd' }).some((p) => p.startsWith('baseUrl'))).toBe(true);
    expect(problems({ ...valid, webhook: { secret: 's', signatureHeader: 'X-Signature' } }).some((p) => p.startsWith('webhook.signatureHeader'))).toBe(true);
  });
});
