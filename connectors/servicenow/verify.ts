import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Delivery, VerifyResult } from '../../src/connector/contract.js';
import type { ServiceNowConfig } from './config.js';

type WebhookConfig = ServiceNowConfig['webhook'];

const TIMESTAMP = /^\d{1,12}$/;

/**
 * The bytes the business rule signs: the decimal UNIX timestamp (seconds), a dot, then the raw
 * body exactly as sent. `CertificateEncryption.generateMac(key, "HmacSHA256", timestamp + "." + body)`.
 */
export function signedPayload(timestamp: string, rawBody: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}.`, 'utf8'), rawBody]);
}

/** HMAC-SHA256 of the signed payload with the base64-decoded key, base64-encoded. */
export function computeSignature(base64Key: string, timestamp: string, rawBody: Buffer): string {
  return createHmac('sha256', Buffer.from(base64Key, 'base64')).update(signedPayload(timestamp, rawBody)).digest('base64');
}

/** Compares two strings in time independent of where they differ (and of their lengths). */
function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

function checkHmac(webhook: WebhookConfig, delivery: Delivery): VerifyResult {
  if (webhook.hmacSecret === undefined) return 'valid';
  const signature = delivery.headers[webhook.signatureHeader];
  const timestamp = delivery.headers[webhook.timestampHeader];
  if (signature === undefined || signature === '' || timestamp === undefined || timestamp === '') {
    return 'missing_signature';
  }
  if (!TIMESTAMP.test(timestamp)) return 'bad_signature';
  const expected = computeSignature(webhook.hmacSecret.reveal(), timestamp, delivery.rawBody);
  if (!safeEqual(expected, signature.trim())) return 'bad_signature';
  // Checked after the signature, so the timestamp is known to be the sender's own.
  const skew = Math.abs(delivery.receivedAt.getTime() / 1000 - Number(timestamp));
  if (skew > webhook.maxSkewSeconds) return 'stale';
  return 'valid';
}

function checkBasic(webhook: WebhookConfig, delivery: Delivery): VerifyResult {
  if (webhook.basicAuth === undefined) return 'valid';
  const header = delivery.headers['authorization'];
  if (header === undefined || header === '') return 'unauthorized';
  const { username, password } = webhook.basicAuth;
  const expected = `Basic ${Buffer.from(`${username}:${password.reveal()}`, 'utf8').toString('base64')}`;
  return safeEqual(expected, header.trim()) ? 'valid' : 'unauthorized';
}

function checkMtls(webhook: WebhookConfig, delivery: Delivery): VerifyResult {
  if (webhook.trustMtlsHeader === undefined) return 'valid';
  const value = delivery.headers[webhook.trustMtlsHeader.name];
  return value !== undefined && safeEqual(webhook.trustMtlsHeader.value, value.trim()) ? 'valid' : 'unauthorized';
}

/** An authenticated body must be a JSON object, as the business rule sends; anything else is `malformed`. */
function checkBody(delivery: Delivery): VerifyResult {
  try {
    const parsed: unknown = JSON.parse(delivery.rawBody.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? 'valid' : 'malformed';
  } catch {
    return 'malformed';
  }
}

/**
 * Checks a delivery against every configured method (all must pass), over the raw bytes and
 * headers only: nothing is parsed before those pass; then the body must be a JSON object.
 */
export function verifyDelivery(webhook: WebhookConfig, delivery: Delivery): VerifyResult {
  for (const check of [checkMtls, checkBasic, checkHmac]) {
    const result = check(webhook, delivery);
    if (result !== 'valid') return result;
  }
  return checkBody(delivery);
}
