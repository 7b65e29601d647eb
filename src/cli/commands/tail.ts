import { parseArgs } from 'node:util';
import { loadCatalog } from '../../catalog/index.js';
import { loadSigningKeys, publicJwks, type Jwks } from '../../custody/index.js';
import { follow, type TopicNames } from '../../kafka/index.js';
import { loadJwks } from '../input.js';
import { readFlags, type CliIo } from '../flags.js';
import { connectCli, openCli } from '../kafka-cli.js';
import { describeMessage, formatLine, ticketsOf } from '../tail-view.js';

const TOPICS = ['grants', 'rejections', 'custody', 'alerts', 'dlq'] as const;
type TailTopic = (typeof TOPICS)[number];

const USAGE = `usage: grantline tail --topic grants|rejections|custody|alerts|dlq [--ticket KEY] [--from-beginning] [--json] [--jwks URL|FILE] [--config PATH]

Prints what grantline publishes, as it is published, until Ctrl-C. Each grant, rejection and
revocation carries the verdict of \`grantline verify\` (signature, custody link, validity window,
expiry; the custody chain itself is checked by \`grantline evidence\`).

  --topic T          grants: every grant channel topic of the catalog (grants and revocations);
                     rejections, custody, alerts, dlq: that topic
  --ticket KEY       only messages about this ticket (its key or the source's id)
  --from-beginning   print the topics' history first; default: only what is published from now on
  --json             one JSON object per line: topic, partition, offset, key, type, value, verdict
  --jwks URL|FILE    verify against this JWK Set; default: the public keys of the config's signing keys
  --config PATH      grantline config (default as for serve)

Exit codes: 0 stopped by Ctrl-C (SIGINT) or SIGTERM, 1 Kafka not reachable or no topic to follow,
2 bad usage, bad config or bad JWKS.`;

/** Terminal and the stop signal, replaceable in tests. */
export type TailIo = CliIo & {
  /** Resolves when the tail should stop; default the first SIGINT or SIGTERM. */
  stopped: () => Promise<void>;
};

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

const defaultIo: TailIo = { out: (l) => console.log(l), err: (l) => console.error(l), stopped: untilSignal };

async function topicsOf(topic: TailTopic, names: TopicNames, catalogPath: string): Promise<string[]> {
  switch (topic) {
    case 'grants': {
      const catalog = await loadCatalog(catalogPath);
      return [...new Set(catalog.entries().map((e) => e.channel))].sort().map((c) => names.grants(c));
    }
    case 'rejections':
      return [names.rejected];
    case 'custody':
      return [names.custody];
    case 'alerts':
      return [names.alerts];
    case 'dlq':
      return [names.dlq];
  }
}

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    options: {
      topic: { type: 'string' },
      ticket: { type: 'string' },
      'from-beginning': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      jwks: { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
}

export async function run(argv: string[], io: TailIo = defaultIo): Promise<number> {
  const values = readFlags('tail', USAGE, io, () => parseOptions(argv));
  if (typeof values === 'number') return values;
  const topic = values.topic as TailTopic | undefined;
  if (topic === undefined || !TOPICS.includes(topic)) {
    io.err(`grantline tail: --topic must be one of ${TOPICS.join(', ')}${values.topic === undefined ? '' : ` (got "${values.topic}")`}\n\n${USAGE}`);
    return 2;
  }
  const cli = openCli('tail', values.config);
  if ('exitCode' in cli) return cli.exitCode;
  let jwks: Jwks;
  try {
    jwks = values.jwks === undefined ? publicJwks(loadSigningKeys(cli.config.signing)) : await loadJwks(values.jwks);
  } catch (err) {
    io.err(`grantline tail: cannot read the JWKS: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  const topics = await topicsOf(topic, cli.topics, cli.config.catalog.path);

  const unreachable = await connectCli('tail', cli);
  if (unreachable !== null) return unreachable;

  const ticket = values.ticket;
  const stopped = io.stopped();
  const running = await follow(cli.kafka, topics, {
    fromBeginning: values['from-beginning'],
    groupPrefix: 'grantline-cli-tail',
    onMessage: (from, partition, message) => {
      const tailed = describeMessage(from, partition, message, jwks, new Date());
      if (ticket !== undefined && !ticketsOf(tailed.value).includes(ticket)) return;
      io.out(values.json ? JSON.stringify(tailed) : formatLine(tailed));
    },
  });
  for (const missing of running.missing) io.err(`grantline tail: topic ${missing} does not exist (nothing was published there yet); not followed`);
  if (running.following.length === 0) {
    io.err(`grantline tail: no topic to follow`);
    return 1;
  }
  io.err(`grantline tail: following ${running.following.join(', ')} ${values['from-beginning'] ? 'from the beginning' : 'from now on'}; Ctrl-C stops`);
  await stopped;
  await running.stop();
  return 0;
}
