import { parseArgs } from 'node:util';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ConfigError, loadConfig, resolveConfigPath, type GrantlineConfig } from '../../config/index.js';
import type { Connector, TicketSnapshot, WriteBack } from '../../connector/contract.js';
import { GrantlineError } from '../../connector/errors.js';
import { createKafka, kafkaSettings, topicNames } from '../../kafka/index.js';
import { createLogger } from '../../log/index.js';
import type { Decision } from '../../model/index.js';
import { writesBackRejection } from '../../policy/rejection.js';
import { canonicalMapped, decideMapped, decisionKey, pendingWriteBack } from '../../pipeline/ticket/decide.js';
import type { ProcessorPorts } from '../../pipeline/ports.js';
import { plainNote, renderNote } from '../../connector/note.js';
import { renderPendingNote } from '../../policy/index.js';
import type { CanonicalMapped } from '../../pipeline/ticket/decide.js';
import { wiredConnectorTypes } from '../../service/connector-types.js';
import { createPipelineRuntime } from '../../service/wiring.js';
import { formatCheck, type CheckReport } from '../check-view.js';
import { readFlags, type CliIo } from '../flags.js';

const USAGE = `usage: grantline check --connector ID --ticket KEY [--config PATH] [--at ISO-TIME] [--json]

Fetches one live ticket through a configured connector, maps it, and decides it exactly as the
processor would, against the catalog and directory files of the config. Prints the canonical
request (or every mapping problem), the decision with every reason, and what would be written on
the ticket. Publishes nothing and writes nothing on the ticket: only the connector's reads reach
the source. This is how a field mapping is checked against a real Jira or ServiceNow before going
live.

  --connector ID   a connector id of the config (connectors[].id), e.g. jira-main
  --ticket KEY     the ticket as the source's API names it: a Jira issue key or id (ACC-12),
                   a ServiceNow RITM sys_id
  --config PATH    grantline config (default as for serve)
  --at ISO-TIME    decide as of this time instead of now
  --json           print the report as JSON

The directory is the file's (directory.path): with scim.enabled, what the IdP pushed is not seen.
A ticket with a grant in force gets no rejection note; check cannot know that, and assumes none.

Exit codes: 0 granted, 3 rejected or not a request, 4 cancelled in the source, 1 the source could not
be read, 2 bad usage or bad config.`;

export type CheckIo = CliIo;

const defaultIo: CliIo = { out: (t) => console.log(t), err: (t) => console.error(t) };

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    options: {
      connector: { type: 'string' },
      ticket: { type: 'string' },
      config: { type: 'string' },
      at: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
}

/** What the processor decided for the ticket: the canonical mapping, the decision, and the input they were taken on. */
interface Decided {
  readonly mapped: CanonicalMapped;
  readonly requestId: string;
  readonly decision: Decision;
  readonly inputSha256: string;
}

/** What the write-back worker would write for this decision: the same choice and renderer it uses. */
function writeBackOf(ports: ProcessorPorts, decided: Decided): CheckReport['writeBack'] {
  const { mapped, decision } = decided;
  const pending = decision.outcome === 'rejected' ? pendingWriteBack(ports.policy, mapped.ok ? mapped.request : null, decision, ports.custody.digest) : null;
  const idempotencyKey = pending?.idempotencyKey ?? decisionKey(decision, decided.inputSha256);
  const item: WriteBack = pending !== null ? { kind: 'note', text: renderPendingNote(pending.item.pending) } : { kind: 'decision', decision };
  return { idempotencyKey, item, text: plainNote(renderNote(item, idempotencyKey)) };
}

function report(ports: ProcessorPorts, connector: Connector, snapshot: TicketSnapshot, decided: Decided | null): CheckReport {
  const base = { connectorId: connector.id, ticket: { ticketId: snapshot.ticketId, ticketKey: snapshot.ticketKey, fetchedAt: snapshot.fetchedAt } };
  if (decided === null) return { ...base, cancelled: true, request: null, mappingFailure: null, requestId: null, decision: null, writeBack: null };
  const { mapped, decision } = decided;
  const actionable = mapped.ok ? mapped.request.status.actionable : mapped.failure.actionable;
  const written = decision.outcome === 'granted' || writesBackRejection(actionable, 0);
  return {
    ...base,
    cancelled: false,
    request: mapped.ok ? mapped.request : null,
    mappingFailure: mapped.ok ? null : mapped.failure,
    requestId: decided.requestId,
    decision,
    writeBack: written ? writeBackOf(ports, decided) : null,
  };
}

export async function run(argv: string[], io: CheckIo = defaultIo): Promise<number> {
  const values = readFlags('check', USAGE, io, () => parseOptions(argv));
  if (typeof values === 'number') return values;
  if (values.connector === undefined || values.ticket === undefined) {
    io.err(`grantline check: name both --connector and --ticket\n\n${USAGE}`);
    return 2;
  }
  const now = values.at === undefined ? new Date() : new Date(values.at);
  if (Number.isNaN(now.getTime())) {
    io.err(`grantline check: --at ${values.at} is not an ISO 8601 time`);
    return 2;
  }
  let config: GrantlineConfig;
  try {
    config = loadConfig(resolveConfigPath(values.config), process.env, { connectorTypes: wiredConnectorTypes() });
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`grantline check: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger({ ...config, log: { level: 'warn' } }, pino.destination(2));
  // The processor's own runtime and ports; its Kafka client is never connected.
  let runtime;
  try {
    runtime = await createPipelineRuntime(config, logger, createKafka(kafkaSettings(config.kafka, { clientIdSuffix: '-check' }), logger), topicNames(config.kafka.topicPrefix), new Registry());
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`grantline check: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const ports = runtime.ports('check');
  const connector = ports.connector(values.connector);
  if (connector === undefined) {
    io.err(`grantline check: no connector "${values.connector}" in the config (configured: ${config.connectors.map((c) => c.id).join(', ') || 'none'})`);
    return 2;
  }

  let snapshot: TicketSnapshot;
  try {
    snapshot = await connector.fetchTicket(values.ticket);
  } catch (err) {
    if (!(err instanceof GrantlineError)) throw err;
    io.err(`grantline check: cannot read ${values.ticket} from ${connector.id} (${connector.instanceUrl}): ${err.message}`);
    return 1;
  }

  let result: CheckReport;
  if (connector.isCancelled(snapshot)) {
    result = report(ports, connector, snapshot, null);
  } else {
    // As evaluate() does: the core's canonical mapping, its digest, the processor's decision.
    const mapped = canonicalMapped(connector.map(snapshot));
    const inputSha256 = ports.custody.digest(mapped);
    result = report(ports, connector, snapshot, { mapped, inputSha256, ...decideMapped(ports.policy, mapped, now, ports.custody.digest, ports.breakGlass) });
  }
  io.out(values.json ? JSON.stringify(result, null, 2) : formatCheck(result));
  if (result.decision === null) return 4;
  return result.decision.outcome === 'granted' ? 0 : 3;
}
