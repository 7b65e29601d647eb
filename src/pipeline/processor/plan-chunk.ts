import type { Logger } from 'pino';
import { describeError } from '../../connector/errors.js';
import type { DeadLetterOriginal, TicketState } from '../../model/index.js';
import type { Output } from '../cloudevents.js';
import { encodeDeadLetter, originalOf } from '../dead-letter.js';
import type { PipelineMetrics } from '../metrics.js';
import type { ProcessorPorts } from '../ports.js';
import type { Refusals } from '../refusals.js';
import type { HeldPartition } from '../state/partition-states.js';
import { processTicket } from '../ticket/index.js';
import type { FetchOutcome } from './attempts.js';
import { planPartitionCommands } from './partition-commands.js';
import type { PreparedChunk } from './prefetch.js';

/** What committing one chunk will publish, and what happens after the commit. */
export interface ChunkPlan {
  readonly outputs: Output[];
  /** New states; null: the ticket is retired (a tombstone). */
  readonly states: { key: string; state: TicketState | null }[];
  /** Metrics of what was decided, and the break-glass holdings it wrote: applied once the transaction committed, never for a chunk read again. */
  readonly afterCommit: (() => void)[];
  /** The last offset processed (null: nothing before the cutoff). */
  readonly lastProcessed: bigint | null;
  /** The first offset that waits for a source (null: nothing waits); the partition pauses there. */
  readonly cutoff: bigint | null;
  /** The longest Retry-After any source asked for in this chunk. */
  readonly retryAfterMs: number | undefined;
}

export interface PlanDeps {
  readonly topic: string;
  readonly partition: number;
  readonly ports: ProcessorPorts;
  readonly metrics: PipelineMetrics;
  readonly log: Logger;
  readonly state: (key: string) => TicketState | undefined;
  /** The partition's held tickets, for partition commands (offboarding, fulfillment reports). */
  readonly held: Pick<HeldPartition, 'entries' | 'has' | 'get' | 'ticketOfGrant'>;
  readonly now: Date;
  /** A refused (unauthenticated) event's DLQ record and alert go out in the chunk's transaction. */
  readonly refusals: Refusals;
  /** Whether an adapter registered for `channel` may report on a grant published on `grantTopic`. */
  readonly serves: (channel: string | undefined, grantTopic: string) => boolean;
}

/**
 * Decides one chunk of a partition: events before the first one blocked on a source are decided
 * (poison and dead events to the DLQ, the rest through `processTicket`); from the cutoff on,
 * nothing is decided and the chunk is read again when the partition resumes.
 */
