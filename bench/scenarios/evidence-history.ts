/**
 * Writes a history of N tickets for the evidence bench (`bench/evidence.ts`) the way the processor
 * writes it, without the rest of the pipeline: each ticket goes through grantline's own per-ticket
 * processing (`processTicket`: custody chain, signed grant, emitter) with a delivery that is granted
 * and then a revoke command, and each chunk of tickets is committed by the processor's
 * `TransactionalCommitter`, in one transaction per chunk, sealed with grantline's internal key. Only
 * what `grantline evidence` reads is written: custody events and signed messages (and whatever the
 * committer adds to them, such as the ticket index). No source, no policy engine, no consumer of
 * ticket events.
 */
import type { Connector } from '../../src/connector/contract.js';
import type { GrantlineConfig } from '../../src/config/index.js';
import { chainEvent, jsonSha256, loadSigningKeys, sign } from '../../src/custody/index.js';
import type { Kafka } from '../../src/kafka/index.js';
import { ticketKey, type DeliveryEvent, type RevokeCommand } from '../../src/model/index.js';
import { BreakGlassLedger } from '../../src/pipeline/break-glass-ledger.js';
import type { Output } from '../../src/pipeline/cloudevents.js';
import type { ProcessorPorts } from '../../src/pipeline/ports.js';
import { TransactionalCommitter } from '../../src/pipeline/processor/commit.js';
import { internalTopics } from '../../src/pipeline/runtime.js';
import { processTicket } from '../../src/pipeline/ticket/index.js';
import { internalSealer, InternalKeyring } from '../../src/trust/index.js';
import { topicNames } from '../../src/kafka/index.js';
import { approval, grantFor, makeRequest } from '../../test/fixtures/ticket-pipeline.js';

/** The connector the history's tickets come from (the example config's Jira connector). */
export const CONNECTOR_ID = 'jira-main';
const CHANNEL = 'pam';
/** Tickets per transaction: a processor chunk of a busy partition. */
const CHUNK_TICKETS = 200;

/** The names a history ticket is known by: its source id, its human key, its grant. */
export interface HistoryTicket {
  readonly ticketId: string;
  readonly ticketKey: string;
  readonly grantId: string;
}

/** Ticket i of a history: id `<run>-<i>` (a source id), key `EV-<i>` (a human key). */
export function historyTicket(run: string, i: number): { ticketId: string; ticketKey: string } {
  return { ticketId: `${run}-${i}`, ticketKey: `EV${run.toUpperCase().replace(/[^A-Z0-9]/g, '')}-${i}` };
}

function ports(config: GrantlineConfig): ProcessorPorts {
  const keys = loadSigningKeys(config.signing);
  const t = topicNames(config.kafka.topicPrefix);
  const connector = {
    id: CONNECTOR_ID,
    type: 'jira',
    instanceUrl: 'https://jira.example.test',
    map: (snapshot: { ticketId: string; ticketKey: string }) => ({
      ok: true,
      request: makeRequest({
        source: { system: 'jira', connectorId: CONNECTOR_ID, instanceUrl: 'https://jira.example.test', ticketId: snapshot.ticketId, ticketKey: snapshot.ticketKey, url: `https://jira.example.test/browse/${snapshot.ticketKey}` },
        approvals: [approval],
      }),
    }),
    isCancelled: () => false,
  } as unknown as Connector;
  return {
    policy: { decide: (request, now) => grantFor(request, now, { entitlement: { id: 'db-orders-prod-readwrite', kind: 'role', system: 'postgres', resource: 'orders-db', sensitivity: 'high', channel: CHANNEL, catalogVersion: 'sha256:cat' } }), versions: () => ({ policyVersion: 'p1', catalogVersion: 'sha256:cat', directoryVersion: 'sha256:dir' }) },
    signer: { sign: (body) => sign(body, keys) },
    custody: { digest: jsonSha256, chain: (head, draft) => chainEvent(head, draft) },
    topics: t,
    breakGlass: new BreakGlassLedger(t.breakGlass),
    decidedBy: 'grantline/bench processor@evidence',
    connector: (id) => (id === CONNECTOR_ID ? connector : undefined),
  };
}

