import { parseArgs } from 'node:util';
import { ACL_ROLES, aclRules, applyAcls, normalizePrincipal, type AclRole, type AclRule } from '../../kafka/index.js';
import { connectCli, openCli } from '../kafka-cli.js';

const USAGE = `usage: grantline acls --role ROLE[,ROLE...] --principal PRINCIPAL [--config FILE]
                      [--channel CHANNEL --adapter-name NAME] [--json] [--apply]

Prints the Kafka ACLs a principal running ROLE needs, and nothing more: which topics, consumer groups
and transactional ids it may read, write, describe or create (docs/security.md explains each set).
Names follow the config's kafka.topicPrefix and service.name; the ingress role's SCIM rules are
included only when scim.enabled.

  --role ROLE        ${ACL_ROLES.join(', ')}; several, comma-separated, for a
                     process that runs several (serve --role all: ingress,processor,lifecycle).
                     processor includes writeback (serve --role processor runs both)
  --principal P      the Kafka principal, e.g. User:grantline-processor (a bare name gets User:)
  --channel C        adapter: the grant channel it serves (access.grants.C.v1)
  --adapter-name N   adapter: its name (adapters/kit), which names its consumer groups
  --json             one JSON document instead of the table
  --apply            also create them on the cluster with the admin API, connecting as the config's
                     kafka section says (that principal must be allowed to alter ACLs: a super user)

Exit codes: 0 printed (and applied), 1 applying failed, 2 bad arguments or config.`;

type Values = { role?: string; principal?: string; config?: string; channel?: string; 'adapter-name'?: string; json?: boolean; apply?: boolean; help?: boolean };

/** Terminal access, replaceable in tests. */
export type AclsIo = { out: (line: string) => void; err: (line: string) => void };
const defaultIo: AclsIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** The ACLs as a table: one rule a line, columns aligned. */
export function formatAclTable(principal: string, rules: readonly AclRule[]): string {
  const header = ['RESOURCE', 'NAME', 'PATTERN', 'OPERATION', 'PERMISSION'];
  const rows = rules.map((r) => [r.resourceType, r.resourceName, r.patternType, r.operation, r.permission]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [`principal ${principal}, host *`, line(header), ...rows.map(line)].join('\n');
}

function parseRoles(text: string): AclRole[] | string {
  const roles = text.split(',').map((r) => r.trim());
  const unknown = roles.filter((r) => !(ACL_ROLES as readonly string[]).includes(r));
  if (unknown.length > 0 || roles.length === 0) return `unknown role ${unknown.map((r) => JSON.stringify(r)).join(', ')}; known: ${ACL_ROLES.join(', ')}`;
  return roles as AclRole[];
}

/** `grantline acls`: exit 0 printed (and applied), 1 applying failed, 2 bad input. */
export async function run(argv: string[], io: AclsIo = defaultIo): Promise<number> {
  let values: Values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        role: { type: 'string' },
        principal: { type: 'string' },
        config: { type: 'string' },
        channel: { type: 'string' },
        'adapter-name': { type: 'string' },
        json: { type: 'boolean' },
        apply: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    io.err(`grantline acls: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.out(USAGE);
    return 0;
  }
  const bad = (message: string): number => {
    io.err(`grantline acls: ${message}\n\n${USAGE}`);
    return 2;
  };
  if (values.role === undefined) return bad('--role is required');
  if (values.principal === undefined) return bad('--principal is required');
  const roles = parseRoles(values.role);
  if (typeof roles === 'string') return bad(roles);
  const adapter = roles.includes('adapter');
  if (adapter && (values.channel === undefined || values['adapter-name'] === undefined)) return bad('the adapter role needs --channel and --adapter-name');
  if (!adapter && (values.channel !== undefined || values['adapter-name'] !== undefined)) return bad('--channel and --adapter-name are for the adapter role only');
  let principal: string;
  try {
    principal = normalizePrincipal(values.principal);
  } catch (err) {
    return bad((err as Error).message);
  }

  const cli = openCli('acls', values.config);
  if ('exitCode' in cli) return cli.exitCode;
  let rules: AclRule[];
  try {
    rules = aclRules(roles, {
      topicPrefix: cli.config.kafka.topicPrefix,
      serviceName: cli.config.service.name,
      scimEnabled: cli.config.scim.enabled,
      ...(values.channel === undefined ? {} : { channel: values.channel }),
      ...(values['adapter-name'] === undefined ? {} : { adapterName: values['adapter-name'] }),
    });
  } catch (err) {
    // A channel or adapter name that cannot be part of a Kafka name.
    return bad((err as Error).message);
  }
  if (values.json === true) io.out(JSON.stringify({ principal, host: '*', roles, acls: rules }, null, 2));
  else io.out(formatAclTable(principal, rules));

  if (values.apply !== true) return 0;
  const unreachable = await connectCli('acls', cli);
  if (unreachable !== null) return unreachable;
  try {
    await applyAcls(cli.kafka, principal, rules);
  } catch (err) {
    io.err(`grantline acls: applying the ACLs failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  io.err(`grantline acls: ${rules.length} ACLs applied for ${principal}`);
  return 0;
}
