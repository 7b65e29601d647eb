import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InvalidDocumentError, parseDirectory, parseYamlDocument } from '../../catalog/index.js';
import { checkCatalog, type CatalogProblem } from '../../policy/index.js';
import { DEFAULT_CATALOG_PATH, DEFAULT_CONFIG_PATH, DEFAULT_DIRECTORY_PATH, InputError, readConfigDefaults, readText } from '../config-paths.js';

const USAGE = `usage: grantline catalog check [--catalog CATALOG.yaml] [--directory DIRECTORY.yaml] [--config CONFIG.yaml] [--json]

Lists every problem of an entitlement catalog, checked against a directory, instead of stopping at
the first or refusing to load:

  invalid                  a field the catalog schema refuses (the catalog would not load)
  ttl-default-above-cap    a default TTL, or a break-glass cap, above the entry's ttl.maxSeconds
  unknown-group            an approver or break-glass group the directory does not define
  empty-group              a group the catalog names that has no active member
  no-approvers             an entry whose required distinct approvers cannot all be found among
                           the directory's active people: no request for it can be approved
  break-glass-unreachable  break-glass allowed only to groups nobody active is in

  --catalog PATH    the catalog YAML (default: catalog.path of the config, else ${DEFAULT_CATALOG_PATH})
  --directory PATH  the directory YAML (default: directory.path of the config, else ${DEFAULT_DIRECTORY_PATH})
  --config PATH     grantline config to take both paths from (default: ${DEFAULT_CONFIG_PATH} when it
                    exists); only those fields are read. With scim.enabled, the people and groups
                    the identity provider adds are not read: the directory file alone is checked.
  --json            print the problems as JSON

exit status: 0 no problems, 1 problems listed, 2 bad usage, an unreadable file or an invalid directory`;

function format(catalogPath: string, directoryPath: string, problems: readonly CatalogProblem[]): string {
  if (problems.length === 0) return `${catalogPath}: no problems (checked against ${directoryPath})`;
  const lines = [`${catalogPath}: ${problems.length} problem${problems.length === 1 ? '' : 's'} (checked against ${directoryPath})`];
  for (const p of problems) lines.push(`  ${p.path === '' ? '(document)' : p.path}: ${p.message} [${p.code}]`);
  return lines.join('\n');
}

/** `grantline catalog check`: exit 0 when the catalog has no problem, 1 when it lists some, 2 on bad input. */
export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { catalog: { type: 'string' }, directory: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    console.error(`grantline catalog: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'check') {
    console.error(`grantline catalog: say what to do: catalog check\n\n${USAGE}`);
    return 2;
  }
  try {
    const configPath = values.config ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
    const defaults = configPath === undefined ? {} : await readConfigDefaults(configPath);
    const catalogPath = values.catalog ?? defaults.catalogPath ?? DEFAULT_CATALOG_PATH;
    const directoryPath = values.directory ?? defaults.directoryPath ?? DEFAULT_DIRECTORY_PATH;
    const [catalogText, directoryText] = await Promise.all([readText(catalogPath, 'catalog'), readText(directoryPath, 'directory')]);
    const directory = parseDirectory(directoryText, directoryPath);
    let problems: CatalogProblem[];
    try {
      problems = checkCatalog(parseYamlDocument(catalogText, catalogPath), directory, directory.document.principals.map((p) => p.id));
    } catch (err) {
      // A catalog that is not even YAML: that is its one problem.
      if (!(err instanceof InvalidDocumentError)) throw err;
      problems = err.issues.map((i) => ({ code: 'invalid' as const, path: i.path, entry: null, message: i.message }));
    }
    if (values.json === true) console.log(JSON.stringify({ catalog: catalogPath, directory: directoryPath, problems }, null, 2));
    else console.log(format(catalogPath, directoryPath, problems));
    if (defaults.scimEnabled === true && values.directory === undefined) {
      console.error(`grantline catalog: note: ${configPath ?? 'the config'} has scim.enabled; people and groups from the identity provider were not read, only ${directoryPath}`);
    }
    return problems.length === 0 ? 0 : 1;
  } catch (err) {
    if (err instanceof InputError || err instanceof InvalidDocumentError) {
      console.error(`grantline catalog: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
