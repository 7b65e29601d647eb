/**
 * The real PostgreSQL server for the adapter tests and benchmark (127.0.0.1:5432, trust auth,
 * database `test`, as scripts/postgres.sh makes sure of; `GRANTLINE_TEST_PG_*` override). Each
 * user makes its own database and roles with a random suffix and drops them at the end, so runs
 * never collide.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PostgresTargetConfig } from '../adapters/postgres/config.js';

const server = {
  host: process.env.GRANTLINE_TEST_PG_HOST ?? '127.0.0.1',
  port: Number(process.env.GRANTLINE_TEST_PG_PORT ?? 5432),
  user: process.env.GRANTLINE_TEST_PG_USER ?? 'postgres',
};

/** A client on `database` (default `test`) as the test superuser. */
export async function pgClient(database = process.env.GRANTLINE_TEST_PG_DATABASE ?? 'test'): Promise<pg.Client> {
  const client = new pg.Client({ ...server, database });
  // Notices and warnings (GRANT of an existing membership) are expected; nothing to print.
  client.on('notice', () => undefined);
  await client.connect();
  return client;
}

/** A database and roles of one test file. Role names map the example catalog and directory. */
export interface Scratch {
  readonly database: string;
  /** Entitlement id → group role, subject id → login role: the adapter's mapping. */
  readonly entitlements: Record<string, string>;
  readonly subjects: Record<string, string>;
  /** A login role outside the mapping (a person's own account). */
  readonly outsider: string;
  /** Superuser client on the scratch database, for the test's own checks. */
  readonly admin: pg.Client;
  targetConfig(overrides?: Partial<PostgresTargetConfig>): PostgresTargetConfig;
  /** `pg_has_role(member, role, 'MEMBER')` by ids (`svc-orders`, `db-orders-prod-readwrite`). */
  isMember(subjectId: string, entitlementId: string): Promise<boolean>;
  /** Every membership in the mapped group roles, as `member>role`, sorted. */
  memberships(): Promise<string[]>;
  drop(): Promise<void>;
}

/**
 * Creates `gl_it_<suffix>` and the roles: one NOLOGIN group role per entitlement, one LOGIN role
 * per subject (never superuser: `pg_has_role` is always true for a superuser), and an outsider.
 */
export async function createScratch(entitlementIds: readonly string[], subjectIds: readonly string[]): Promise<Scratch> {
  const suffix = randomBytes(4).toString('hex');
  const database = `gl_it_${suffix}`;
  const role = (id: string) => `${id.replace(/[^a-z0-9]+/g, '_')}_${suffix}`;
  const entitlements = Object.fromEntries(entitlementIds.map((id) => [id, role(id)]));
  const subjects = Object.fromEntries(subjectIds.map((id) => [id, role(id)]));
  const outsider = `outsider_${suffix}`;
  const setup = await pgClient();
  try {
    await setup.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
    for (const r of Object.values(entitlements)) await setup.query(`CREATE ROLE ${pg.escapeIdentifier(r)} NOLOGIN`);
    for (const r of [...Object.values(subjects), outsider]) await setup.query(`CREATE ROLE ${pg.escapeIdentifier(r)} LOGIN NOSUPERUSER`);
  } finally {
    await setup.end();
  }
  const admin = await pgClient(database);
  const groupRoles = Object.values(entitlements);
  return {
    database,
    entitlements,
    subjects,
    outsider,
    admin,
    targetConfig: (overrides = {}) => ({
      connection: { host: server.host, port: server.port, database, user: server.user },
      bookkeepingSchema: 'grantline_adapter',
      entitlements,
      subjects,
      ...overrides,
    }),
    isMember: async (subjectId, entitlementId) => {
      const { rows } = await admin.query<{ member: boolean }>("SELECT pg_has_role($1, $2, 'MEMBER') AS member", [subjects[subjectId], entitlements[entitlementId]]);
      return rows[0]?.member === true;
    },
    memberships: async () => {
      const { rows } = await admin.query<{ m: string }>(
        `SELECT DISTINCT m.rolname || '>' || g.rolname AS m FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
         WHERE g.rolname = ANY($1::text[]) ORDER BY 1`,
        [groupRoles],
      );
      return rows.map((r) => r.m);
    },
    drop: async () => {
      await admin.end();
      const c = await pgClient();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
        for (const r of [...Object.values(subjects), outsider, ...groupRoles]) await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r)}`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Polls an async condition every 200 ms until it holds (true) or `timeoutMs` passes (false). */
export async function eventually(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}
