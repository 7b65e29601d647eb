import type { Logger } from 'pino';
import type { TicketSnapshot } from '../connector/contract.js';
import { describeError, GrantlineError, SourceUnavailableError } from '../connector/errors.js';
import { createConsumer, createProducer, type Consumer, type EachBatchPayload, type GrantlineProducer, type Kafka } from '../kafka/index.js';
import { PartitionBackoff, PIPELINE_CONSUMER_TIMING } from './backoff.js';
import { CE_TYPES, encodeCloudEvent } from './cloudevents.js';
import { TicketEvent, ticketKey, type TicketState } from './events.js';
import type { PipelineMetrics } from './metrics.js';
import type { ProcessorPorts } from './ports.js';
import type { StateView } from './state-view.js';
import { processTicket, type Output } from './ticket.js';

export interface ProcessorOptions {
  readonly kafka: Kafka;
  readonly ports: ProcessorPorts;
  readonly view: StateView;
  readonly logger: Logger;
  readonly metrics: PipelineMetrics;
  readonly groupId: string;
  /** Stable per instance, so a restarted processor fences its predecessor's open transaction. */
  readonly transactionalId: string;
  /** Attempts before an event that keeps failing for a non-retriable reason goes to the DLQ. */
  readonly maxAttempts: number;
  /** Source fetches in flight at once within a batch. */
  readonly fetchConcurrency: number;
  /** Most events in one transaction. */
  readonly batchSize: number;
  readonly backoff: { initialMs: number; maxMs: number };
  readonly now?: () => Date;
  /** Called when the consumer crashed and kafkajs will not restart it: the role is no longer working. */
  readonly onFatal?: (err: unknown) => void;
}

interface Parsed {
  readonly offset: string;
  readonly key: string;
  readonly event: TicketEvent;
}

interface Group {
  readonly connectorId: string;
  readonly ticketId: string;
  readonly key: string;
  readonly items: Parsed[];
}

/** What one fetch returned, before the processor decides what a failure means for the partition. */
type FetchResult =
  | { kind: 'ok'; snapshot: TicketSnapshot }
  | { kind: 'none' }
  | { kind: 'failed'; error: unknown };

type FetchOutcome =
  | { kind: 'ok'; snapshot: TicketSnapshot }
  | { kind: 'none' }
  | { kind: 'blocked'; error: unknown; retryAfterMs: number | undefined }
  | { kind: 'dead'; error: unknown };

/** A chunk parsed and grouped by ticket, with its fetches under way. */
interface Prepared {
  readonly messages: EachBatchPayload['batch']['messages'];
  readonly groups: Group[];
  readonly poison: { offset: bigint; reason: string; output: Output }[];
  readonly fetches: Promise<FetchResult[]>;
}


/** Bytes of messages per send within a batch's transaction; a single larger message goes alone. */
const TX_SEND_MAX_BYTES = 512 * 1024;

/** Splits the batch's messages, in order, into `sendBatch` payloads of at most `maxBytes` each. */
export function chunkTopicMessages(byTopic: ReadonlyMap<string, Output['message'][]>, maxBytes: number): { topic: string; messages: Output['message'][] }[][] {
  const chunks: { topic: string; messages: Output['message'][] }[][] = [];
  let current = new Map<string, Output['message'][]>();
  let bytes = 0;
  const flush = (): void => {
    if (current.size > 0) chunks.push([...current.entries()].map(([topic, messages]) => ({ topic, messages })));
    current = new Map();
    bytes = 0;
  };
  for (const [topic, messages] of byTopic) {
    for (const message of messages) {
      let size = Buffer.byteLength(message.key) + Buffer.byteLength(message.value);
      for (const [name, value] of Object.entries(message.headers)) size += Buffer.byteLength(name) + Buffer.byteLength(value);
      if (bytes > 0 && bytes + size > maxBytes) flush();
      const list = current.get(topic) ?? [];
      list.push(message);
      current.set(topic, list);
      bytes += size;
    }
  }
  flush();
  return chunks;
}

