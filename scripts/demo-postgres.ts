/**
 * The quick start's PostgreSQL part: when a PostgreSQL server answers on 127.0.0.1:5432 (user
 * `postgres`, no password, as `npm test` sets it up), the PostgreSQL adapter runs beside grantline
 * in the demo, mapping `db-orders-prod-readwrite` to the group role `orders_rw` and `svc-orders` to
 * the login role `svc_orders` (created, with the database `grantline_demo`, when missing; the
 * membership and the adapter's bookkeeping are reset on every run, as the broker is), and the demo prints each GRANT and REVOKE with what `pg_has_role` then says. Otherwise it says plainly
 * that it skips this part.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { pino } from 'pino';
import { runAdapter, type AdapterEvent, type AdapterHandle } from '../adapters/kit/index.js';
import { PostgresTarget } from '../adapters/postgres/target.js';
import type { KafkaSettings } from '../src/kafka/index.js';

const SERVER = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const DATABASE = 'grantline_demo';
const ROLES = { group: 'orders_rw', member: 'svc_orders' };

async function query(database: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ ...SERVER, database, connectionTimeoutMillis: 2_000 });
  client.on('notice', () => undefined);
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

async function prepare(): Promise<void> {
  const exists = await query('postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
  if (exists.rowCount === 0) await query('postgres', `CREATE DATABASE ${pg.escapeIdentifier(DATABASE)}`);
  const roles = await query('postgres', 'SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])', [[ROLES.group, ROLES.member]]);
  const have = new Set(roles.rows.map((r: { rolname: string }) => r.rolname));
  if (!have.has(ROLES.group)) await query('postgres', `CREATE ROLE ${pg.escapeIdentifier(ROLES.group)} NOLOGIN`);
  if (!have.has(ROLES.member)) await query('postgres', `CREATE ROLE ${pg.escapeIdentifier(ROLES.member)} LOGIN NOSUPERUSER`);
  // Every run starts on a fresh broker, so the demo database starts over too: no membership, no bookkeeping.
  await query(DATABASE, `REVOKE ${pg.escapeIdentifier(ROLES.group)} FROM ${pg.escapeIdentifier(ROLES.member)}`);
  await query(DATABASE, 'DROP SCHEMA IF EXISTS grantline_adapter CASCADE');
}

async function isMember(): Promise<boolean> {
  const { rows } = await query(DATABASE, "SELECT pg_has_role($1, $2, 'MEMBER') AS member", [ROLES.member, ROLES.group]);
  return (rows[0] as { member: boolean } | undefined)?.member === true;
}

/** Starts the demo's PostgreSQL adapter, or says why not and returns null. */
export async function startPostgresDemo(kafka: KafkaSettings, jwksUrl: string, say: (line: string) => void): Promise<{ stop(): Promise<void> } | null> {
  try {
    await prepare();
  } catch (err) {
    say(`demo: PostgreSQL is not available on ${SERVER.host}:${SERVER.port} as ${SERVER.user} without a password (${err instanceof Error ? err.message : String(err)}):`);
    say('      skipping the PostgreSQL adapter. `npm test` sets such a server up (scripts/postgres.sh).');
    return null;
  }
  const target = await PostgresTarget.connect({
    connection: { ...SERVER, database: DATABASE },
    bookkeepingSchema: 'grantline_adapter',
    entitlements: { 'db-orders-prod-readwrite': ROLES.group },
    subjects: { 'svc-orders': ROLES.member },
  });
  const show = (event: AdapterEvent): void => {
    if (event.type !== 'provisioned' && event.type !== 'revoked') return;
    const statement = event.type === 'provisioned' ? `GRANT ${ROLES.group} TO ${ROLES.member}` : `REVOKE ${ROLES.group} FROM ${ROLES.member}`;
    const why = event.type === 'provisioned' ? `grant ${event.grantId}` : `${event.cause}: ${event.grantIds.join(', ')}`;
    void isMember().then((member) => say(`${new Date().toISOString()}  postgres: ${statement} (${why}); pg_has_role('${ROLES.member}', '${ROLES.group}', 'MEMBER') = ${member}`));
  };
  let adapter: AdapterHandle;
  try {
    adapter = await runAdapter({
      name: 'postgres-demo',
      channel: 'pam',
      brokers: kafka.brokers,
      kafka,
      jwks: jwksUrl,
      // The example config registers this DEV ONLY key for the pam channel (trust.adapters): grantline acts on its results.
      signingKey: { activeKid: 'example-pam-1', keys: [{ kid: 'example-pam-1', privateKeyPem: readFileSync(new URL('../examples/keys/dev-adapter-pam.pem', import.meta.url), 'utf8') }] },
      target,
      reconcileIntervalMs: 5_000,
      logger: pino({ level: 'error' }),
      onEvent: show,
    });
  } catch (err) {
    await target.close();
    throw err;
  }
  say(`demo: PostgreSQL adapter running on database ${DATABASE} (db-orders-prod-readwrite -> ${ROLES.group}, svc-orders -> ${ROLES.member}); pg_has_role = ${await isMember()}`);
  return {
    stop: async () => {
      await adapter.stop();
      await target.close();
    },
  };
}
