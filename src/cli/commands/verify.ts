import { parseArgs } from 'node:util';
import { verifyMessage } from '../../custody/index.js';
import { InputError, loadJwks, parseJson, readText } from '../input.js';

/** Where `grantline serve` publishes its keys by default. */
export const DEFAULT_JWKS_URL = 'http://127.0.0.1:8080/.well-known/jwks.json';

const USAGE = `usage: grantline verify <message.json> [--jwks URL|FILE] [--custody EVENTS] [--at ISO]

Checks a grant, rejection or revocation: schema, Ed25519 signature against the JWKS, custody link
and chain, and for grants the validity window and expiry.

  <message.json>    the message value, or a Kafka dump { "headers": ..., "value": <object or JSON string> }
  --jwks URL|FILE   JWK Set to verify against (default ${DEFAULT_JWKS_URL})
  --custody EVENTS  the ticket's custody events: a JSON array, or one JSON value per line
                    (each an event or a { "value": ... } dump); checks the chain and the message's event
  --at ISO          judge expiry at this time instead of now

exit status: 0 valid, 1 invalid, 2 bad input`;

/** Terminal and network access, replaceable in tests. */
export type VerifyIo = {
  out: (line: string) => void;
  err: (line: string) => void;
  fetch: typeof fetch;
};

const defaultIo: VerifyIo = { out: (l) => console.log(l), err: (l) => console.error(l), fetch: (...a) => fetch(...a) };

/** Takes the value out of a Kafka message dump `{ headers?, value }`; anything else is the value itself. */
function unwrap(doc: unknown, what: string): unknown {
  if (typeof doc === 'object' && doc !== null && !Array.isArray(doc) && 'value' in doc && !('outcome' in doc) && !('eventId' in doc)) {
    const value = (doc as { value: unknown }).value;
    return typeof value === 'string' ? parseJson(value, `${what} (its "value")`) : value;
  }
  return doc;
}

async function loadCustody(path: string): Promise<unknown[]> {
  const text = (await readText(path, 'custody file')).trim();
  let docs: unknown[];
  if (text.startsWith('[')) {
    const doc = parseJson(text, `custody file ${path}`);
    docs = Array.isArray(doc) ? doc : [doc];
  } else {
    // One JSON value per line, as a topic dump usually is; a single pretty-printed object also works.
    const single = (() => {
      try {
        return [JSON.parse(text) as unknown];
      } catch {
        return null;
      }
    })();
    docs = single ?? text.split('\n').filter((l) => l.trim() !== '').map((l, i) => parseJson(l, `line ${i + 1} of ${path}`));
  }
  return docs.map((d, i) => unwrap(d, `custody entry ${i + 1} of ${path}`));
}

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: { jwks: { type: 'string' }, custody: { type: 'string' }, at: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
}

/** `grantline verify`: exit 0 when the message verifies, 1 when it does not, 2 on bad input. */
export async function run(argv: string[], io: VerifyIo = defaultIo): Promise<number> {
  let args: ReturnType<typeof parseOptions>;
  try {
    args = parseOptions(argv);
  } catch (err) {
    io.err(`grantline verify: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    io.out(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) {
    io.err(`grantline verify: expected exactly one message file\n\n${USAGE}`);
    return 2;
  }
  const [messagePath = ''] = args.positionals;

  try {
    let now: Date | undefined;
    if (args.values.at !== undefined) {
      now = new Date(args.values.at);
      if (Number.isNaN(now.getTime())) throw new InputError(`--at ${args.values.at} is not an ISO 8601 time`);
    }
    const message = unwrap(parseJson(await readText(messagePath, 'message file'), `message file ${messagePath}`), `message file ${messagePath}`);
    const jwks = await loadJwks(args.values.jwks ?? DEFAULT_JWKS_URL, io.fetch);
    const custodyEvents = args.values.custody === undefined ? undefined : await loadCustody(args.values.custody);

    const report = verifyMessage(message, jwks, { ...(now ? { now } : {}), ...(custodyEvents ? { custodyEvents } : {}) });
    const width = Math.max(...report.checks.map((c) => c.name.length));
    for (const check of report.checks) {
      io.out(`${check.ok ? '✔' : '✘'} ${check.name.padEnd(width)}  ${check.detail}`);
    }
    const failed = report.checks.filter((c) => !c.ok);
    const id = typeof message === 'object' && message !== null ? ((message as Record<string, unknown>)['grantId'] ?? (message as Record<string, unknown>)['rejectionId'] ?? (message as Record<string, unknown>)['revocationId']) : undefined;
    const what = `${report.kind}${typeof id === 'string' ? ` ${id}` : ''}`;
    io.out('');
    io.out(
      report.ok
        ? `VALID: ${what} passed all ${report.checks.length} checks`
        : `INVALID: ${what} failed ${failed.length} of ${report.checks.length} checks (${failed.map((c) => c.name).join(', ')})`,
    );
    return report.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof InputError) {
      io.err(`grantline verify: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