/**
 * A Kafka failure while the batch is in hand (broker restarting, producer fenced, coordinator
 * loading). kafkajs restarts a crashed consumer only when the innermost cause is retriable, so this
 * error carries no `cause`: the batch is read again from its last committed offset, on a fresh
 * producer, instead of the role stopping for good.
 */
function restartable(what: string, error: unknown): GrantlineError {
  return new GrantlineError(`${what} failed (${describeError(error)}); the batch will be read again`, { retriable: true });
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * The processor role: consumes verified ticket events, re-reads each ticket once per batch from its
 * source, maps and decides, and publishes grants, rejections, revocations, custody, write-back tasks,
 * the new ticket state and the consumed offsets in ONE Kafka transaction per batch.
 *
 * A source outage or rate limit pauses the partition at the first event that needs the source and
 * resumes it with backoff; everything before that point is committed. An event that cannot be read,
 * or that fails for a non-retriable reason `maxAttempts` times, goes to the DLQ with its reason.
 */
export class Processor {
  private consumer: Consumer | null = null;
  private producer: GrantlineProducer | null = null;
  private producerBroken = false;
  private needsCatchUp = true;
  private readonly attempts = new Map<string, number>();
  private readonly backoff: PartitionBackoff;
  private readonly now: () => Date;

  constructor(private readonly options: ProcessorOptions) {
    this.now = options.now ?? (() => new Date());
    this.backoff = new PartitionBackoff('processor', options.backoff, options.metrics);
  }

  async start(): Promise<void> {
    const { kafka, groupId, ports } = this.options;
    await this.transactionalProducer();
    const consumer = createConsumer(kafka, { groupId, readCommitted: true, ...PIPELINE_CONSUMER_TIMING });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      // New partitions may have been written by another instance: re-read their state first.
      this.needsCatchUp = true;
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.options.onFatal?.(payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [ports.topics.ticketEvents], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  async stop(): Promise<void> {
    this.backoff.clear();
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
    this.consumer = null;
    this.producer = null;
  }

  private parse(message: EachBatchPayload['batch']['messages'][number]): { ok: true; parsed: Parsed } | { ok: false; reason: string } {
    const key = message.key?.toString('utf8');
    if (!key) return { ok: false, reason: 'message has no key' };
    if (message.value === null) return { ok: false, reason: 'message has no value' };
    let json: unknown;
    try {
      json = JSON.parse(message.value.toString('utf8'));
    } catch (err) {
      return { ok: false, reason: `value is not JSON: ${(err as Error).message}` };
    }
    const result = TicketEvent.safeParse(json);
    if (!result.success) {
      return { ok: false, reason: `not a ticket event: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
    }
    const event = result.data;
    if (key !== ticketKey(event.connectorId, event.ticketId)) {
      return { ok: false, reason: `key ${key} does not match the event's ticket ${ticketKey(event.connectorId, event.ticketId)}` };
    }
    return { ok: true, parsed: { offset: message.offset, key, event } };
  }

  private dlqOutput(stage: string, reason: string, original: { key: string | null; value: string | null; topic: string; partition: number; offset: string }): Output {
    const at = this.now().toISOString();
    return {
      topic: this.options.ports.topics.dlq,
      message: encodeCloudEvent(
        original.key ?? `${original.topic}:${original.partition}`,
        { id: `${original.topic}:${original.partition}:${original.offset}`, source: 'urn:grantline:processor', type: CE_TYPES.dlq, time: at },
        { stage, reason, at, original },
      ),
    };
  }

  /** Re-reads the ticket when the group holds a delivery not yet seen. Never throws. */
  private async fetchFor(group: Group, state: TicketState | undefined): Promise<FetchResult> {
    if (!this.needsFetch(group, state)) return { kind: 'none' };
    const connector = this.options.ports.connector(group.connectorId);
    if (!connector) return { kind: 'failed', error: new GrantlineError(`connector ${group.connectorId} is not configured`, { retriable: false }) };
    try {
      const snapshot = await connector.fetchTicket(group.ticketId);
      this.options.metrics.sourceFetches.inc({ connector: group.connectorId, result: 'ok' });
      return { kind: 'ok', snapshot };
    } catch (error) {
      this.options.metrics.sourceFetches.inc({ connector: group.connectorId, result: 'error' });
      return { kind: 'failed', error };
    }
  }

  private needsFetch(group: Group, state: TicketState | undefined): boolean {
    return group.items.some((i) => i.event.kind === 'delivery' && !(state?.recentDeliveryIds ?? []).includes(i.event.deliveryId));
  }

  /**
   * What a fetch means for the partition, judged against the ticket's current state. A snapshot
   * fetched ahead (while the previous chunk committed) is used only if a fetch is still needed.
   */
  private outcomeOf(group: Group, result: FetchResult | undefined, state: TicketState | undefined, partition: number): FetchOutcome {
    if (result === undefined || result.kind === 'none' || !this.needsFetch(group, state)) return { kind: 'none' };
    if (result.kind === 'ok') return result;
    const { error } = result;
    if (error instanceof GrantlineError && error.retriable) {
      return { kind: 'blocked', error, retryAfterMs: error instanceof SourceUnavailableError ? error.retryAfterMs : undefined };
    }
    // Not known to be retriable: retry a few times (it may be a passing fault), then DLQ.
    const first = group.items[0];
    const attemptKey = `${partition}:${first?.offset ?? ''}`;
    const attempts = (this.attempts.get(attemptKey) ?? 0) + 1;
    this.attempts.set(attemptKey, attempts);
    if (attempts >= this.options.maxAttempts) {
      this.attempts.delete(attemptKey);
      return { kind: 'dead', error };
    }
    return { kind: 'blocked', error, retryAfterMs: undefined };
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, isRunning, isStale } = payload;
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    if (this.needsCatchUp) {
      await this.options.view.catchUp().catch((error: unknown) => {
        throw restartable('reading the ticket state', error);
      });
      this.needsCatchUp = false;
    }
    // One transaction per chunk of at most `batchSize` events, so a large fetch does not become one
    // huge transaction (and the first grants do not wait for the last fetch of the batch). The next
    // chunk's fetches run while this chunk is decided and committed: the source round trips overlap
    // the CPU work and the transaction's broker round trips instead of following them.
    const size = this.options.batchSize;
    const chunks: EachBatchPayload['batch']['messages'][] = [];
    for (let i = 0; i < batch.messages.length; i += size) chunks.push(batch.messages.slice(i, i + size));
    let next: Prepared | null = this.prepare(batch, chunks[0] ?? []);
    for (let c = 0; c < chunks.length && next !== null; c++) {
      const current: Prepared = next;
      next = null;
      if (!isRunning() || isStale()) return;
      const following = chunks[c + 1];
      const paused = await this.processChunk(payload, current, () => {
        if (following !== undefined) next = this.prepare(batch, following);
      });
      // A prefetch left behind (paused partition, lost assignment) settles on its own: fetchFor never throws.
      if (paused) return;
    }
  }

  /** Parses and groups a chunk's messages by ticket, and starts its fetches (`fetchConcurrency` at once). */
  private prepare(batch: EachBatchPayload['batch'], messages: EachBatchPayload['batch']['messages']): Prepared {
    const { view } = this.options;
    const poison: { offset: bigint; reason: string; output: Output }[] = [];
    const groups = new Map<string, Group>();
    for (const message of messages) {
      const parsed = this.parse(message);
      if (!parsed.ok) {
        poison.push({
          offset: BigInt(message.offset),
          reason: parsed.reason,
          output: this.dlqOutput('processor.parse', parsed.reason, {
            key: message.key?.toString('utf8') ?? null,
            value: message.value?.toString('utf8') ?? null,
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
          }),
        });
        continue;
      }
      const { event } = parsed.parsed;
      let group = groups.get(parsed.parsed.key);
      if (!group) {
        group = { connectorId: event.connectorId, ticketId: event.ticketId, key: parsed.parsed.key, items: [] };
        groups.set(parsed.parsed.key, group);
      }
      group.items.push(parsed.parsed);
    }
    // One fetch per ticket per chunk, several tickets at once: fetches are the scarce resource.
    const groupList = [...groups.values()];
    const fetches = mapLimit(groupList, this.options.fetchConcurrency, (g) => this.fetchFor(g, view.get(g.key)));
    return { messages, groups: groupList, poison, fetches };
  }

  /**
   * Processes consecutive messages of one partition in one transaction; true when the partition was
   * paused. `fetchedAll` is called once this chunk's fetches are in, to start the next chunk's.
   */
  private async processChunk(payload: EachBatchPayload, prepared: Prepared, fetchedAll: () => void): Promise<boolean> {
    const { batch, heartbeat } = payload;
    const started = process.hrtime.bigint();
    const { ports, view, logger } = this.options;
    const log = logger.child({ topic: batch.topic, partition: batch.partition });
    const { messages, poison, groups: groupList } = prepared;
    const outputs: Output[] = [];
    // Metrics count what was committed: a chunk that is read again (pause, failed transaction, a
    // prefetch left behind) is not counted twice.
    const afterCommit: (() => void)[] = [];
    const toDlq = (stage: string, reason: string, original: Parameters<Processor['dlqOutput']>[2]): void => {
      outputs.push(this.dlqOutput(stage, reason, original));
      afterCommit.push(() => this.options.metrics.dlq.inc({ stage }));
    };

    const results = await prepared.fetches;
    fetchedAll();
    const fetched = groupList.map((g, i) => this.outcomeOf(g, results[i], view.get(g.key), batch.partition));
    await heartbeat();

    let cutoff: bigint | null = null;
    let retryAfterMs: number | undefined;
    groupList.forEach((group, i) => {
      const outcome = fetched[i];
      if (outcome?.kind !== 'blocked') return;
      const first = BigInt(group.items[0]?.offset ?? '0');
      if (cutoff === null || first < cutoff) cutoff = first;
      // The longest Retry-After any source asked for in this batch.
      if (outcome.retryAfterMs !== undefined) retryAfterMs = Math.max(retryAfterMs ?? 0, outcome.retryAfterMs);
      log.warn({ ticket: group.key, error: describeError(outcome.error) }, 'source unavailable; partition paused');
    });

    // Poison before the cutoff goes to the DLQ now; after it, it is read again on resume.
    for (const p of poison) {
      if (cutoff !== null && p.offset >= cutoff) continue;
      log.warn({ offset: p.offset.toString(), reason: p.reason }, 'poison event sent to the DLQ');
      outputs.push(p.output);
      afterCommit.push(() => this.options.metrics.dlq.inc({ stage: 'processor.parse' }));
    }
    const now = this.now();
    const states: { key: string; state: TicketState }[] = [];
    let lastProcessed: bigint | null = null;
    groupList.forEach((group, i) => {
      const outcome = fetched[i];
      const items = cutoff === null ? group.items : group.items.filter((item) => BigInt(item.offset) < (cutoff as bigint));
      if (items.length === 0) return;
      let events = items.map((item) => item.event);
      if (outcome?.kind === 'dead') {
        for (const item of items.filter((it) => it.event.kind === 'delivery')) {
          log.error({ ticket: group.key, offset: item.offset, error: describeError(outcome.error) }, 'event failed repeatedly; sent to the DLQ');
          toDlq('processor.fetch', describeError(outcome.error), {
            key: group.key,
            value: JSON.stringify(item.event),
            topic: batch.topic,
            partition: batch.partition,
            offset: item.offset,
          });
        }
        events = events.filter((e) => e.kind !== 'delivery');
      }
      let result: ReturnType<typeof processTicket>;
      try {
        result = processTicket(
          {
            connectorId: group.connectorId,
            ticketId: group.ticketId,
            state: view.get(group.key) ?? null,
            events,
            snapshot: outcome?.kind === 'ok' ? outcome.snapshot : null,
            now,
          },
          ports,
        );
      } catch (error) {
        // Deciding is pure: the same events would fail again. They go to the DLQ with the reason
        // instead of blocking the partition; the ticket's state is left as it was.
        log.error({ ticket: group.key, error: describeError(error) }, 'deciding failed; events sent to the DLQ');
        for (const item of items) {
          toDlq('processor.decide', describeError(error), { key: group.key, value: JSON.stringify(item.event), topic: batch.topic, partition: batch.partition, offset: item.offset });
        }
        return;
      }
      outputs.push(...result.outputs);
      // processTicket bumps the version only when something changed: unchanged state is not rewritten.
      if (result.state.version > (view.get(group.key)?.version ?? 0)) states.push({ key: group.key, state: result.state });
      const c = result.counts;
      afterCommit.push(() => {
        const { decisions } = this.options.metrics;
        if (c.granted) decisions.inc({ connector: group.connectorId, outcome: 'granted' }, c.granted);
        if (c.rejected) decisions.inc({ connector: group.connectorId, outcome: 'rejected' }, c.rejected);
        if (c.revoked) decisions.inc({ connector: group.connectorId, outcome: 'revoked' }, c.revoked);
      });
    });
    for (const message of messages) {
      const offset = BigInt(message.offset);
      if (cutoff !== null && offset >= cutoff) break;
      lastProcessed = offset;
    }

    if (lastProcessed !== null) {
      await this.commit(batch.topic, batch.partition, outputs, states, lastProcessed + 1n).catch((error: unknown) => {
        throw restartable('committing the batch', error);
      });
      for (const { key, state } of states) view.apply(key, state);
      for (const count of afterCommit) count();
      payload.resolveOffset(lastProcessed.toString());
    }

    this.options.metrics.batches.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (cutoff !== null) {
      if (this.consumer) this.backoff.pause(this.consumer, payload, (cutoff as bigint).toString(), retryAfterMs);
      return true;
    }
    this.backoff.succeeded(batch.partition);
    return false;
  }

  /**
   * The transactional producer, made anew after a failed transaction: after a broker restart the
   * old one can stay stuck behind the coordinator's abort of its open transaction, while a new one
   * (same transactional id) waits for that abort, fences the old epoch and goes on.
   */
  private async transactionalProducer(): Promise<GrantlineProducer> {
    if (this.producer && !this.producerBroken) return this.producer;
    await this.producer?.disconnect().catch(() => undefined);
    const producer = createProducer(this.options.kafka, { transactionalId: this.options.transactionalId });
    await producer.connect();
    this.producer = producer;
    this.producerBroken = false;
    return producer;
  }

  private async commit(topic: string, partition: number, outputs: Output[], states: { key: string; state: TicketState }[], nextOffset: bigint): Promise<void> {
    const producer = await this.transactionalProducer();
    const byTopic = new Map<string, Output['message'][]>();
    for (const out of outputs) {
      const list = byTopic.get(out.topic) ?? [];
      list.push(out.message);
      byTopic.set(out.topic, list);
    }
    const stateTopic = this.options.ports.topics.ticketState;
    const stateMessages = states.map(({ key, state }) => ({ key, value: JSON.stringify(state), headers: {} }));
    if (stateMessages.length > 0) byTopic.set(stateTopic, [...(byTopic.get(stateTopic) ?? []), ...stateMessages]);

    const tx = await producer.transaction();
    try {
      // A produce request carries one record batch per partition and the broker refuses one over
      // message.max.bytes (1 MB by default, non-retriable): a large consumer batch (a backlog, a
      // replay) crashed the processor. It goes out in several sends of the same transaction.
      for (const chunk of chunkTopicMessages(byTopic, TX_SEND_MAX_BYTES)) {
        await tx.sendBatch(chunk);
      }
      await tx.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [{ topic, partitions: [{ partition, offset: nextOffset.toString() }] }],
      });
      await tx.commit();
    } catch (error) {
      await tx.abort().catch(() => undefined);
      // Nothing of the batch is visible or committed; the consumer re-reads it from the last
      // resolved offset, and the next attempt gets a fresh producer.
      this.producerBroken = true;
      throw error;
    }
  }
}
