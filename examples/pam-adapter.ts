/**
 * An example PAM adapter built with the adapter kit (`adapters/kit`). The target below is the
 * whole of what a team writes: how a grant maps to a privilege on their system, how to add and
 * remove it, and how to list what exists. Here the "PAM" is a Map; a real one calls its API.
 * The kit verifies every message, converges, enforces expiry, finds drift, reports and alerts.
 *
 *   npx tsx examples/pam-adapter.ts [--brokers 127.0.0.1:9092] \
 *     [--jwks http://127.0.0.1:8080/.well-known/jwks.json] [--prefix ""] [--key keys/dev-adapter-pam.pem]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { runAdapter, type ActualPrivilege, type AdapterTarget, type Privilege } from '../adapters/kit/index.js';
import type { Grant } from '../src/model/index.js';

/** The example target: an in-memory PAM where a subject may use a safe. */
export function examplePamTarget(): AdapterTarget & { readonly held: Map<string, ActualPrivilege> } {
  const held = new Map<string, ActualPrivilege>();
  const privilegeOf = (grant: Grant): Privilege => ({
    key: `${grant.subject.id}@${grant.entitlementId}`,
    description: `${grant.subject.id} may use safe ${grant.entitlementId} (${grant.resource}, ${grant.environment})`,
  });
  return {
    held,
    privilegeOf,
    // Record the grant with the privilege: the kit knows from listActual what it already did.
    provision: async (grant, privilege) => {
      const grantIds = [...(held.get(privilege.key)?.grantIds ?? []), grant.grantId];
      held.set(privilege.key, { privilege, grantIds });
      return `pam-safe-member:${privilege.key}`;
    },
    revoke: async (privilege) => {
      held.delete(privilege.key);
      return `pam-safe-member:${privilege.key}`;
    },
    listActual: async () => [...held.values()],
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092' },
      jwks: { type: 'string', default: 'http://127.0.0.1:8080/.well-known/jwks.json' },
      prefix: { type: 'string', default: '' },
      channel: { type: 'string', default: 'pam' },
      key: { type: 'string' },
    },
  });
  // The adapter signs its results with its own key, registered in grantline's trust.adapters; by
  // default the DEV ONLY key the example config registers.
  const privateKeyPem = readFileSync(values.key ?? new URL('./keys/dev-adapter-pam.pem', import.meta.url), 'utf8');
  const adapter = await runAdapter({
    name: 'example-pam',
    channel: values.channel,
    brokers: values.brokers.split(','),
    kafka: { topicPrefix: values.prefix },
    jwks: values.jwks,
    signingKey: { activeKid: 'example-pam-1', keys: [{ kid: 'example-pam-1', privateKeyPem }] },
    target: examplePamTarget(),
    logger: pino({ level: 'warn' }, pino.destination(2)),
    onEvent: (e) => {
      const what = e.type === 'refused' ? `${e.subject}\n    ${e.failed.map((f) => `${f.name}: ${f.detail}`).join('\n    ')}` : 'privilege' in e ? e.privilege.description : `${e.grantId ?? ''} ${e.detail}`;
      console.log(`${e.type.toUpperCase().padEnd(11)} ${what}`);
    },
  });
  console.log('example PAM adapter: converged; consuming (Ctrl-C to stop)');
  const stop = () => void adapter.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`example PAM adapter: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
