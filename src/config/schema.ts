import { createPrivateKey, createPublicKey } from 'node:crypto';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { ConnectorType } from '../connector/contract.js';
import { collectKinds, kindProblems, type KindTables } from '../connector/kinds.js';
import { IDENTITY_FIELDS } from '../catalog/directory.js';
import { SecretString } from '../connector/secret.js';
import { integer, nonEmpty } from './fields.js';
import { HttpSection } from './http-schema.js';
import { KafkaSection } from './kafka-schema.js';
import { TrustSection } from './trust-schema.js';

/** Options that make the schema depend on where the file is and what is registered. */
export interface ConfigSchemaOptions {
  /** Directory relative paths (`catalog.path`, ...) are resolved against: the config file's directory. */
  readonly baseDir: string;
  /**
   * The connector types of this build, to validate `connectors[]` entries and the kinds each type
   * registers against: the service passes `connectors/registry.ts` (`src/service/connector-types.ts`).
   */
  readonly connectorTypes: Readonly<Record<string, ConnectorType>>;
  /** Default for `service.instanceId`. Default: the machine's hostname. */
  readonly hostname?: string;
}

// Connector ids appear in URLs (`/webhooks/:connectorId`) and in Kafka keys.
const CONNECTOR_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function isEd25519PrivatePem(pem: string): boolean {
  if (!pem.includes('-----BEGIN PRIVATE KEY-----')) return false; // PKCS#8 only
  try {
    return createPrivateKey({ key: pem, format: 'pem' }).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

function isEd25519PublicPem(pem: string): boolean {
  try {
    return createPublicKey({ key: pem, format: 'pem' }).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

const SigningKey = z.strictObject({
  kid: nonEmpty,
  // Checked before it becomes a Secret, so the message can say what is wrong without the value.
  privateKeyPem: z
    .string({ error: 'expected an Ed25519 PKCS#8 PEM private key (use ${file:PATH})' })
    .refine(isEd25519PrivatePem, 'not an Ed25519 private key in PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----")')
    .pipe(SecretString),
});

const RetiredPublicKey = z.strictObject({
  kid: nonEmpty,
  publicKeyPem: z.string().refine(isEd25519PublicPem, 'not an Ed25519 public key in PEM'),
});

const Signing = z
  .strictObject({
    activeKid: nonEmpty,
    keys: z.array(SigningKey).min(1, 'at least one signing key is needed'),
    retiredPublicKeys: z.array(RetiredPublicKey).default([]),
  })
  .superRefine((s, ctx) => {
    if (!s.keys.some((k) => k.kid === s.activeKid)) {
      ctx.addIssue({ code: 'custom', path: ['activeKid'], message: `no key in signing.keys has kid "${s.activeKid}"` });
    }
    const seen = new Set<string>();
    const all = [...s.keys.map((k, i) => ['keys', i] as const), ...s.retiredPublicKeys.map((k, i) => ['retiredPublicKeys', i] as const)];
    for (const [list, i] of all) {
      const kid = list === 'keys' ? s.keys[i]?.kid : s.retiredPublicKeys[i]?.kid;
      if (kid === undefined) continue;
      if (seen.has(kid)) ctx.addIssue({ code: 'custom', path: [list, i, 'kid'], message: `kid "${kid}" is used more than once` });
      seen.add(kid);
    }
  });

/** Log levels pino knows, plus `silent`. */
export const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
export type LogLevel = z.infer<typeof LogLevel>;

/**
 * What is wrong with the kinds a connector type registers, against the core's and the other types'
 * of the build (`src/connector/kinds.ts`); empty when nothing.
 */
export function sourceKindProblems(connectorType: ConnectorType, known: KindTables): string[] {
  const kinds = (connectorType as Partial<ConnectorType>).kinds;
  if (kinds === undefined) return ['registers no identity or evidence kinds (ConnectorType.kinds)'];
  const problems = kindProblems(known, `connector type ${connectorType.type}`, kinds);
  for (const spec of kinds.identities) {
    if (!(IDENTITY_FIELDS as readonly string[]).includes(spec.directoryField)) {
      problems.push(`identity kind "${spec.kind}" names directory field "${spec.directoryField}", which the directory does not have (known: ${IDENTITY_FIELDS.join(', ')})`);
    }
  }
  return problems;
}

/**
 * Builds the one schema a grantline config file is validated with. It is a function because
 * relative paths depend on where the file is and connector entries on what is registered.
 */
export function configSchema(options: ConfigSchemaOptions) {
  const types = options.connectorTypes;
  const knownTypes = Object.keys(types).sort();
  const knownKinds = collectKinds(types);
  const filePath = nonEmpty.transform((p) => (isAbsolute(p) ? p : resolve(options.baseDir, p)));

  const ConnectorEntry = z
    .looseObject({
      id: z.string({ error: 'expected a string' }).regex(CONNECTOR_ID, 'must be lower-case letters, digits, "-" or "_" (it is used in URLs)'),
      type: z.string({ error: 'expected a string' }),
    })
    .transform((entry, ctx) => {
      const { id, type, ...rest } = entry;
      const connectorType = Object.hasOwn(types, type) ? types[type] : undefined;
      if (connectorType === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['type'],
          message: `unknown connector type "${type}"; known types: ${knownTypes.length ? knownTypes.join(', ') : '(none registered)'}`,
        });
        // The parse has failed already; keeping the id lets the duplicate-id check still see it.
        return { id, type, config: undefined as unknown };
      }
      // The kinds it registers must be ones the core can hold: a directory field for each identity kind.
      for (const message of sourceKindProblems(connectorType, knownKinds)) ctx.addIssue({ code: 'custom', path: ['type'], message: `connector type "${type}": ${message}` });
      // Validate before anything is built (the connector's own schema, its own paths).
      const parsed = connectorType.configSchema.safeParse(rest);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          // Unknown keys stay `unrecognized_keys`, so they are reported like the core's: `connectors[0].webhok: unknown field`.
          if (issue.code === 'unrecognized_keys') ctx.addIssue({ code: 'unrecognized_keys', keys: issue.keys, path: issue.path, input: undefined, message: issue.message });
          else ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
        }
        return { id, type, config: undefined as unknown };
      }
      return { id, type, config: parsed.data as unknown };
    });

  return z.strictObject({
    service: z
      .strictObject({
        name: nonEmpty.default('grantline'),
        instanceId: nonEmpty.default(options.hostname ?? hostname()),
        /**
         * How long a graceful stop may take (drain HTTP, stop consumers) before the process gives up.
         * Below Kubernetes' default 30 s grace period; each kafkajs consumer may take seconds to leave its group.
         */
        shutdownTimeoutMs: integer(0, 600_000).default(25_000),
      })
      .prefault({}),
    kafka: KafkaSection,
    http: HttpSection,
    catalog: z.strictObject({ path: filePath }),
    directory: z.strictObject({ path: filePath }),
    signing: Signing,
    // Keys that authenticate what grantline reads from Kafka (docs/security.md).
    trust: TrustSection,
    policy: z.strictObject({ version: nonEmpty }),
    connectors: z
      .array(ConnectorEntry)
      .default([])
      .superRefine(
        (entries, ctx) => {
          const seen = new Map<string, number>();
          entries.forEach((entry: unknown, i) => {
            // Runs even when some entries failed (`when` below), so an entry may be partial here.
            const id = entry !== null && typeof entry === 'object' ? (entry as { id?: unknown }).id : undefined;
            if (typeof id !== 'string') return;
            const first = seen.get(id);
            if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate id "${id}" (also connectors[${first}])` });
            else seen.set(id, i);
          });
        },
        // Report duplicate ids together with every other problem, not only once the rest is fixed.
        { when: () => true },
      ),
    log: z.strictObject({ level: LogLevel.default('info') }).prefault({}),
    // The SCIM 2.0 endpoint an identity provider provisions people and groups to (`/scim/v2`).
    scim: z
      .strictObject({
        enabled: z.boolean({ error: 'expected true or false' }).default(false),
        /** What the IdP sends as `Authorization: Bearer <token>`; checked before it becomes a Secret, so the message never holds it. */
        bearerToken: z
          .string({ error: 'expected a secret string (use ${env:NAME} or ${file:PATH})' })
          .min(32, 'must be at least 32 characters (for example `openssl rand -base64 32`)')
          .pipe(SecretString)
          .optional(),
      })
      .prefault({})
      .superRefine((scim, ctx) => {
        if (scim.enabled && scim.bearerToken === undefined) ctx.addIssue({ code: 'custom', path: ['bearerToken'], message: 'required when scim.enabled is true' });
      }),
    // Tuning for the pipeline loops. Every knob is validated: a typo is an error with its path, not NaN.
    pipeline: z
      .strictObject({
        /** Most ticket events the processor decides in one Kafka transaction. */
        batchSize: integer(1, 10_000).default(100),
        /** Source API fetches in flight at once within a batch. */
        fetchConcurrency: integer(1, 256).default(8),
        /** Attempts before an event failing for a non-retriable reason goes to the DLQ. */
        maxAttempts: integer(1, 100).default(5),
        /** First and longest pause of a partition whose source is unavailable (doubling between). */
        retryBackoffMs: integer(0, 3_600_000).default(1_000),
        retryBackoffMaxMs: integer(0, 3_600_000).default(60_000),
        /** How long ingress waits for Kafka to take a delivery before answering 503. */
        produceTimeoutMs: integer(100, 120_000).default(10_000),
        /**
         * How long ingress remembers an authenticated body it stored, so a copy (Jira does not sign
         * its delivery id) is not written again; at least twice the connectors' freshness windows.
         */
        replayWindowMs: integer(1_000, 86_400_000).default(600_000),
        /** Most bodies remembered for that (about 250 bytes each); past it the oldest are forgotten. */
        replayMaxEntries: integer(1, 10_000_000).default(100_000),
        /** What may wait for Kafka while it is slow or down; past either bound a delivery is 503 at once. */
        ingressQueue: z
          .strictObject({ maxCount: integer(1, 10_000_000).default(10_000), maxBytes: integer(1024, 4 * 1024 * 1024 * 1024).default(32 * 1024 * 1024) })
          .prefault({}),
        /** Reconciliation polling of every connector; 0 turns the pollers off. */
        pollIntervalMs: z.union([z.literal(0), integer(1_000, 86_400_000)]).default(60_000),
        /** How far back the very first poll looks when no watermark is stored yet. */
        pollLookbackMs: integer(0, 365 * 86_400_000).default(86_400_000),
        /** How often the lifecycle looks for expired grants and overdue work. */
        lifecycleTickMs: integer(100, 60_000).default(1_000),
        /** How often open break-glass review tickets are read from their source. */
        reviewPollMs: integer(100, 86_400_000).default(60_000),
        /** A revocation no adapter confirms within this is overdue: alert and re-send. */
        revocationConfirmMs: integer(1_000, 7 * 86_400_000).default(900_000),
        /**
         * How often the lifecycle checks grant owners against the directory in force, and how often
         * the catalog and directory files are re-read in case a change went unnoticed.
         */
        directoryCheckMs: integer(100, 86_400_000).default(300_000),
        /**
         * A ticket whose source ticket is closed, with no active grant and nothing pending (every
         * revocation confirmed, every review closed), is retired this long after it closed: recorded
         * in custody (`ticket.retired`) and its state tombstoned. 0 retires at once.
         */
        retireAfterMs: integer(0, 3650 * 86_400_000).default(7 * 86_400_000),
      })
      .prefault({}),
  });
}

/** A validated grantline config. Secrets in it are `Secret` values; printing it shows `[redacted]`. */
export type GrantlineConfig = z.infer<ReturnType<typeof configSchema>>;
/** One validated `connectors[]` entry; `config` is the output of its type's `configSchema`. */
export type ConnectorInstanceConfig = GrantlineConfig['connectors'][number];
