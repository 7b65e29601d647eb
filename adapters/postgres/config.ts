/**
 * The PostgreSQL adapter's config: how to reach the database, which catalog entitlement is which
 * group role and which subject is which login role (nothing outside this mapping is ever
 * touched), and, for the `grantline-postgres-adapter` process, the kit's settings. One strict
 * schema: every unknown or bad field is reported with its path, at once, and no value is quoted.
 */
import { z } from 'zod';
import { SecretString } from '../../src/connector/secret.js';
import { SigningKeysConfig } from '../../src/custody/index.js';
import { ConfigError, formatPath, readConfigTree, resolveReferences, schemaIssues, type Env } from '../../src/config/index.js';
import { integer, nonEmpty } from '../../src/config/fields.js';
import { KafkaSection } from '../../src/config/kafka-schema.js';
import { dirname, resolve } from 'node:path';

/** A PostgreSQL role name as `pg_roles.rolname` has it (case and all): at most 63 bytes, no NUL. */
const RoleName = z
  .string({ error: 'expected a role name' })
  .min(1, 'must not be empty')
  .refine((s) => Buffer.byteLength(s) <= 63, 'PostgreSQL role names have at most 63 bytes')
  .refine((s) => !s.includes('\0'), 'must not contain NUL');

/** A non-empty map from catalog or directory ids to role names. */
const RoleMap = (what: string) =>
  z.record(nonEmpty, RoleName, { error: `expected a map from ${what} to role names` }).refine((m) => Object.keys(m).length > 0, `map at least one ${what.replace(/s$/, '')}`);

/** The target part: what `createPostgresTarget` needs. */
export const PostgresTargetConfig = z
  .strictObject({
    connection: z.strictObject({
      host: nonEmpty.default('127.0.0.1'),
      port: integer(1, 65_535).default(5432),
      database: nonEmpty,
      user: nonEmpty,
      /** Absent for trust or peer authentication. A `Secret`: never printed. */
      password: SecretString.optional(),
      /** TLS to the server (`true`: verify against the system CAs). Absent: plaintext. */
      ssl: z.boolean({ error: 'expected true or false' }).optional(),
    }),
    /** Schema of the adapter's bookkeeping tables (created when missing). */
    bookkeepingSchema: RoleName.default('grantline_adapter'),
    /** Catalog entitlement id → PostgreSQL group role, e.g. `db-orders-prod-readwrite: orders_rw`. */
    entitlements: RoleMap('entitlement ids'),
    /** Subject id → PostgreSQL login role, e.g. `svc-orders: svc_orders`. */
    subjects: RoleMap('subject ids'),
  })
  .superRefine((config, ctx) => {
    const groups = new Set(Object.values(config.entitlements));
    for (const [subject, role] of Object.entries(config.subjects)) {
      if (groups.has(role)) ctx.addIssue({ code: 'custom', path: ['subjects', subject], message: `role ${role} is also an entitlement's group role; a role is one or the other` });
    }
  });
export type PostgresTargetConfig = z.infer<typeof PostgresTargetConfig>;

/** The whole `grantline-postgres-adapter` config file. */
export const PostgresAdapterConfig = z.strictObject({
  adapter: z.strictObject({
    /** Its name in fulfillment results and alerts. */
    name: nonEmpty.default('postgres'),
    /** The grant channel it serves (`access.grants.<channel>.v1`). */
    channel: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and "-"'),
    onDrift: z.enum(['alert', 'revoke'], { error: 'expected alert or revoke' }).default('alert'),
    reconcileIntervalMs: integer(100, 86_400_000).default(30_000),
  }),
  /** grantline's JWKS: `http(s)://…/.well-known/jwks.json`. */
  jwks: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL of grantline\'s /.well-known/jwks.json' }),
  /** The adapter's own Ed25519 key, which signs its results (`grantline keygen --kid …`). */
  signingKey: SigningKeysConfig,
  kafka: KafkaSection,
  postgres: PostgresTargetConfig,
  /** Serves `/metrics` (Prometheus) and `/.well-known/jwks.json` (the adapter's public key). Absent: none. */
  http: z.strictObject({ host: nonEmpty.default('127.0.0.1'), port: integer(0, 65_535) }).optional(),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).default({ level: 'info' }),
});
export type PostgresAdapterConfig = z.infer<typeof PostgresAdapterConfig>;

/**
 * Validates a parsed config tree after resolving its `${env:…}` and `${file:…}` references.
 * Throws one `ConfigError` naming every bad field with its path.
 */
export function parsePostgresAdapterConfig(raw: unknown, options: { baseDir: string; env?: Env; source?: string }): PostgresAdapterConfig {
  const { value, failures } = resolveReferences(raw ?? {}, { env: options.env ?? process.env, baseDir: options.baseDir });
  const issues = failures.map((f) => ({ path: formatPath(f.path), problem: f.problem }));
  const result = PostgresAdapterConfig.safeParse(value);
  if (result.success && issues.length === 0) return result.data;
  if (!result.success) issues.push(...schemaIssues(result.error.issues, issues.map((i) => i.path)));
  throw new ConfigError(options.source ?? '(config)', issues);
}

/** Reads and validates a config file; `${file:…}` paths are relative to it. */
export function loadPostgresAdapterConfig(path: string, env: Env = process.env): PostgresAdapterConfig {
  return parsePostgresAdapterConfig(readConfigTree(path), { baseDir: dirname(resolve(path)), env, source: path });
}
