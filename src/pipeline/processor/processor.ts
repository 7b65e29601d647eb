import type { Logger } from 'pino';
import { PartitionLoop, readPartitionsToEnd, type InboundMessage, type Kafka, type PartitionBatch } from '../../kafka/index.js';
import { PartitionBackoff } from '../backoff.js';
import type { PipelineMetrics } from '../metrics.js';
import type { TicketState } from '../../model/index.js';
import type { ProcessorPorts } from '../ports.js';
import { PartitionStates, type HeldPartition, type PartitionStatesDeps } from '../state/partition-states.js';
import { restorePartition } from '../state/restore.js';
import type { Gate, Refusals } from '../refusals.js';
import type { MessageBytes, Opened } from '../../trust/index.js';
import type { ProducerOptions } from '../../kafka/index.js';
import { Attempts } from './attempts.js';
import { restartable, TransactionalCommitter } from './commit.js';
import { planChunk } from './plan-chunk.js';
import { prepareChunk, type PrefetchDeps, type PreparedChunk } from './prefetch.js';

export interface ProcessorOptions {
  readonly kafka: Kafka;
  readonly ports: ProcessorPorts;
  readonly logger: Logger;
  readonly metrics: PipelineMetrics;
  /** The consumer group; the transactional id of each input partition's producer derives from it. */
  readonly groupId: string;
  /** Attempts before an event that keeps failing for a non-retriable reason goes to the DLQ. */
  readonly maxAttempts: number;
  /** Source fetches in flight at once within a batch. */
  readonly fetchConcurrency: number;
  /** Most events in one transaction. */
  readonly batchSize: number;
  readonly backoff: { initialMs: number; maxMs: number };
  readonly now?: () => Date;
  /** Called when the consumer crashed and will not be restarted: the role is no longer working. */
  readonly onFatal?: (err: unknown) => void;
  /** Told when a partition's state is restored or dropped, and of each state committed (the owner's lifecycle). */
  readonly stateListener?: Pick<PartitionStatesDeps, 'restored' | 'changed' | 'dropped'>;
  /**
   * src/trust: `open` verifies ticket events, `state` the state records a restore reads; `seal`
   * seals what the transaction writes to internal topics; refused events' DLQ record and alert go
   * out in the chunk's transaction.
   */
  readonly trust: { readonly open: (topic: string, message: MessageBytes) => Opened; readonly state: Gate; readonly seal: NonNullable<ProducerOptions['seal']>; readonly refusals: Refusals; readonly serves: (channel: string | undefined, grantTopic: string) => boolean };
}

/**
 * The processor role: consumes verified ticket events, re-reads each ticket once per chunk from its
 * source, maps and decides, and publishes grants, rejections, revocations, custody, write-back tasks,
 * the new ticket state and the consumed offsets in ONE Kafka transaction per chunk.
 *
 * A source outage or rate limit pauses the partition at the first event that needs the source and
 * resumes it with backoff; everything before that point is committed. An event that cannot be read,
 * or that fails for a non-retriable reason `maxAttempts` times, goes to the DLQ with its reason.
 *
 * Rooms: `parse.ts` (read boundary), `prefetch.ts` (grouping and fetches), `attempts.ts` (what a
 * failed fetch means), `plan-chunk.ts` (deciding a chunk), `commit.ts` (the transaction).
 */
export class Processor {
  private loop: PartitionLoop | null = null;
  private readonly committer: TransactionalCommitter;
  /** The ticket states of the partitions this processor owns, and nothing else. */
  readonly states: PartitionStates;
  private readonly attempts: Attempts;
  private readonly backoff: PartitionBackoff;
  private readonly now: () => Date;

  constructor(private readonly options: ProcessorOptions) {
    this.now = options.now ?? (() => new Date());
    this.backoff = new PartitionBackoff('processor', options.backoff, options.metrics);
    this.attempts = new Attempts(options.maxAttempts);
    const { kafka, ports, groupId, logger, metrics } = options;
    this.committer = new TransactionalCommitter(kafka, { groupId, inputTopic: ports.topics.ticketEvents, stateTopic: ports.topics.ticketState, indexTopic: ports.topics.ticketIndex, seal: options.trust.seal });
    this.states = new PartitionStates({
      acquire: (partition) => this.committer.acquire(partition),
      release: (partition) => this.committer.release(partition),
      restore: (held) => this.restore(held),
      ...(options.stateListener
        ? {
            restored: (held: HeldPartition, states: ReadonlyMap<string, TicketState>) => options.stateListener?.restored?.(held, states),
            changed: (held: HeldPartition, key: string) => options.stateListener?.changed?.(held, key),
            dropped: (partition: number) => options.stateListener?.dropped?.(partition),
          }
        : {}),
      metrics,
      logger: logger.child({ component: 'partition-state' }),
    });
  }

