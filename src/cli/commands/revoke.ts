import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkActivePrincipal, type Directory } from '../../catalog/index.js';
import { createProducer } from '../../kafka/index.js';
import { CE_TYPES, encodeCloudEvent } from '../../pipeline/cloudevents.js';
import type { RevokeCommand } from '../../pipeline/events.js';
import { StateView } from '../../pipeline/state-view.js';
import { directoryInForce, DirectoryUnavailableError } from '../directory-in-force.js';
import { cliGate, connectCli, openCli } from '../kafka-cli.js';
import { ed25519PublicKey, signOperatorCommand } from '../../trust/index.js';

const USAGE = `usage: grantline revoke <grantId> --reason TEXT --actor PRINCIPAL --key FILE [--config PATH] [--no-wait] [--timeout SECONDS]

Revokes a grant now. The revocation is published on the grant's own topic (after the grant), signed,
recorded in custody with you as its actor, and written back on the ticket.

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
  const view = new StateView(cli.kafka, cli.topics.ticketState, cli.logger, cliGate(cli, cli.topics.ticketState));
  const producer = createProducer(cli.kafka);
  try {
    await view.start();
    await view.catchUp();
    const key = view.ticketOfGrant(grantId);
    const state = key === undefined ? undefined : view.get(key);
    const grant = state?.grants.find((g) => g.grantId === grantId);
    if (!state || !grant) {
      console.error(`grantline revoke: no grant ${grantId} is tracked (unknown, or its revocation is already confirmed)`);
      return 2;
    }
    if (grant.revocation !== null) {
      console.log(JSON.stringify({ grantId, alreadyRevoked: true, revocationId: grant.revocation.revocationId, trigger: grant.revocation.trigger, revokedAt: grant.revocation.revokedAt }));
      return 0;
    }
    const now = new Date().toISOString();
    const unsigned: RevokeCommand = {
      kind: 'revoke',
      commandId: `manual:${grantId}:${randomUUID()}`,
      connectorId: state.connectorId,
      ticketId: state.ticketId,
      grantId,
      trigger: 'manual',
      reason: values.reason as string,
      actor,
      requestedAt: now,
    };
    const command = signOperatorCommand(cli.topics.ticketEvents, unsigned, actor, signer);
    await producer.connect();
    await producer.send(cli.topics.ticketEvents, [
      encodeCloudEvent(key as string, { id: command.commandId, source: 'urn:grantline:cli', type: CE_TYPES.ticketEvent, time: now, subject: grantId }, command),
    ]);
    if (values['no-wait']) {
      console.log(JSON.stringify({ grantId, requested: true, commandId: command.commandId, ticket: state.ticketKey }));
      return 0;
    }
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (Date.now() < deadline) {
      const revocation = view.get(key as string)?.grants.find((g) => g.grantId === grantId)?.revocation;
      if (revocation) {
        console.log(JSON.stringify({ grantId, revoked: true, revocationId: revocation.revocationId, actor: revocation.actor, revokedAt: revocation.revokedAt, ticket: state.ticketKey }));
        return 0;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    console.error(`grantline revoke: the request ${command.commandId} is stored, but no processor published the revocation within ${timeoutSeconds} s; is a processor running?`);
    return 1;
  } finally {
    await producer.disconnect().catch(() => undefined);
    await view.stop().catch(() => undefined);
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
