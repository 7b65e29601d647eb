import { parseArgs } from 'node:util';
import { explain, type Explanation } from '../../catalog/index.js';
import { directoryInForce, DirectoryUnavailableError } from '../directory-in-force.js';
import { openCli } from '../kafka-cli.js';

const USAGE = `usage: grantline directory show PRINCIPAL [--config PATH] [--json]

Prints what grantline knows of a person (or a non-human identity) in the directory in force, and
where each fact came from: the directory file (directory.path) or the identity provider over SCIM
(grantline.directory.v1, read to its end when scim.enabled).

  --json    print the facts as JSON

Exit codes: 0 known, 1 nobody is known by that id, 2 bad usage, bad config, or the directory cannot
be read.`;

const show = (v: string | boolean | null): string => (v === null ? '(none)' : String(v));

function format(e: Explanation): string {
  const lines: string[] = [];
  if (e.kind === 'unknown') return `${e.id}: nobody is known by this id (directory version ${e.directoryVersion})`;
  if (e.kind === 'nhi') {
    lines.push(`${e.id}: ${e.nhi.type} in ${e.nhi.environment}, from the directory file`);
    lines.push(`  owner          ${e.nhi.owner ?? '(none)'}${e.ownerActive === null ? '' : e.ownerActive ? ' (active)' : ' (NOT active: requests for it are refused)'}`);
    if (e.nhi.description !== undefined) lines.push(`  description    ${e.nhi.description}`);
  } else {
    lines.push(`${e.id}: a person`);
    const width = Math.max(...e.facts.map((f) => f.field.length), 'groups'.length) + 2;
    for (const f of e.facts) lines.push(`  ${f.field.padEnd(width)} ${show(f.value).padEnd(40)} ${f.source === 'scim' ? 'SCIM' : 'file'}`);
    lines.push(`  ${'groups'.padEnd(width)} ${e.groups.length === 0 ? '(none)' : e.groups.map((g) => `${g.name} (${g.source === 'scim' ? 'SCIM' : 'file'})`).join(', ')}`);
    if (e.owns.length > 0) lines.push(`  ${'owns'.padEnd(width)} ${e.owns.map((n) => `${n.id} (${n.type}, ${n.environment})`).join(', ')} (file)`);
    lines.push(
      e.scim === null
        ? '  not provisioned by the identity provider: every fact is the file\'s'
        : `  SCIM user ${e.scim.id}, userName ${e.scim.userName}${e.scim.externalId === null ? '' : `, externalId ${e.scim.externalId}`}, last changed ${e.scim.lastModified}${e.scim.deleted ? ', DELETED in the IdP' : ''}`,
    );
  }
  for (const c of e.conflicts) lines.push(`  conflict: ${c.field}: ${c.message}; SCIM's word is in force`);
  lines.push(`  directory version ${e.directoryVersion}`);
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { config: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    console.error(`grantline directory: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals[0] !== 'show' || positionals.length !== 2 || (positionals[1] ?? '').trim() === '') {
    console.error(`grantline directory: name what to show: directory show PRINCIPAL\n\n${USAGE}`);
    return 2;
  }
  const id = (positionals[1] as string).trim();
  const cli = openCli('directory', values.config);
  if ('exitCode' in cli) return cli.exitCode;
  let directory;
  try {
    directory = await directoryInForce(cli);
  } catch (err) {
    if (!(err instanceof DirectoryUnavailableError)) throw err;
    console.error(`grantline directory: ${err.source === 'file' ? 'directory.path: ' : ''}${err.message}`);
    return 2;
  }
  const explanation = explain(directory, id);
  console.log(values.json ? JSON.stringify(explanation, null, 2) : format(explanation));
  return explanation.kind === 'unknown' ? 1 : 0;
}
