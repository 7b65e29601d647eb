import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadCatalog } from '../../catalog/index.js';
import { Jwks, loadSigningKeys, publicJwks } from '../../custody/index.js';
import { missingTopics, TopicMissingError } from '../../kafka/index.js';
import { buildEvidence, formatEvidence, type SignedMessage } from '../../pipeline/evidence.js';
import { readTopic } from '../../pipeline/state-view.js';
import { TicketIndexReader } from '../../pipeline/ticket-index/lookup.js';
import { cliGate, connectCli, openCli, type CliKafka } from '../kafka-cli.js';

const USAGE = `usage: grantline evidence (--ticket KEY | --grant ID) [--config PATH] [--jwks FILE] [--json]

Finds the ticket in the ticket index and reads exactly its custody events, grants, revocations and
rejections (a ticket the index does not cover from its first event, written before the index
existed, is looked for in the whole topics), and prints the whole story of its requests, verified: hash chain intact, every grant, rejection and revocation signed and linked to its
custody event. Who asked, for what, who approved (with record ids), under which policy, the TTL
applied, fulfillment, revocation and how it ended, break-glass review.

  --ticket KEY   the ticket key (ACC-12, RITM0010001) or the source's ticket id
  --grant ID     a grant id; tells the story of the ticket that issued it
  --jwks FILE    verify against this JWKS instead of the config's signing keys
  --json         print the story as JSON

Exit codes: 0 verified, 1 evidence found but NOT verified, or Kafka not reachable (one line says why), 2 bad usage, nothing found or bad config.`;

function json(value: Buffer | null): unknown {
  if (value === null) return undefined;
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ticket: { type: 'string' },
        grant: { type: 'string' },
        config: { type: 'string' },
        jwks: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`grantline evidence: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if ((values.ticket === undefined) === (values.grant === undefined)) {
    console.error(`grantline evidence: name either --ticket or --grant\n\n${USAGE}`);
    return 2;
  }
  const cli = openCli('evidence', values.config);
  if ('exitCode' in cli) return cli.exitCode;
  let jwks;
  try {
    jwks = values.jwks ? Jwks.parse(JSON.parse(readFileSync(values.jwks, 'utf8'))) : publicJwks(loadSigningKeys(cli.config.signing));
  } catch (err) {
    console.error(`grantline evidence: cannot read the JWKS: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }

  const unreachable = await connectCli('evidence', cli);
  if (unreachable !== null) return unreachable;
  const catalog = await loadCatalog(cli.config.catalog.path);
  const channels = [...new Set(catalog.entries().map((e) => e.channel))];
  const signedTopics = [...channels.map((c) => cli.topics.grants(c)), cli.topics.rejected];
  const asked = values.grant ? { grant: values.grant } : { ticket: values.ticket as string };
  const found = (await fromIndex(cli, asked, signedTopics)) ?? (await fromTopics(cli, asked, signedTopics));
  if (found === null) {
    console.error(`grantline evidence: no custody events for ${values.grant ? `grant ${values.grant}` : `ticket ${values.ticket}`}`);
    return 2;
  }
  const { events, messages } = found;
  const story = buildEvidence(events, messages, jwks, new Date());
  console.log(values.json ? JSON.stringify(story, null, 2) : formatEvidence(story));
  return story.verified ? 0 : 1;
}

type Asked = { grant: string } | { ticket: string };
type Found = { events: unknown[]; messages: SignedMessage[] };

/**
 * The ticket's records through the ticket index: its partition of the index, then exactly the
 * custody events and signed messages it names. Null when the index does not know the ticket or does
 * not hold its chain from the first event (written before the index existed).
 */
async function fromIndex(cli: CliKafka, asked: Asked, signedTopics: readonly string[]): Promise<Found | null> {
  const reader = new TicketIndexReader(cli.kafka, cli.topics.ticketIndex, cliGate(cli, cli.topics.ticketIndex));
  let ticket;
  try {
    ticket = await reader.find('grant' in asked ? { grant: asked.grant } : { name: asked.ticket });
  } catch (err) {
    if (!(err instanceof TopicMissingError)) throw err;
    console.error(`grantline evidence: ${err.message}: no grantline processor of this version has run under kafka.topicPrefix "${cli.config.kafka.topicPrefix}" yet (it creates the index); reading the whole topics`);
    return null;
  }
  const indexed = ticket === null ? null : await reader.ticket(ticket);
  if (indexed === null) return null;
  // Signed messages in the order the whole-topic reading gave: by topic (channels, then rejections), then as written.
  const order = (topic: string): number => (signedTopics.includes(topic) ? signedTopics.indexOf(topic) : signedTopics.length);
  const custody = indexed.records.filter((r) => r.type === 'custody');
  const signed = indexed.records.filter((r) => r.type !== 'custody').sort((a, b) => order(a.topic) - order(b.topic));
  const read = await reader.read([...custody, ...signed]);
  const events = read.slice(0, custody.length).map((m) => json(m?.value ?? null));
  if ((events[0] as { seq?: unknown } | undefined)?.seq !== 0) {
    console.error(`grantline evidence: the ticket index does not hold ${indexed.ticketKey}'s custody chain from its first event; reading the whole topics`);
    return null;
  }
  const messages = read.slice(custody.length).flatMap((m, i) => (m === null ? [] : [{ topic: (signed[i] as { topic: string }).topic, type: m.headers?.ce_type?.toString() ?? '', value: json(m.value) }]));
  return { events, messages };
}

/** The ticket's records from the whole custody, grant and rejection topics: for tickets the index does not cover. */
async function fromTopics(cli: CliKafka, asked: Asked, signedTopics: readonly string[]): Promise<Found | null> {
  const missing = await missingTopics(cli.kafka, [cli.topics.custody]);
  if (missing.length > 0) {
    console.error(`grantline evidence: topic ${cli.topics.custody} does not exist on the Kafka cluster: is kafka.topicPrefix "${cli.config.kafka.topicPrefix}" the deployment's?`);
    return null;
  }
  const custody = (await readTopic(cli.kafka, cli.topics.custody)).map((m) => json(m.message.value) as Record<string, unknown> | undefined);
  const ticketOf = (e: Record<string, unknown> | undefined) => e?.ticket as { connectorId: string; ticketId: string; ticketKey: string } | undefined;
  const anchor = 'grant' in asked
    ? custody.find((e) => e?.grantId === asked.grant)
    : custody.find((e) => ticketOf(e)?.ticketKey === asked.ticket || ticketOf(e)?.ticketId === asked.ticket);
  const ticket = ticketOf(anchor);
  if (!ticket) return null;
  const events = custody.filter((e) => ticketOf(e)?.connectorId === ticket.connectorId && ticketOf(e)?.ticketId === ticket.ticketId);
  const messages: SignedMessage[] = [];
  for (const topic of signedTopics) {
    for (const { message } of await readTopic(cli.kafka, topic)) {
      const value = json(message.value) as { source?: { connectorId?: string; ticketId?: string } } | undefined;
      if (value?.source?.connectorId !== ticket.connectorId || value.source.ticketId !== ticket.ticketId) continue;
      messages.push({ topic, type: message.headers?.ce_type?.toString() ?? '', value });
    }
  }
  return { events, messages };
}