/** One ticket's custody events and signed messages: granted on a delivery, then revoked. */
function ticketOutputs(p: ProcessorPorts, evidenceTopics: ReadonlySet<string>, ids: { ticketId: string; ticketKey: string }, now: Date): { outputs: Output[]; grantId: string } {
  const delivery: DeliveryEvent = {
    kind: 'delivery',
    deliveryId: `dlv-${ids.ticketId}`,
    connectorId: CONNECTOR_ID,
    ticketId: ids.ticketId,
    ticketKey: ids.ticketKey,
    eventType: 'jira:issue_updated',
    via: 'webhook',
    receivedAt: now.toISOString(),
    payloadSha256: jsonSha256(ids),
    signatureVerified: true,
  };
  const snapshot = { ticketId: ids.ticketId, ticketKey: ids.ticketKey, fetchedAt: now.toISOString(), raw: { id: ids.ticketId } };
  const granted = processTicket({ connectorId: CONNECTOR_ID, ticketId: ids.ticketId, state: null, events: [delivery], snapshot, now }, p);
  const grantId = granted.state.grants[0]?.grantId;
  if (grantId === undefined) throw new Error(`ticket ${ids.ticketKey} was not granted: the bench's fake policy is broken`);
  const later = new Date(now.getTime() + 3600_000);
  const revoke: RevokeCommand = {
    kind: 'revoke',
    commandId: `cmd-${ids.ticketId}`,
    connectorId: CONNECTOR_ID,
    ticketId: ids.ticketId,
    grantId,
    trigger: 'ttl-expired',
    reason: 'the TTL ran out',
    actor: 'grantline/lifecycle',
    requestedAt: later.toISOString(),
  };
  const revoked = processTicket({ connectorId: CONNECTOR_ID, ticketId: ids.ticketId, state: granted.state, events: [revoke], snapshot: null, now: later }, p);
  const outputs = [...granted.outputs, ...revoked.outputs].filter((o) => evidenceTopics.has(o.topic));
  return { outputs, grantId };
}

export interface HistoryWritten {
  readonly tickets: number;
  readonly ms: number;
  /** Tickets whose names the bench asks `evidence` about, spread over the history. */
  readonly samples: HistoryTicket[];
  /** What each ticket's story holds: its custody events and its signed messages. */
  readonly perTicket: { custody: number; signed: number };
}

/**
 * Writes `count` tickets under `config`'s topic prefix (topics must exist), `partitions` chunks in
 * flight at once (one transactional producer each, as one processor per input partition).
 */
export async function writeHistory(kafka: Kafka, config: GrantlineConfig, run: string, count: number, partitions: number, sampleAt: readonly number[], progress: (done: number) => void): Promise<HistoryWritten> {
  const t = topicNames(config.kafka.topicPrefix);
  const keyring = config.trust.internal === undefined ? null : InternalKeyring.load(config.trust.internal);
  // The ticket index topic, in a build whose committer writes one (h/evidence): so this bench
  // measures whichever `evidence` the build has, and compiles on both.
  const index = 'ticketIndex' in t ? { indexTopic: t.ticketIndex } : {};
  const committer = new TransactionalCommitter(kafka, {
    groupId: `${config.kafka.topicPrefix}bench-evidence`,
    inputTopic: t.ticketEvents,
    stateTopic: t.ticketState,
    ...index,
    ...(keyring === null ? {} : { seal: internalSealer(keyring, internalTopics(t)) }),
  } as ConstructorParameters<typeof TransactionalCommitter>[1]);
  const p = ports(config);
  const evidenceTopics = new Set([t.custody, t.grants(CHANNEL), t.rejected]);
  const samples: HistoryTicket[] = [];
  const wanted = new Set(sampleAt);
  const now = new Date(Date.UTC(2026, 0, 1));
  const t0 = performance.now();
  const nextOffset = new Array<bigint>(partitions).fill(0n);
  let next = 0;
  let done = 0;
  let perTicket = { custody: 0, signed: 0 };
  try {
    await Promise.all(Array.from({ length: partitions }, (_, partition) => committer.acquire(partition)));
    const worker = async (partition: number): Promise<void> => {
      for (;;) {
        const from = next;
        if (from >= count) return;
        next = Math.min(count, from + CHUNK_TICKETS);
        const outputs: Output[] = [];
        for (let i = from; i < next; i++) {
          const ids = historyTicket(run, i);
          const at = new Date(now.getTime() + i * 1000);
          const ticket = ticketOutputs(p, evidenceTopics, ids, at);
          outputs.push(...ticket.outputs);
          if (i === 0) perTicket = { custody: ticket.outputs.filter((o) => o.topic === t.custody).length, signed: ticket.outputs.filter((o) => o.topic !== t.custody).length };
          if (wanted.has(i)) samples.push({ ...ids, grantId: ticket.grantId });
        }
        const chunkOf = next - from;
        nextOffset[partition] = (nextOffset[partition] ?? 0n) + BigInt(chunkOf);
        const chunk = { topic: t.ticketEvents, partition, outputs, states: [], nextOffset: nextOffset[partition] as bigint };
        // As the processor does: a failed commit (a fresh broker's group coordinator still loading)
        // closed the partition's producer and made nothing visible; acquire it again and retry.
        for (let attempt = 1; ; attempt++) {
          try {
            await committer.commit(chunk);
            break;
          } catch (error) {
            if (attempt >= 20) throw error;
            await new Promise((resolve) => setTimeout(resolve, 500));
            await committer.acquire(partition);
          }
        }
        done += chunkOf;
        progress(done);
      }
    };
    await Promise.all(Array.from({ length: partitions }, (_, partition) => worker(partition)));
  } finally {
    await committer.disconnect();
  }
  return { tickets: count, ms: performance.now() - t0, samples: samples.sort((a, b) => a.ticketId.localeCompare(b.ticketId)), perTicket };
}

/** The Kafka key of a history ticket (what the index is keyed by). */
export function historyKey(ticket: { ticketId: string }): string {
  return ticketKey(CONNECTOR_ID, ticket.ticketId);
}
