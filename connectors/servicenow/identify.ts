import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Delivery, Identification } from '../../src/connector/contract.js';

const SysId = z.string().regex(/^[0-9a-f]{32}$/);

/**
 * The body the shipped business rule posts (see README.md). Strict: an unknown key means the
 * script on the instance is not ours, or changed, and the delivery is refused.
 */
export const ServiceNowDeliveryBody = z
  .object({
    table: z.enum(['sc_req_item', 'sysapproval_approver']),
    sys_id: SysId,
    sys_updated_on: z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
    /** For `sysapproval_approver`: the approved record's sys_id (the RITM). */
    document_id: SysId.optional(),
    /** For `sysapproval_approver`: the approved record's table. */
    source_table: z.string().min(1).max(80).optional(),
    /** The RITM number, when the rule sends it. */
    number: z.string().min(1).max(40).optional(),
    /** Record version; makes two changes within one second two deliveries. */
    sys_mod_count: z.string().regex(/^\d{1,10}$/).optional(),
    operation: z.enum(['insert', 'update']).optional(),
    /** The sending instance (`glide.servlet.uri`), for people reading the event. Never fetched. */
    instance_url: z.url().max(200).optional(),
  })
  .strict();
export type ServiceNowDeliveryBody = z.infer<typeof ServiceNowDeliveryBody>;

/**
 * Delivery id: SHA-256 of table, sys_id, sys_updated_on (and sys_mod_count when sent). A retried
 * delivery of the same change carries the same values, so it gets the same id.
 */
export function deliveryIdOf(body: ServiceNowDeliveryBody): string {
  const parts = [body.table, body.sys_id, body.sys_updated_on];
  if (body.sys_mod_count !== undefined) parts.push(body.sys_mod_count);
  return createHash('sha256').update(parts.join('\n'), 'utf8').digest('hex');
}

/** Reads what a verified delivery is about. Pure. */
export function identifyDelivery(delivery: Delivery): Identification {
  let json: unknown;
  try {
    json = JSON.parse(delivery.rawBody.toString('utf8'));
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const parsed = ServiceNowDeliveryBody.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    return { ok: false, reason: `body is not a grantline ServiceNow delivery: ${where}` };
  }
  const body = parsed.data;
  const eventType = `${body.table}.${body.operation ?? 'change'}`;
  const deliveryId = deliveryIdOf(body);
  if (body.table === 'sc_req_item') {
    return { ok: true, ticketId: body.sys_id, ticketKey: body.number ?? null, deliveryId, eventType, relevant: true };
  }
  if (body.document_id === undefined) {
    return { ok: false, reason: 'a sysapproval_approver delivery must carry document_id' };
  }
  // Approvals of other tables (change requests, ...) are not access requests.
  const relevant = body.source_table === undefined || body.source_table === 'sc_req_item';
  return { ok: true, ticketId: body.document_id, ticketKey: body.number ?? null, deliveryId, eventType, relevant };
}
