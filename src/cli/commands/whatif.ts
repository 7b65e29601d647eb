import { parseArgs } from 'node:util';
import { InvalidDocumentError, loadCatalog, loadDirectory, parseDuration, type Catalog, type Directory } from '../../catalog/index.js';
import { redecide } from '../../policy/index.js';
import { readDecidedRequests } from '../decision-requests.js';
import { directoryInForce, DirectoryUnavailableError } from '../directory-in-force.js';
import { connectCli, openCli } from '../kafka-cli.js';
import { formatWhatIf } from '../whatif-format.js';

const USAGE = `usage: grantline whatif --catalog NEW.yaml [--directory NEW.yaml] [--since 30d] [--config PATH] [--json]

Reads the canonical request of every past decision (grantline.decision-requests.v1, kept
kafka.decisionRequestRetentionMs) and decides each again under the new catalog (and directory),
with the same policy the processor runs, at the moment it was first decided; prints what would
change: grants that would be refused (with every reason), refusals that would be granted, refusals
for other reasons, grants for another duration; unchanged decisions are counted. Nothing is
published. Identities are as they were resolved when the ticket was decided; the per-person
break-glass limit is not re-checked (who held what then is not kept).

  --catalog PATH    the catalog to try (required)
  --directory PATH  the directory to try (default: the directory in force: directory.path, merged
                    with the identity provider's when scim.enabled)
  --since DURATION  only decisions taken in the last DURATION (30m, 12h, 30d, 2w); default: all kept
  --config PATH     grantline config (Kafka, topic prefix, policy.version)
  --json            print the report as JSON

Progress goes to stderr when it is a terminal.
Exit codes: 0 nothing would change, 1 some decisions would change, 2 bad usage, an invalid file or
config, or Kafka cannot be read.`;

type Values = { catalog?: string; directory?: string; since?: string; config?: string; json: boolean; help?: boolean };

function parse(argv: string[]): Values | string {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        catalog: { type: 'string' },
        directory: { type: 'string' },
        since: { type: 'string' },
        config: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    return values as Values;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

async function readDocument<T>(what: string, path: string, load: (p: string) => Promise<T>): Promise<T | string> {
  try {
    return await load(path);
  } catch (err) {
    if (err instanceof InvalidDocumentError) return err.message;
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) return `cannot read ${what} ${path} (${code})`;
    throw err;
  }
}

/** A progress line on stderr, redrawn at most every 200 ms, only on a terminal. */
function progressLine(topic: string): { tick: (read: number) => void; done: () => void } {
  if (process.stderr.isTTY !== true) return { tick: () => {}, done: () => {} };
  let last = 0;
  return {
    tick: (read) => {
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      process.stderr.write(`\rreading ${topic}: ${read} decided requests`);
    },
    done: () => process.stderr.write('\r\x1b[K'),
  };
}

export async function run(argv: string[]): Promise<number> {
  const values = parse(argv);
  if (typeof values === 'string') {
    console.error(`grantline whatif: ${values}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  if (values.catalog === undefined) {
    console.error(`grantline whatif: name the catalog to try with --catalog\n\n${USAGE}`);
    return 2;
  }
  const sinceSeconds = values.since === undefined ? null : parseDuration(values.since);
  if (sinceSeconds === null && values.since !== undefined) {
    console.error(`grantline whatif: --since expects a duration such as 30m, 12h, 30d or 2w, got ${JSON.stringify(values.since)}`);
    return 2;
  }
  const catalog = await readDocument<Catalog>('catalog', values.catalog, loadCatalog);
  if (typeof catalog === 'string') {
    console.error(`grantline whatif: ${catalog}`);
    return 2;
  }
  const cli = openCli('whatif', values.config);
  if ('exitCode' in cli) return cli.exitCode;
  let directory: Directory | string;
  let directoryName: string;
  if (values.directory !== undefined) {
    directory = await readDocument('directory', values.directory, loadDirectory);
    directoryName = values.directory;
  } else {
    directoryName = `the directory in force (${cli.config.directory.path}${cli.config.scim.enabled ? ' and SCIM' : ''})`;
    try {
      directory = await directoryInForce(cli);
    } catch (err) {
      if (!(err instanceof DirectoryUnavailableError)) throw err;
      directory = err.message;
    }
  }
  if (typeof directory === 'string') {
    console.error(`grantline whatif: ${directory}`);
    return 2;
  }

  const unreachable = await connectCli('whatif', cli);
  if (unreachable !== null) return 2;
  const since = sinceSeconds === null ? null : new Date(Date.now() - sinceSeconds * 1000);
  const progress = progressLine(cli.topics.decisionRequests);
  let found;
  try {
    found = await readDecidedRequests(cli.kafka, cli.topics.decisionRequests, since, progress.tick);
  } catch (err) {
    progress.done();
    console.error(`grantline whatif: cannot read ${cli.topics.decisionRequests}: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  progress.done();
  for (const u of found.unreadable) console.error(`grantline whatif: skipped ${cli.topics.decisionRequests} partition ${u.partition} offset ${u.offset}: ${u.problem}`);

  const report = redecide(found.records, catalog, directory, { policyVersion: cli.config.policy.version });
  const scope = { catalog: values.catalog, directory: directoryName, since: since?.toISOString() ?? null };
  if (values.json) {
    console.log(JSON.stringify({ ...scope, read: found.read, older: found.older, unreadable: found.unreadable.length, ...report }, null, 2));
  } else {
    console.log(formatWhatIf(report, scope));
  }
  return report.differences.length === 0 ? 0 : 1;
}
