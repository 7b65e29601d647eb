#!/usr/bin/env node
/**
 * The `grantline` command. Each subcommand lives in `src/cli/commands/<name>.ts` and exports
 * `run(argv): Promise<number>` (the exit code). Add one line to `commands` to add a subcommand.
 */
import { GRANTLINE_VERSION } from '../version.js';

type Command = { summary: string; load: () => Promise<{ run: (argv: string[]) => Promise<number> }> };

const commands: Record<string, Command> = {
  serve: { summary: 'run grantline (HTTP, health, metrics and the selected roles) until SIGTERM', load: () => import('./commands/serve.js') },
  verify: { summary: 'check a grant, rejection or revocation: signature, custody chain, expiry', load: () => import('./commands/verify.js') },
  keygen: { summary: 'create an Ed25519 signing key and print its config and public JWK', load: () => import('./commands/keygen.js') },
  evaluate: { summary: 'decide one entitlement request against catalog and directory; print the grant or rejection', load: () => import('./commands/evaluate.js') },
  revoke: { summary: 'revoke a grant now, with a reason and an actor, recorded in custody', load: () => import('./commands/revoke.js') },
  check: { summary: 'fetch one live ticket through a connector and decide it as the processor would; publishes and writes nothing', load: () => import('./commands/check.js') },
  evidence: { summary: 'print the verified story of a ticket or grant from the custody topic', load: () => import('./commands/evidence.js') },
  tail: { summary: 'print what grantline publishes (grants, rejections, custody, alerts, dlq) with each signature\'s verdict', load: () => import('./commands/tail.js') },
  directory: { summary: 'show what grantline knows of a person and where each fact came from (file or SCIM)', load: () => import('./commands/directory.js') },
  acls: { summary: 'print (or apply) the least-privilege Kafka ACLs of a role for one principal', load: () => import('./commands/acls.js') },
  whatif: { summary: 'decide past requests again under a new catalog or directory and print what would change', load: () => import('./commands/whatif.js') },
  catalog: { summary: 'list every problem of a catalog: invalid fields, missing or empty groups, entries nobody can approve', load: () => import('./commands/catalog.js') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ['usage: grantline <command> [options]', '       grantline --version', '', 'commands:', ...lines, '', 'grantline <command> --help for its options'].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    console.log(GRANTLINE_VERSION);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`grantline: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  // Every command resolves identities and judges approvals with the kinds of this build's connector
  // types: they are put in force first, as the service's wiring does (src/service/connector-types.ts).
  const { wiredConnectorTypes } = await import('../service/connector-types.js');
  wiredConnectorTypes();
  const mod = await command.load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`grantline: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
