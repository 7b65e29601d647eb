import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkActivePrincipal, type Directory } from '../../catalog/index.js';
import { createProducer, follow, TAIL_GROUP_PREFIX } from '../../kafka/index.js';
import { ticketKey } from '../../model/index.js';
import { CE_TYPES, encodeCloudEvent } from '../../pipeline/cloudevents.js';
import type { RevokeCommand } from '../../pipeline/events.js';
import { TicketIndexReader } from '../../pipeline/ticket-index/lookup.js';
import { directoryInForce, DirectoryUnavailableError } from '../directory-in-force.js';
import { cliGate, connectCli, openCli } from '../kafka-cli.js';
import { ed25519PublicKey, signOperatorCommand } from '../../trust/index.js';

const USAGE = `usage: grantline revoke <grantId> --reason TEXT --actor PRINCIPAL --key FILE [--config PATH] [--no-wait] [--timeout SECONDS]

Revokes a grant now. The grant is found in the ticket index (grantline.ticket-index.v1); the revocation
is published on the grant's own topic (after the grant), signed, recorded in custody with you as its
actor, and written back on the ticket.

  --reason TEXT     why (kept in the revocation and on the ticket)
  --actor ID        who is revoking: an active principal of the directory in force (directory.path,
                    and what the identity provider said over SCIM when scim.enabled), listed in
                    trust.operators
  --key FILE        your operator key (Ed25519 PKCS#8 PEM, grantline keygen --operator): the command
                    is signed with it, and the processor acts only on a signature of a configured
                    operator in their own name
  --no-wait         return once the request is stored, without waiting for the revocation
  --timeout N       seconds to wait for the processor to publish the revocation (default 30)

Exit codes: 0 revoked (or already revoked), 1 not confirmed in time or Kafka not reachable (one line says why), 2 bad usage, unknown or inactive
actor, unknown grant or bad config.`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        reason: { type: 'string' },
        actor: { type: 'string' },
        key: { type: 'string' },
        config: { type: 'string' },
        'no-wait': { type: 'boolean', default: false },
        timeout: { type: 'string', default: '30' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    console.error(`grantline revoke: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const problems: string[] = [];
  if (positionals.length !== 1) problems.push('name exactly one grant id');
  if (!values.reason?.trim()) problems.push('--reason is required');
  if (!values.actor?.trim()) problems.push('--actor is required');
  if (!values.key?.trim()) problems.push('--key is required (your operator key)');
  const timeoutSeconds = Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) problems.push('--timeout must be a positive number of seconds');
  if (problems.length > 0) {
    console.error(`grantline revoke: ${problems.join('; ')}\n\n${USAGE}`);
    return 2;
  }
  const grantId = positionals[0] as string;
  const cli = openCli('revoke', values.config);
  if ('exitCode' in cli) return cli.exitCode;
  // The actor is signed into a genuine revocation and its custody: it must be someone who may act now.
  const actor = (values.actor as string).trim();
  // The directory in force: the file, with the IdP's word over SCIM when scim.enabled (someone the IdP deactivated may not revoke).
  // With SCIM the directory is read from Kafka: check the connection first, so a refused password
  // says so in one line rather than as a directory that cannot be read.
  let connected = false;
  if (cli.config.scim.enabled) {
    const unreachable = await connectCli('revoke', cli);
    if (unreachable !== null) return unreachable;
    connected = true;
  }
  let directory: Directory;
  try {
    directory = await directoryInForce(cli);
  } catch (err) {
    if (!(err instanceof DirectoryUnavailableError)) throw err;
    console.error(`grantline revoke: cannot check --actor against ${err.source === 'file' ? 'directory.path' : 'the SCIM directory'}: ${err.message}`);
    return 2;
  }
  const check = checkActivePrincipal(directory, actor);
  if (!check.ok) {
    console.error(`grantline revoke: --actor ${check.message}; a revocation is signed in the name of an active directory principal`);
    return 2;
  }

  const signer = operatorKey(values.key as string, actor, cli.config.trust.operators);
  if (typeof signer === 'string') {
    console.error(`grantline revoke: ${signer}`);
    return 2;
  }

  if (!connected) {
    const unreachable = await connectCli('revoke', cli);
    if (unreachable !== null) return unreachable;
  }
  const reader = new TicketIndexReader(cli.kafka, cli.topics.ticketIndex, cliGate(cli, cli.topics.ticketIndex));
  const ticket = await reader.find({ grant: grantId });
  const indexed = ticket === null ? null : await reader.ticket(ticket);
  const issued = indexed?.records.find((r) => r.type === CE_TYPES.grantIssued && r.grantId === grantId);
  if (!indexed || !issued) {
    console.error(`grantline revoke: no grant ${grantId} is known to the ticket index`);
    return 2;
  }
  const earlier = indexed.records.find((r) => r.type === CE_TYPES.grantRevoked && r.grantId === grantId);
  if (earlier !== undefined) {
    const [message] = await reader.read([earlier]);
    const revocation = revocationOf(message?.value ?? null, grantId);
    if (revocation !== null) {
      console.log(JSON.stringify({ grantId, alreadyRevoked: true, revocationId: revocation.revocationId, trigger: revocation.trigger, revokedAt: revocation.revokedAt }));
      return 0;
    }
  }
  // The revocation is published on the grant's own topic, in the transaction that records it:
  // followed from now, before the command is sent, so it cannot be missed.
  const seen: { revocation: Revocation | null } = { revocation: null };
  const watch = values['no-wait']
    ? null
    : await follow(cli.kafka, [issued.topic], {
        fromBeginning: false,
        groupPrefix: TAIL_GROUP_PREFIX,
        onMessage: (_topic, _partition, message) => {
          if (message.headers?.ce_type?.toString() === CE_TYPES.grantRevoked) seen.revocation ??= revocationOf(message.value, grantId);
        },
      });
  const producer = createProducer(cli.kafka);
  try {
    const now = new Date().toISOString();
    const unsigned: RevokeCommand = {
      kind: 'revoke',
      commandId: `manual:${grantId}:${randomUUID()}`,
      connectorId: indexed.connectorId,
      ticketId: indexed.ticketId,
      grantId,
      trigger: 'manual',
      reason: values.reason as string,
      actor,
      requestedAt: now,
    };
    const command = signOperatorCommand(cli.topics.ticketEvents, unsigned, actor, signer);
    await producer.connect();
    await producer.send(cli.topics.ticketEvents, [
      encodeCloudEvent(ticketKey(indexed.connectorId, indexed.ticketId), { id: command.commandId, source: 'urn:grantline:cli', type: CE_TYPES.ticketEvent, time: now, subject: grantId }, command),
    ]);
    if (watch === null) {
      console.log(JSON.stringify({ grantId, requested: true, commandId: command.commandId, ticket: indexed.ticketKey }));
      return 0;
    }
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (Date.now() < deadline) {
      const revocation = seen.revocation;
      if (revocation !== null) {
        console.log(JSON.stringify({ grantId, revoked: true, revocationId: revocation.revocationId, actor: revocation.actor, revokedAt: revocation.revokedAt, ticket: indexed.ticketKey }));
        return 0;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    console.error(`grantline revoke: the request ${command.commandId} is stored, but no processor published the revocation within ${timeoutSeconds} s; is a processor running?`);
    return 1;
  } finally {
    await producer.disconnect().catch(() => undefined);
    await watch?.stop().catch(() => undefined);
  }
}

type Revocation = { revocationId: string; trigger: string; actor: string; revokedAt: string };

/** The revocation of `grantId` in a `grant.revoked` message's value; null for anything else. */
function revocationOf(value: Buffer | null, grantId: string): Revocation | null {
  try {
    const v = JSON.parse(value?.toString('utf8') ?? 'null') as Partial<Record<keyof Revocation | 'grantId', unknown>> | null;
    if (v?.grantId !== grantId) return null;
    const { revocationId, trigger, actor, revokedAt } = v;
    return typeof revocationId === 'string' && typeof trigger === 'string' && typeof actor === 'string' && typeof revokedAt === 'string' ? { revocationId, trigger, actor, revokedAt } : null;
  } catch {
    return null;
  }
}

/**
 * The operator's private key from `--key`, checked against the operator `actor` in
 * `trust.operators`; or what is wrong, in one line that quotes no key material.
 */
function operatorKey(file: string, actor: string, operators: readonly { id: string; publicKeyPem: string }[]): KeyObject | string {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: readFileSync(file, 'utf8'), format: 'pem' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === undefined ? `--key ${file} is not a PEM private key` : `cannot read --key ${file} (${code})`;
  }
  if (key.asymmetricKeyType !== 'ed25519') return `--key ${file} is not an Ed25519 key (grantline keygen --operator makes one)`;
  const listed = operators.find((o) => o.id === actor);
  if (listed === undefined) return `--actor "${actor}" is not in trust.operators; the processor acts only on revocations signed by a configured operator`;
  const mine = createPublicKey(key).export({ format: 'der', type: 'spki' });
  if (!ed25519PublicKey(listed.publicKeyPem, `operator "${actor}"`).export({ format: 'der', type: 'spki' }).equals(mine)) {
    return `--key ${file} is not the key trust.operators lists for "${actor}"`;
  }
  return key;
}