  /** Reads the partition's records of the state topic, committed ones, up to its end. */
  private async restore(held: HeldPartition): Promise<ReadonlyMap<string, TicketState>> {
    const { kafka, ports, logger, groupId, trust } = this.options;
    const topic = ports.topics.ticketState;
    return restorePartition(held, {
      read: (onMessage) => readPartitionsToEnd(kafka, topic, [held.partition], onMessage, { groupPrefix: `${groupId}-restore` }),
      open: (message) => trust.state.open(held.partition, message),
      topic,
      logger,
    });
  }

  async start(): Promise<void> {
    const { kafka, groupId, ports, onFatal } = this.options;
    this.loop = new PartitionLoop(kafka, {
      groupId,
      topics: [ports.topics.ticketEvents],
      offsets: 'transaction',
      // Revoked partitions' states are dropped; new ones are restored (their first batch waits).
      onAssignment: (assignment) => this.states.assigned(assignment[ports.topics.ticketEvents] ?? []),
      ...(onFatal ? { onFatal } : {}),
      handle: (batch) => this.handleBatch(batch),
    });
    await this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
    await this.states.stop();
    await this.committer.disconnect();
    this.loop = null;
  }

  private prepare(held: HeldPartition, messages: readonly InboundMessage[], inFlight?: PrefetchDeps['inFlight']): PreparedChunk {
    const { ports, metrics, fetchConcurrency, trust } = this.options;
    const topic = ports.topics.ticketEvents;
    return prepareChunk(messages, { ports, metrics, fetchConcurrency, state: (key) => held.get(key), open: (message) => trust.open(topic, message), ...(inFlight ? { inFlight } : {}) });
  }

  private async handleBatch(batch: PartitionBatch): Promise<void> {
    if (!batch.active() || batch.messages.length === 0) return;
    const held = await this.states.ensure(batch.partition).catch((error: unknown) => {
      throw restartable('restoring the partition state', error);
    });
    if (!batch.active()) return;
    // One transaction per chunk of at most `batchSize` events, so a large fetch does not become one
    // huge transaction (and the first grants do not wait for the last fetch of the batch). The next
    // chunk's fetches run while this chunk is decided and committed: the source round trips overlap
    // the CPU work and the transaction's broker round trips instead of following them.
    const chunks = batch.chunks(this.options.batchSize);
    let next: PreparedChunk | null = this.prepare(held, chunks[0] ?? []);
    for (let c = 0; c < chunks.length && next !== null; c++) {
      const current: PreparedChunk = next;
      next = null;
      if (!batch.active()) return;
      const following = chunks[c + 1];
      const paused = await this.processChunk(batch, held, current, (settled) => {
        if (following !== undefined) next = this.prepare(held, following, { keys: new Set(current.groups.map((g) => g.key)), settled });
      });
      // A prefetch left behind (paused partition, lost assignment) settles on its own: fetches never throw.
      if (paused) return;
    }
  }

  /**
   * Processes consecutive messages of one partition in one transaction; true when the partition was
   * paused. `fetchedAll` is called once this chunk's fetches are in, to start the next chunk's; the
   * promise it is given settles when this chunk is committed, or given up.
   */
  private async processChunk(batch: PartitionBatch, held: HeldPartition, prepared: PreparedChunk, fetchedAll: (settled: Promise<void>) => void): Promise<boolean> {
    let settle = (): void => undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    try {
      return await this.decideAndCommit(batch, held, prepared, () => fetchedAll(settled));
    } finally {
      settle();
    }
  }

  private async decideAndCommit(batch: PartitionBatch, held: HeldPartition, prepared: PreparedChunk, fetchedAll: () => void): Promise<boolean> {
    const started = process.hrtime.bigint();
    const { ports, logger, metrics } = this.options;
    const results = await prepared.fetches;
    fetchedAll();
    const fetched = prepared.groups.map((g, i) => this.attempts.judge(g, results[i], held.get(g.key), batch.partition));
    await batch.heartbeat();

    const plan = planChunk(prepared, fetched, {
      topic: batch.topic,
      partition: batch.partition,
      ports,
      metrics,
      log: logger.child({ topic: batch.topic, partition: batch.partition }),
      state: (key) => held.get(key),
      held,
      now: this.now(),
      refusals: this.options.trust.refusals,
      serves: this.options.trust.serves,
    });
    if (plan.lastProcessed !== null) {
      const commit = { topic: batch.topic, partition: batch.partition, outputs: plan.outputs, states: plan.states, nextOffset: plan.lastProcessed + 1n };
      await this.committer.commit(commit).catch((error: unknown) => {
        // Fenced (another member owns the partition now) or failed: what this process holds of the
        // partition may no longer be what the topic says. It is restored before its next batch.
        void this.states.drop(batch.partition);
        throw error;
      });
      this.states.apply(batch.partition, plan.states);
      for (const count of plan.afterCommit) count();
      batch.resolve(plan.lastProcessed.toString());
    }

    metrics.batches.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (plan.cutoff !== null) {
      this.backoff.pause(batch, plan.cutoff.toString(), plan.retryAfterMs);
      return true;
    }
    this.backoff.succeeded(batch.partition);
    return false;
  }
}
