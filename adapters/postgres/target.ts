/**
 * A PostgreSQL target for the adapter kit: a grant of a mapped entitlement to a mapped subject is
 * the membership of the subject's login role in the entitlement's group role
 * (`GRANT orders_rw TO svc_orders`), recorded with its grant id and expiry in the adapter's own
 * bookkeeping table, in the same transaction. Role names only ever come from the mapping, and
 * always reach SQL quoted (`escapeIdentifier`); every value is a query parameter.
 */
import pg from 'pg';
import type { Grant } from '../../src/model/index.js';
import type { ActualPrivilege, AdapterTarget, Privilege, RevokeCause } from '../kit/index.js';
import type { PostgresTargetConfig } from './config.js';
import { bookkeepingDdl, sql } from './sql.js';

/** One membership: `member` (a mapped login role) in `role` (a mapped group role). */
export interface RoleMembership extends Privilege {
  readonly role: string;
  readonly member: string;
}

/** A `pg` pool or client: what the target runs its statements on. */
type Queryable = Pick<pg.Pool, 'query' | 'connect'>;

function membership(role: string, member: string): RoleMembership {
  return { key: JSON.stringify([role, member]), description: `${member} is a member of ${role}`, role, member };
}

function why(cause: RevokeCause): string {
  if (cause.kind === 'drift') {
    return cause.grantIds.length === 0 ? 'drift: granted outside grantline, no grant in force explains it' : `drift: recorded for ${cause.grantIds.join(', ')}, which no longer explain it`;
  }
  return cause.grants
    .map(({ grant, revocation }) => (revocation === null ? `${grant.grantId} expired at ${grant.expiresAt}` : `${grant.grantId} revoked (${revocation.trigger}, ${revocation.revocationId})`))
    .join('; ');
}

export class PostgresTarget implements AdapterTarget<RoleMembership> {
  private readonly groupRoles: ReadonlySet<string>;
  private readonly loginRoles: ReadonlySet<string>;
  private readonly q: ReturnType<typeof sql>;

  private constructor(
    private readonly pool: Queryable & { end?: () => Promise<void> },
    private readonly config: PostgresTargetConfig,
  ) {
    this.groupRoles = new Set(Object.values(config.entitlements));
    this.loginRoles = new Set(Object.values(config.subjects));
    this.q = sql(config.bookkeepingSchema);
  }

  /**
   * Connects (a small pool), creates the bookkeeping tables when missing, and checks that every
   * mapped role exists, so a typo in the mapping fails at start rather than at the first grant.
   */
  static async connect(config: PostgresTargetConfig): Promise<PostgresTarget> {
    const { connection } = config;
    const pool = new pg.Pool({
      host: connection.host,
      port: connection.port,
      database: connection.database,
      user: connection.user,
      password: connection.password?.reveal(),
      ssl: connection.ssl === true ? { rejectUnauthorized: true } : undefined,
      max: 4,
    });
    // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const target = new PostgresTarget(pool, config);
    try {
      await target.init();
    } catch (err) {
      await pool.end();
      throw err;
    }
    return target;
  }

  private async init(): Promise<void> {
    await this.transaction(async (client) => {
      // Two adapters starting at once must not race on CREATE ... IF NOT EXISTS.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`grantline-adapter:${this.config.bookkeepingSchema}`]);
      for (const statement of bookkeepingDdl(this.config.bookkeepingSchema)) await client.query(statement);
    });
    const wanted = [...this.groupRoles, ...this.loginRoles];
    const { rows } = await this.pool.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])', [wanted]);
    const found = new Set(rows.map((r) => r.rolname));
    const missing = wanted.filter((r) => !found.has(r));
    if (missing.length > 0) throw new Error(`the mapping names roles the database does not have: ${missing.join(', ')}`);
  }

  /** An entitlement outside the mapping is another adapter's (null); an unmapped subject of a mapped one cannot be fulfilled. */
  privilegeOf(grant: Grant): RoleMembership | { unfulfillable: string } | null {
    const role = this.config.entitlements[grant.entitlementId];
    const member = this.config.subjects[grant.subject.id];
    if (role === undefined) return null;
    if (member === undefined) return { unfulfillable: `subject ${grant.subject.id} has no login role in this adapter's mapping (postgres.subjects), so ${grant.entitlementId} cannot be given to it` };
    return membership(role, member);
  }

  async provision(grant: Grant, privilege: RoleMembership): Promise<string> {
    const { role, member } = this.managed(privilege);
    await this.transaction(async (client) => {
      await client.query(this.q.grant(role, member));
      await client.query(this.q.recordGrant, [grant.grantId, role, member, grant.entitlementId, grant.subject.id, grant.source.ticketKey, grant.expiresAt]);
      await client.query(this.q.log, ['grant', role, member, [grant.grantId], `grant ${grant.grantId} (${grant.source.ticketKey}) until ${grant.expiresAt}`]);
    });
    return `${member} in ${role}`;
  }

  async revoke(privilege: RoleMembership, cause: RevokeCause): Promise<string> {
    const { role, member } = this.managed(privilege);
    const grantIds = cause.kind === 'ended' ? cause.grants.map((g) => g.grant.grantId) : cause.grantIds;
    await this.transaction(async (client) => {
      await client.query(this.q.revoke(role, member, null));
      // PostgreSQL 16 and later keep a membership per grantor, and REVOKE removes only the current
      // role's: a membership granted by hand by someone else needs GRANTED BY that role.
      const { rows } = await client.query<{ grantor: string }>(this.q.grantors, [role, member]);
      for (const { grantor } of rows) await client.query(this.q.revoke(role, member, grantor));
      const left = await client.query<{ grantor: string }>(this.q.grantors, [role, member]);
      if (left.rows.length > 0) {
        throw new Error(`${member} is still a member of ${role} (granted by ${left.rows.map((r) => r.grantor).join(', ')}), which this adapter's database role cannot revoke`);
      }
      await client.query(this.q.closeGrants, [role, member, why(cause)]);
      await client.query(this.q.log, ['revoke', role, member, grantIds, why(cause)]);
    });
    return `${member} out of ${role}`;
  }

  async listActual(): Promise<ActualPrivilege<RoleMembership>[]> {
    const groups = [...this.groupRoles];
    const members = await this.pool.query<{ role: string; member: string }>(this.q.members, [groups]);
    const recorded = await this.pool.query<{ grant_id: string; group_role: string; member_role: string }>(this.q.openGrants, [groups]);
    const grantIds = new Map<string, string[]>();
    for (const r of recorded.rows) {
      const key = membership(r.group_role, r.member_role).key;
      grantIds.set(key, [...(grantIds.get(key) ?? []), r.grant_id]);
    }
    return members.rows.map(({ role, member }) => {
      const privilege = membership(role, member);
      // A member outside the mapping is reported as drift but never revoked: the adapter touches no role it was not given.
      return { privilege, grantIds: grantIds.get(privilege.key) ?? [], revocable: this.loginRoles.has(member) };
    });
  }

  /** Closes the pool. */
  async close(): Promise<void> {
    await this.pool.end?.();
  }

  private managed(privilege: RoleMembership): { role: string; member: string } {
    if (!this.groupRoles.has(privilege.role) || !this.loginRoles.has(privilege.member)) {
      throw new Error(`refusing to touch ${privilege.member} in ${privilege.role}: not in this adapter's mapping`);
    }
    return privilege;
  }

  private async transaction(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
