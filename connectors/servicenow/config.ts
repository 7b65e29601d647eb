import { z } from 'zod';
import { SecretString } from '../../src/connector/secret.js';

/** A ServiceNow record id: 32 lower-case hex characters. The one home of this rule for the connector. */
export const SYS_ID = /^[0-9a-f]{32}$/;
const SysId = z.string().regex(SYS_ID, 'expected a 32-character lowercase hex sys_id');
const HeaderName = z
  .string()
  .regex(/^[A-Za-z0-9-]+$/, 'expected an HTTP header name')
  .transform((h) => h.toLowerCase());
const VariableName = z.string().min(1).max(80);

/** A base64 HMAC key as `CertificateEncryption.generateMac` takes it: at least 32 decoded bytes. */
const Base64Key = z
  .string({ error: 'expected a base64 key (use ${env:NAME} or ${file:PATH})' })
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected a base64 key')
  .refine((k) => Buffer.from(k, 'base64').length >= 32, 'the key must decode to at least 32 bytes')
  .pipe(SecretString);

const Auth = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('basic'), username: z.string().min(1), password: SecretString }),
  z.strictObject({ type: z.literal('bearer'), token: SecretString }),
]);

/**
 * How inbound deliveries prove they come from the instance. Every configured method must pass
 * (they are AND-ed); configure only what the instance's outbound REST message actually sends.
 */
const Webhook = z
  .strictObject({
    /** Base64 key; the business rule signs `timestamp + "." + body` with it (HmacSHA256, base64). */
    hmacSecret: Base64Key.optional(),
    signatureHeader: HeaderName.default('x-grantline-signature'),
    timestampHeader: HeaderName.default('x-grantline-timestamp'),
    /** Deliveries whose timestamp is further than this from our clock are refused as `stale`. */
    maxSkewSeconds: z.number().int().positive().max(3600).default(300),
    basicAuth: z.strictObject({ username: z.string().min(1), password: SecretString }).optional(),
    /**
     * A header a TLS-terminating proxy sets after it verified the instance's client certificate
     * (e.g. `x-client-cert-verified: SUCCESS`). Only trust this when the proxy strips the header
     * from incoming requests.
     */
    trustMtlsHeader: z.strictObject({ name: HeaderName, value: z.string().min(1) }).optional(),
  })
  .refine((w) => w.hmacSecret !== undefined || w.basicAuth !== undefined || w.trustMtlsHeader !== undefined, {
    message: 'configure at least one of hmacSecret, basicAuth, trustMtlsHeader',
  });

/** Catalog variable names (`item_option_new.name`) that carry each request field. */
const Variables = z
  .strictObject({
    subject: VariableName,
    /** Holds one of the subject types (`human`, `service_account`, ...); absent: the subject is human. */
    subjectType: VariableName.optional(),
    resource: VariableName,
    environment: VariableName,
    ttlHours: VariableName.optional(),
    ttlSeconds: VariableName.optional(),
    justification: VariableName,
    breakGlass: VariableName.optional(),
  })
  .refine((v) => !(v.ttlHours !== undefined && v.ttlSeconds !== undefined), {
    message: 'configure ttlHours or ttlSeconds, not both',
  });

const Statuses = z
  .strictObject({
    /** RITM `state` values that mean cancelled/withdrawn (4 closed incomplete, 7 closed skipped). */
    cancelled: z.array(z.string().min(1)).default(['4', '7']),
    /** RITM `state` values on which no decision is made or written back. */
    notActionable: z.array(z.string().min(1)).default(['3', '4', '7']),
  });

const Poll = z
  .strictObject({
    pageSize: z.number().int().min(1).max(10_000).default(100),
    /** Upper bound of pages read in one `poll()` call; the watermark resumes after the last one. */
    maxPages: z.number().int().min(1).default(50),
    /**
     * Each poll re-reads this many seconds before its watermark (and skips what it already
     * returned), for records that share the watermark's second or became visible late.
     */
    overlapSeconds: z.number().int().min(0).max(3600).default(10),
    tables: z
      .array(z.enum(['sc_req_item', 'sysapproval_approver']))
      .min(1)
      .default(['sc_req_item', 'sysapproval_approver']),
  });

const Reviews = z
  .strictObject({
    table: z.enum(['sc_task', 'incident']).default('sc_task'),
    assignmentGroup: SysId.optional(),
  });

/** Config of one ServiceNow connector instance, parsed by the core before `create`. */
export const ServiceNowConfig = z
  .strictObject({
    /** `https://<instance>.service-now.com`; every API call goes here and only here. */
    instanceUrl: z
      .url()
      .refine((u) => /^https?:$/.test(new URL(u).protocol), 'expected an http(s) URL')
      .transform((u) => new URL(u).origin),
    auth: Auth,
    timeoutMs: z.number().int().positive().default(15_000),
    webhook: Webhook,
    mapping: z
      .strictObject({
        /** `sc_cat_item` sys_id → catalog entitlement id. */
        catalogItems: z.record(SysId, z.string().min(1)),
        /** Generic "other access" items: their requests are free text, always rejected. */
        otherAccessItems: z.array(SysId).default([]),
        variables: Variables,
        /**
         * Read `sys_audit` for changes of `cat_item`/`opened_by`/`requested_for` so an approval that
         * predates such a change is stale. Needs read access to `sys_audit` for the integration user.
         */
        auditRequestFields: z.boolean().default(true),
      }),
    statuses: Statuses.default({ cancelled: ['4', '7'], notActionable: ['3', '4', '7'] }),
    poll: Poll.default({ pageSize: 100, maxPages: 50, overlapSeconds: 10, tables: ['sc_req_item', 'sysapproval_approver'] }),
    reviews: Reviews.default({ table: 'sc_task' }),
  });
export type ServiceNowConfig = z.infer<typeof ServiceNowConfig>;
/** The config as written in YAML, before defaults and secret wrapping. */
export type ServiceNowConfigInput = z.input<typeof ServiceNowConfig>;
