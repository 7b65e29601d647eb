/**
 * Every statement the PostgreSQL adapter runs. Identifiers (role and schema names, which come
 * only from the validated config) are quoted with `escapeIdentifier`; everything else is a `$n`
 * parameter. GRANT and REVOKE take no parameters in PostgreSQL, hence the quoting.
 */
import pg from 'pg';

const id = (name: string): string => pg.escapeIdentifier(name);

/**
 * The bookkeeping: `memberships`, one row per grant the adapter provisioned (why: grant id,
 * entitlement, subject, ticket, expiry; and when and why it ended), and `membership_log`, an
 * append-only line per GRANT or REVOKE the adapter ran, written in the same transaction.
 */
export function bookkeepingDdl(schema: string): string[] {
  const s = id(schema);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.memberships (
      grant_id text PRIMARY KEY,
      group_role text NOT NULL,
      member_role text NOT NULL,
      entitlement_id text NOT NULL,
      subject_id text NOT NULL,
      ticket_key text NOT NULL,
      expires_at timestamptz NOT NULL,
      granted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      revoked_at timestamptz,
      revoke_reason text
    )`,
    `CREATE INDEX IF NOT EXISTS memberships_open ON ${s}.memberships (group_role, member_role) WHERE revoked_at IS NULL`,
    `CREATE TABLE IF NOT EXISTS ${s}.membership_log (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT clock_timestamp(),
      action text NOT NULL CHECK (action IN ('grant', 'revoke')),
      group_role text NOT NULL,
      member_role text NOT NULL,
      grant_ids text[] NOT NULL,
      reason text NOT NULL
    )`,
  ];
}

/** The statements of one bookkeeping schema. */
export function sql(schema: string) {
  const s = id(schema);
  return {
    grant: (role: string, member: string) => `GRANT ${id(role)} TO ${id(member)}`,
    revoke: (role: string, member: string, grantor: string | null) => `REVOKE ${id(role)} FROM ${id(member)}${grantor === null ? '' : ` GRANTED BY ${id(grantor)}`}`,
    /** $1 group roles: every membership in them, whoever granted it. */
    members: `SELECT DISTINCT g.rolname AS role, m.rolname AS member
      FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
      WHERE g.rolname = ANY($1::text[]) ORDER BY 1, 2`,
    /** $1 role, $2 member: who granted the membership (one row per grantor on PostgreSQL 16+). */
    grantors: `SELECT gr.rolname AS grantor
      FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member JOIN pg_roles gr ON gr.oid = am.grantor
      WHERE g.rolname = $1 AND m.rolname = $2`,
    /** $1 group roles: the grants recorded for memberships not yet revoked. */
    openGrants: `SELECT grant_id, group_role, member_role FROM ${s}.memberships WHERE revoked_at IS NULL AND group_role = ANY($1::text[])`,
    /** $1 grant id … $7 expiry. A grant provisioned again (its membership was removed by hand) is reopened. */
    recordGrant: `INSERT INTO ${s}.memberships (grant_id, group_role, member_role, entitlement_id, subject_id, ticket_key, expires_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (grant_id) DO UPDATE SET revoked_at = NULL, revoke_reason = NULL, granted_at = clock_timestamp()`,
    /** $1 role, $2 member, $3 reason. */
    closeGrants: `UPDATE ${s}.memberships SET revoked_at = clock_timestamp(), revoke_reason = $3 WHERE group_role = $1 AND member_role = $2 AND revoked_at IS NULL`,
    /** $1 action, $2 role, $3 member, $4 grant ids, $5 reason. */
    log: `INSERT INTO ${s}.membership_log (action, group_role, member_role, grant_ids, reason) VALUES ($1, $2, $3, $4, $5)`,
  };
}
