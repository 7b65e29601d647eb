import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Delivery, VerifyResult } from '../../src/connector/contract.js';
import type { JiraConfig } from './config.js';

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/** Constant-time comparison of two strings of possibly different length (hashed to equal length first). */
function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/**
 * Checks a Jira webhook delivery. With `webhook.secret`: `X-Hub-Signature: sha256=<hex>`, HMAC-SHA256
 * of the raw bytes, compared in constant time before anything is parsed. With `webhook.basicAuth`
 * (Data Center without signing): the `Authorization: Basic` header, compared in constant time. Both
 * configured: both required. Only then is the body parsed: not a JSON object is `malformed`; its
 * `timestamp` (epoch ms, covered by the signature) must lie within `maxAgeSeconds` of `receivedAt`,
 * else `stale`: a replayed delivery.
 */
export function verifyJiraDelivery(webhook: JiraConfig['webhook'], delivery: Delivery): VerifyResult {
  if (webhook.secret !== undefined) {
    const header = delivery.headers['x-hub-signature'];
    if (header === undefined || header === '') return 'missing_signature';
    const match = SIGNATURE.exec(header.trim());
    if (match === null) return 'bad_signature';
    const expected = createHmac('sha256', webhook.secret.reveal()).update(delivery.rawBody).digest();
    const given = Buffer.from(match[1]!, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad_signature';
  }
  if (webhook.basicAuth !== undefined) {
    const header = delivery.headers['authorization'];
    if (header === undefined || header === '') return webhook.secret === undefined ? 'missing_signature' : 'unauthorized';
    const expected = `Basic ${Buffer.from(`${webhook.basicAuth.username}:${webhook.basicAuth.password.reveal()}`).toString('base64')}`;
    if (!safeEqual(header.trim(), expected)) return 'unauthorized';
  }
  return checkFreshness(delivery, webhook.maxAgeSeconds);
}

function checkFreshness(delivery: Delivery, maxAgeSeconds: number): VerifyResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(delivery.rawBody.toString('utf8'));
  } catch {
    // Authentic but not JSON: the sender is broken (or misconfigured), not replaying.
    return 'malformed';
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'malformed';
  const timestamp = (parsed as { timestamp?: unknown }).timestamp;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) return 'stale';
  const ageMs = Math.abs(delivery.receivedAt.getTime() - timestamp);
  return ageMs <= maxAgeSeconds * 1000 ? 'valid' : 'stale';
}

/** Headers Jira sends on a signed webhook: `X-Hub-Signature: sha256=<hex>` over the exact bytes. */
export function signJiraBody(body: Buffer | string, secret: string): { 'x-hub-signature': string } {
  return { 'x-hub-signature': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` };
}
