/**
 * Inbound deliveries: `POST /webhooks/<id>` with a JSON body `{ ticketId, eventId?, timestamp, ... }`
 * and `<signatureHeader>: sha256=<hex>`, the HMAC-SHA256 of the raw body with `webhook.secret`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Delivery, Identification, VerifyResult } from '../../src/connector/contract.js';
import type { JsonWebhookConfig } from './config.js';

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/** The body after verification. Lenient: a source may send more; `self` and other URLs are never fetched. */
const DeliveryBody = z.looseObject({
  ticketId: z.string().min(1),
  /** The source's id of this event, the same on every retry of it: the dedup key. */
  eventId: z.string().min(1).optional(),
  event: z.string().optional(),
  /** Epoch milliseconds, covered by the signature: the replay window is measured on it. */
  timestamp: z.number(),
});

/** The signature header a source sends for these exact bytes. */
export function signJsonWebhook(body: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Signature first, over the raw bytes, in constant time; then the signed timestamp must be inside the window. */
export function verifyJsonDelivery(webhook: JsonWebhookConfig['webhook'], delivery: Delivery): VerifyResult {
  const header = delivery.headers[webhook.signatureHeader];
  if (header === undefined || header.trim() === '') return 'missing_signature';
  const match = SIGNATURE.exec(header.trim());
  if (match === null) return 'bad_signature';
  const expected = createHmac('sha256', webhook.secret.reveal()).update(delivery.rawBody).digest();
  const given = Buffer.from(match[1]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad_signature';
  let timestamp: unknown;
  try {
    timestamp = (JSON.parse(delivery.rawBody.toString('utf8')) as { timestamp?: unknown } | null)?.timestamp;
  } catch {
    return 'stale'; // authentic, but nothing says when it was sent: not told apart from a replay
  }
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) return 'stale';
  return Math.abs(delivery.receivedAt.getTime() - timestamp) <= webhook.maxAgeSeconds * 1000 ? 'valid' : 'stale';
}

/** Ticket id and delivery id (the source's `eventId`, else a hash of the body). Pure. */
export function identifyJsonDelivery(delivery: Delivery): Identification {
  let doc: unknown;
  try {
    doc = JSON.parse(delivery.rawBody.toString('utf8'));
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const body = DeliveryBody.safeParse(doc);
  if (!body.success) return { ok: false, reason: `body is not a ticket event: ${body.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')}` };
  const deliveryId = body.data.eventId ?? createHash('sha256').update(delivery.rawBody).digest('hex');
  return { ok: true, ticketId: body.data.ticketId, ticketKey: null, deliveryId, eventType: body.data.event ?? 'ticket.changed', relevant: true };
}
