import { z } from 'zod';
import { SubjectType } from '../../src/model/index.js';
import { SecretString } from '../../src/connector/secret.js';

/** A Jira custom field id as the REST API names it (`customfield_10100`) or a system field id. */
const FieldId = z.string().regex(/^(customfield_[0-9]+|[a-z][a-zA-Z]*)$/, 'expected a field id like customfield_10100');

/**
 * One mapped field. `name` is the field's display name: Data Center changelog items carry no
 * `fieldId`, only the name, so the reported field changes (`changes.ts`) match them by name when it is given.
 */
const MappedField = z.strictObject({ fieldId: FieldId, name: z.string().min(1).optional() });

/** Jira connector configuration (one instance, say `jira-main`). */
export const JiraConfig = z
  .strictObject({
    /** The only host this connector ever calls. URLs inside payloads are never fetched. */
    baseUrl: z.url().transform((u) => u.replace(/\/+$/, '')),
    deployment: z.enum(['cloud', 'datacenter']),
    auth: z.discriminatedUnion('kind', [
      /** Cloud: account email + API token. */
      z.strictObject({ kind: z.literal('basic'), email: z.string().min(1), apiToken: SecretString }),
      /** Data Center: username + password. */
      z.strictObject({ kind: z.literal('password'), username: z.string().min(1), password: SecretString }),
      /** Data Center: personal access token, sent as `Authorization: Bearer`. */
      z.strictObject({ kind: z.literal('bearer'), token: SecretString }),
    ]),
    webhook: z
      .strictObject({
        /** Shared secret of the webhook: `X-Hub-Signature: sha256=<hex>` is required when set. */
        secret: SecretString.optional(),
        /** Data Center without signing: the webhook URL carries basic auth credentials. */
        basicAuth: z.strictObject({ username: z.string().min(1), password: SecretString }).optional(),
        /** A delivery whose signed body `timestamp` is further than this from now is refused as `stale`. */
        maxAgeSeconds: z.number().int().positive().default(300),
      })
      .refine((w) => w.secret !== undefined || w.basicAuth !== undefined, {
        message: 'set webhook.secret (signed webhooks) or webhook.basicAuth (Data Center without signing)',
      }),
    /** Project keys watched; deliveries about other projects are acknowledged and dropped. */
    projects: z.array(z.string().regex(/^[A-Z][A-Z0-9_]+$/, 'expected a project key like ACC')).min(1),
    fields: z.strictObject({
      /** Select list carrying the entitlement; `options` maps an option value or option id to a catalog id. */
      entitlement: MappedField.extend({ options: z.record(z.string(), z.string().min(1)) }),
      /**
       * Who the access is for. A user picker resolves through the directory (type `human` unless
       * `type` says otherwise); a text value is taken as the identity's directory id. `typeField`
       * (a select) with `typeOptions` maps an option to the subject type. Empty: the requester.
       */
      subject: MappedField.extend({
        type: SubjectType.default('human'),
        typeField: MappedField.extend({ options: z.record(z.string(), SubjectType) }).optional(),
      }).optional(),
      resource: MappedField.optional(),
      /** `options` maps an option value to the environment name; absent: the value as written. */
      environment: MappedField.extend({ options: z.record(z.string(), z.string().min(1)).optional() }).optional(),
      /** Requested TTL, a number field, in the `unit` given (default hours). */
      ttl: MappedField.extend({ unit: z.enum(['hours', 'seconds']).default('hours') }).optional(),
      /** Justification text; absent: the issue description. */
      justification: MappedField.optional(),
      /** Checkbox or select: break-glass when any selected value is in `trueValues`. */
      breakGlass: MappedField.extend({ trueValues: z.array(z.string()).default(['Yes', 'yes', 'true']) }).optional(),
    }),
    approvals: z
      .strictObject({
        /** `jsm`: JSM approval records. `workflow`: a status transition recorded in the changelog. */
        mode: z.enum(['jsm', 'workflow']),
        approvedStatus: z.string().min(1).optional(),
        rejectedStatus: z.string().min(1).optional(),
      })
      .refine((a) => a.mode === 'jsm' || a.approvedStatus !== undefined, {
        message: 'approvals.mode "workflow" needs approvals.approvedStatus',
        path: ['approvedStatus'],
      }),
    statuses: z
      .strictObject({
        cancelled: z.array(z.string()).default(['Cancelled', 'Canceled', 'Withdrawn', 'Declined']),
        closedNotActionable: z.array(z.string()).default(['Done', 'Closed', 'Resolved']),
      })
      .default({ cancelled: ['Cancelled', 'Canceled', 'Withdrawn', 'Declined'], closedNotActionable: ['Done', 'Closed', 'Resolved'] }),
    poll: z
      .strictObject({
        /** Extra JQL ANDed to the watched-projects clause. */
        jql: z.string().optional(),
        pageSize: z.number().int().min(1).max(100).default(50),
        /** JQL dates are read in the API user's profile time zone; set it here (IANA name). */
        timeZone: z.string().default('UTC'),
      })
      .default({ pageSize: 50, timeZone: 'UTC' }),
    writeBack: z
      .strictObject({
        /** Restrict plain-Jira comments to a role or group (JSM comments are internal anyway). */
        visibility: z.strictObject({ type: z.enum(['role', 'group']), value: z.string().min(1) }).optional(),
      })
      .default({}),
    review: z
      .strictObject({
        projectKey: z.string().regex(/^[A-Z][A-Z0-9_]+$/),
        issueType: z.string().default('Task'),
        linkType: z.string().default('Relates'),
      })
      .optional(),
  });
export type JiraConfig = z.infer<typeof JiraConfig>;
/** The config as written in YAML, before defaults and secrets are applied. */
export type JiraConfigInput = z.input<typeof JiraConfig>;
