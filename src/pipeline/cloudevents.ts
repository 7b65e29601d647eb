/**
 * CloudEvents 1.0 in Kafka binary content mode: attributes travel as `ce_*` headers, the event data
 * is the JSON message value. See the CloudEvents Kafka protocol binding, section 3.2.
 */

export const CE_TYPES = {
  grantIssued: 'dev.grantline.grant.issued.v1',
  grantRevoked: 'dev.grantline.grant.revoked.v1',
  grantAmended: 'dev.grantline.grant.amended.v1',
  requestRejected: 'dev.grantline.request.rejected.v1',
  custody: 'dev.grantline.custody.v1',
  fulfillment: 'dev.grantline.fulfillment.result.v1',
  lifecycleAlert: 'dev.grantline.lifecycle.alert.v1',
  policyAlert: 'dev.grantline.policy.alert.v1',
  adapterAlert: 'dev.grantline.adapter.alert.v1',
  /** grantline refused a message it read (bad MAC or signature, unauthorized signer). */
  trustAlert: 'dev.grantline.trust.alert.v1',
  ticketEvent: 'dev.grantline.ticket.event.v1',
  dlq: 'dev.grantline.dlq.v1',
  /** An offboarding grantline itself writes on `identity.lifecycle.v1` (from the SCIM endpoint). */
  identityLifecycle: 'dev.grantline.identity.lifecycle.v1',
  /** A SCIM user or group on the internal `grantline.directory.v1`. */
  directoryRecord: 'dev.grantline.directory.record.v1',
  /** The canonical request a decision was taken on, on `grantline.decision-requests.v1`. */
  decisionRequest: 'dev.grantline.decision.request.v1',
} as const;

export interface CloudEventAttributes {
  id: string;
  source: string;
  type: string;
  time: string;
  subject?: string;
  dataschema?: string;
}

export interface EncodedMessage {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** Builds a Kafka message in binary mode. `data` is serialized as JSON. */
export function encodeCloudEvent(key: string, attributes: CloudEventAttributes, data: unknown): EncodedMessage {
  const headers: Record<string, string> = {
    ce_specversion: '1.0',
    ce_id: attributes.id,
    ce_source: attributes.source,
    ce_type: attributes.type,
    ce_time: attributes.time,
    'content-type': 'application/json',
  };
  if (attributes.subject !== undefined) headers.ce_subject = attributes.subject;
  if (attributes.dataschema !== undefined) headers.ce_dataschema = attributes.dataschema;
  return { key, value: JSON.stringify(data), headers };
}

export type DecodedCloudEvent =
  | { ok: true; attributes: CloudEventAttributes & { specversion: string }; data: unknown }
  | { ok: false; error: string };

function headerText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return headerText(value[0]);
  return undefined;
}

/** Reads a binary-mode CloudEvent; malformed input is an expected outcome, returned, not thrown. */
export function decodeCloudEvent(headers: Record<string, unknown> | undefined, value: Buffer | string | null): DecodedCloudEvent {
  const h = headers ?? {};
  const specversion = headerText(h.ce_specversion);
  const id = headerText(h.ce_id);
  const source = headerText(h.ce_source);
  const type = headerText(h.ce_type);
  const time = headerText(h.ce_time);
  if (specversion !== '1.0') return { ok: false, error: `ce_specversion is ${specversion ?? 'missing'}, expected 1.0` };
  if (!id || !source || !type || !time) return { ok: false, error: 'ce_id, ce_source, ce_type and ce_time are required' };
  if (value === null) return { ok: false, error: 'message has no value' };
  let data: unknown;
  try {
    data = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    return { ok: false, error: `value is not JSON: ${(err as Error).message}` };
  }
  const subject = headerText(h.ce_subject);
  const dataschema = headerText(h.ce_dataschema);
  return {
    ok: true,
    attributes: {
      specversion,
      id,
      source,
      type,
      time,
      ...(subject === undefined ? {} : { subject }),
      ...(dataschema === undefined ? {} : { dataschema }),
    },
    data,
  };
}

/**
 * What the ticket index (`grantline.ticket-index.v1`) records of an output: a custody event or a
 * signed message of one ticket. The committer learns its offset when it is sent and indexes it.
 */
export interface IndexTag {
  readonly connectorId: string;
  readonly ticketId: string;
  /** `custody`, or the CloudEvent type of the signed message. */
  readonly type: string;
  /** The custody event id, or the grant, revocation, amendment or rejection id. */
  readonly id: string;
  readonly grantId: string | null;
  /** On custody events: the ticket's human key as the event records it. */
  readonly ticketKey?: string;
  /** Names to index the ticket under (its human key and source id), when they may be new. */
  readonly names?: readonly string[];
}

/** One message bound for a topic, published in the processor's transaction. */
export interface Output {
  readonly topic: string;
  readonly message: EncodedMessage;
  /** Set on the records the ticket index points at. */
  readonly index?: IndexTag;
}
