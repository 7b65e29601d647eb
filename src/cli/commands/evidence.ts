import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadCatalog } from '../../catalog/index.js';
import { Jwks, loadSigningKeys, publicJwks } from '../../custody/index.js';
import { buildEvidence, formatEvidence, type SignedMessage } from '../../pipeline/evidence.js';
import { readTopic } from '../../pipeline/state-view.js';
import { connectCli, openCli } from '../kafka-cli.js';

const USAGE = `usage: grantline evidence (--ticket KEY | --grant ID) [--config PATH] [--jwks FILE] [--json]

Reads the custody topic and the grant and rejection topics, and prints the whole story of a ticket's
requests, verified: hash chain intact, every grant, rejection and revocation signed and linked to its
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
  const custody = (await readTopic(cli.kafka, cli.topics.custody)).map((m) => json(m.message.value) as Record<string, unknown> | undefined);
  const ticketOf = (e: Record<string, unknown> | undefined) => e?.ticket as { connectorId: string; ticketId: string; ticketKey: string } | undefined;
  const anchor = values.grant
    ? custody.find((e) => e?.grantId === values.grant)
    : custody.find((e) => ticketOf(e)?.ticketKey === values.ticket || ticketOf(e)?.ticketId === values.ticket);
  const ticket = ticketOf(anchor);
  if (!ticket) {
    console.error(`grantline evidence: no custody events for ${values.grant ? `grant ${values.grant}` : `ticket ${values.ticket}`}`);
    return 2;
  }
  const events = custody.filter((e) => ticketOf(e)?.connectorId === ticket.connectorId && ticketOf(e)?.ticketId === ticket.ticketId);

  const catalog = await loadCatalog(cli.config.catalog.path);
  const channels = [...new Set(catalog.entries().map((e) => e.channel))];
  const messages: SignedMessage[] = [];
  for (const topic of [...channels.map((c) => cli.topics.grants(c)), cli.topics.rejected]) {
    for (const { message } of await readTopic(cli.kafka, topic)) {
      const value = json(message.value) as { source?: { connectorId?: string; ticketId?: string } } | undefined;
      if (value?.source?.connectorId !== ticket.connectorId || value.source.ticketId !== ticket.ticketId) continue;
      messages.push({ topic, type: message.headers?.ce_type?.toString() ?? '', value });
    }
  }
  const story = buildEvidence(events, messages, jwks, new Date());
  console.log(values.json ? JSON.stringify(story, null, 2) : formatEvidence(story));
  return story.verified ? 0 : 1;
}