export function planChunk(prepared: PreparedChunk, fetched: readonly (FetchOutcome | undefined)[], deps: PlanDeps): ChunkPlan {
  const { topic, partition, ports, log, now } = deps;
  const outputs: Output[] = [];
  const afterCommit: (() => void)[] = [];
  const toDlq = (stage: string, reason: string, original: DeadLetterOriginal): void => {
    outputs.push({ topic: ports.topics.dlq, message: encodeDeadLetter('processor', stage, reason, original, now) });
    afterCommit.push(() => deps.metrics.dlq.inc({ stage }));
  };

  let cutoff: bigint | null = null;
  let retryAfterMs: number | undefined;
  prepared.groups.forEach((group, i) => {
    const outcome = fetched[i];
    if (outcome?.kind !== 'blocked') return;
    const first = BigInt(group.items[0]?.offset ?? '0');
    if (cutoff === null || first < cutoff) cutoff = first;
    if (outcome.retryAfterMs !== undefined) retryAfterMs = Math.max(retryAfterMs ?? 0, outcome.retryAfterMs);
    log.warn({ ticket: group.key, error: describeError(outcome.error) }, 'source unavailable; partition paused');
  });
  const before = (offset: bigint): boolean => cutoff === null || offset < cutoff;

  // Poison before the cutoff goes to the DLQ now; after it, it is read again on resume.
  for (const p of prepared.poison) {
    if (!before(p.offset)) continue;
    const refused = p.refused;
    if (refused !== undefined) {
      outputs.push(...deps.refusals.outputs('processor', topic, partition, p.message, refused, now));
      afterCommit.push(() => deps.refusals.counted('processor', topic, partition, p.message, refused));
      continue;
    }
    log.warn({ offset: p.offset.toString(), reason: p.reason }, 'poison event sent to the DLQ');
    toDlq('processor.parse', p.reason, originalOf(topic, partition, p.message));
  }

  const states: { key: string; state: TicketState | null }[] = [];
  // Break-glass holdings this chunk writes count for its later tickets before the commit, and are
  // applied to the ledger once it is committed (never for a chunk read again).
  let breakGlass = ports.breakGlass;
  prepared.groups.forEach((group, i) => {
    const outcome = fetched[i];
    const items = group.items.filter((item) => before(BigInt(item.offset)));
    if (items.length === 0) return;
    let events = items.map((item) => item.event);
    if (outcome?.kind === 'dead') {
      for (const item of items.filter((it) => it.event.kind === 'delivery')) {
        log.error({ ticket: group.key, offset: item.offset, error: describeError(outcome.error) }, 'event failed repeatedly; sent to the DLQ');
        toDlq('processor.fetch', describeError(outcome.error), originalOf(topic, partition, item.message));
      }
      events = events.filter((e) => e.kind !== 'delivery');
    }
    const held = deps.state(group.key);
    let result: ReturnType<typeof processTicket>;
    try {
      result = processTicket(
        { connectorId: group.connectorId, ticketId: group.ticketId, state: held ?? null, events, snapshot: outcome?.kind === 'ok' ? outcome.snapshot : null, now },
        { ...ports, breakGlass },
      );
    } catch (error) {
      // Deciding is pure: the same events would fail again. They go to the DLQ with the reason
      // instead of blocking the partition; the ticket's state is left as it was.
      log.error({ ticket: group.key, error: describeError(error) }, 'deciding failed; events sent to the DLQ');
      for (const item of items) toDlq('processor.decide', describeError(error), originalOf(topic, partition, item.message));
      return;
    }
    outputs.push(...result.outputs);
    breakGlass = breakGlass.withStaged(result.outputs);
    // processTicket bumps the version only when something changed: unchanged state is not rewritten.
    if (result.retired) states.push({ key: group.key, state: null });
    else if (result.state.version > (held?.version ?? 0)) states.push({ key: group.key, state: result.state });
    const c = result.counts;
    afterCommit.push(() => {
      const { decisions } = deps.metrics;
      if (c.granted) decisions.inc({ connector: group.connectorId, outcome: 'granted' }, c.granted);
      if (c.rejected) decisions.inc({ connector: group.connectorId, outcome: 'rejected' }, c.rejected);
      if (c.revoked) decisions.inc({ connector: group.connectorId, outcome: 'revoked' }, c.revoked);
    });
  });

  afterCommit.push(() => ports.breakGlass.committed(outputs));
  const commands = prepared.commands.filter((c) => before(BigInt(c.offset)));
  if (commands.length > 0) {
    const decided = new Map(states.flatMap((s) => (s.state === null ? [] : [[s.key, s.state] as const])));
    const retired = new Set(states.filter((s) => s.state === null).map((s) => s.key));
    const { held } = deps;
    outputs.push(
      ...planPartitionCommands(
        commands,
        {
          *tickets() {
            for (const [key, s] of held.entries()) if (!retired.has(key)) yield decided.get(key) ?? s;
            for (const [key, s] of decided) if (!held.has(key)) yield s;
          },
          ticketOfGrant(grantId) {
            for (const s of decided.values()) if (s.grants.some((g) => g.grantId === grantId)) return s;
            const key = held.ticketOfGrant(grantId);
            return key === undefined || retired.has(key) ? undefined : held.get(key);
          },
        },
        ports.topics.ticketEvents,
        now,
        {
          serves: deps.serves,
          refuse: (t, p, message, refused) => {
            afterCommit.push(() => deps.refusals.counted('lifecycle', t, p, message, refused));
            return deps.refusals.outputs('lifecycle', t, p, message, refused, now);
          },
        },
      ),
    );
  }

  let lastProcessed: bigint | null = null;
  for (const message of prepared.messages) {
    const offset = BigInt(message.offset);
    if (!before(offset)) break;
    lastProcessed = offset;
  }
  return { outputs, states, afterCommit, lastProcessed, cutoff, retryAfterMs };
}
