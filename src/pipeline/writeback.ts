import type { Logger } from 'pino';
import type { Connector, WriteBackResult } from '../connector/contract.js';
import { describeError, GrantlineError, SourceUnavailableError } from '../connector/errors.js';
import { recordCommand, ticketKey, WritebackTask, type DeadLetterOriginal, type RecordCommand, type RecordData, type RecordKind } from '../model/index.js';
import { renderPendingNote } from '../policy/pending.js';
import { PartitionLoop, type GrantlineProducer, type Kafka, type PartitionBatch } from '../kafka/index.js';
import { CE_TYPES, encodeCloudEvent } from './cloudevents.js';
import { encodeDeadLetter, originalOf } from './dead-letter.js';
import type { PipelineMetrics } from './metrics.js';
import { PartitionBackoff } from './backoff.js';
import { reviewOverdueNotes } from '../policy/review.js';
import type { Gate } from './refusals.js';
import { writebackOutOfScope } from './writeback-scope.js';
import { FirstAttempts } from './writeback-first.js';

export interface WritebackOptions {
  readonly kafka: Kafka;
  readonly connectors: ReadonlyMap<string, Connector>;
  /** Idempotent (non-transactional) producer for commands and the DLQ. */
  readonly producer: GrantlineProducer;
  readonly topics: { writeback: string; ticketEvents: string; dlq: string };
  readonly groupId: string;
  readonly logger: Logger;
  readonly metrics: PipelineMetrics;
  readonly maxAttempts: number;
  readonly backoff: { initialMs: number; maxMs: number };
  readonly now?: () => Date;
  /** Called when the consumer crashed and kafkajs will not restart it: the role is no longer working. */
  readonly onFatal?: (err: unknown) => void;
  /** Authenticates each task (its MAC, src/trust); a refused one is reported and never performed. */
  readonly gate: Gate;
}

/**
 * Writes decisions, revocations and fulfillment outcomes back on tickets, and opens break-glass
 * review tickets. Tasks come from the processor's transactions, so a crash never loses one; the
 * connector's idempotency key makes a repeated task write nothing. What was written is reported to
 * the ticket's processor as a custody record.
 */
export class WritebackWorker {
  private loop: PartitionLoop | null = null;
  private readonly attempts = new Map<string, number>();
  private readonly first = new FirstAttempts();
  private readonly backoff: PartitionBackoff;
  private readonly now: () => Date;

  constructor(private readonly options: WritebackOptions) {
    this.now = options.now ?? (() => new Date());
    this.backoff = new PartitionBackoff('writeback', options.backoff, options.metrics);
  }

  async start(): Promise<void> {
    this.loop = new PartitionLoop(this.options.kafka, {
      groupId: this.options.groupId,
      topics: [this.options.topics.writeback],
      offsets: 'resolved',
      onAssignment: () => this.first.assigned(),
      ...(this.options.onFatal ? { onFatal: this.options.onFatal } : {}),
      handle: (batch) => this.handleBatch(batch),
    });
    await this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
    this.loop = null;
  }

  private async handleBatch(batch: PartitionBatch): Promise<void> {
    // A batch fetched before a rebalance (inactive now) must not stand for the new assignment.
    if (batch.active()) this.first.batch(batch.partition, batch.highWatermark);
    for (const message of batch.messages) {
      if (!batch.active()) return;
      const opened = this.options.gate.open(batch.partition, message);
      if (!opened.ok) {
        await opened.reported;
        batch.resolve(message.offset);
        continue;
      }
      const parsed = WritebackTask.safeParse(opened.value);
      if (!parsed.success) {
        const reason = `not a write-back task: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
        await this.toDlq('writeback.parse', reason, originalOf(batch.topic, batch.partition, message));
        batch.resolve(message.offset);
        continue;
      }
      const outOfScope = writebackOutOfScope(this.options.connectors, parsed.data);
      if (outOfScope !== null) {
        await this.options.gate.refuse(batch.partition, message, { ok: false, reason: 'out-of-scope', detail: outOfScope });
        batch.resolve(message.offset);
        continue;
      }
      const firstAttempt = this.first.begin(batch.partition, message.offset, parsed.data.taskId);
      const outcome = await this.perform(parsed.data, firstAttempt);
      if (outcome.kind !== 'retry') this.first.finished(parsed.data.taskId);
      if (outcome.kind === 'retry') {
        this.backoff.pause(batch, message.offset, outcome.retryAfterMs);
        await batch.commitResolved();
        return;
      }
      if (outcome.kind === 'dead') {
        await this.toDlq('writeback.perform', outcome.reason, originalOf(batch.topic, batch.partition, message));
      }
      batch.resolve(message.offset);
      this.backoff.succeeded(batch.partition);
      await batch.heartbeat();
    }
    await batch.commitResolved();
  }

  /** `firstAttempt`: no attempt of this task can have been made before (`FirstAttempts`). */
  private async perform(task: WritebackTask, firstAttempt: boolean): Promise<{ kind: 'done' } | { kind: 'retry'; retryAfterMs: number | undefined } | { kind: 'dead'; reason: string }> {
    const { connectors, metrics, logger } = this.options;
    const log = logger.child({ connector: task.connectorId, ticket: task.ticketId, task: task.taskId });
    const connector = connectors.get(task.connectorId);
    if (!connector) return { kind: 'dead', reason: `connector ${task.connectorId} is not configured` };
    const ticket = { ticketId: task.ticketId, ticketKey: task.ticketKey };
    try {
      const commands: RecordCommand[] = [];
      const at = this.now().toISOString();
      if (task.item.kind === 'open-review') {
        const grant = task.item.decision;
        const review = await connector.openReview(ticket, grant);
        const note = await connector.writeBack(
          ticket,
          { kind: 'review-opened', grantId: grant.grantId, reviewTicketKey: review.ticketKey, reviewUrl: review.url },
          `review-note:${grant.grantId}`,
        );
        commands.push(this.command(task, 'review.opened', at, { ticketId: review.ticketId, ticketKey: review.ticketKey, url: review.url, noteRecordId: note.recordId }));
      } else if (task.item.kind === 'review-overdue') {
        // The escalation goes where people look: the original ticket and the review ticket.
        const notes = reviewOverdueNotes(task.item);
        const result = await connector.writeBack(ticket, { kind: 'note', text: notes.original }, task.idempotencyKey);
        if (task.item.review !== null && notes.review !== null) await connector.noteReview(task.item.review, notes.review, task.idempotencyKey);
        metrics.writebacks.inc({ connector: task.connectorId, result: result.written ? 'written' : 'already_present' });
        commands.push(this.command(task, 'ticket.written-back', at, writtenBack(task, result)));
      } else {
        const item = task.item.kind === 'pending' ? { kind: 'note' as const, text: renderPendingNote(task.item.pending) } : task.item;
        // A note the processor saw absent, on this task's first attempt, cannot be there: no read for it.
        const knownAbsent = task.noteAbsent === true && firstAttempt;
        const result = await connector.writeBack(ticket, item, task.idempotencyKey, knownAbsent ? { knownAbsent } : undefined);
        metrics.writebacks.inc({ connector: task.connectorId, result: result.written ? 'written' : 'already_present' });
        commands.push(this.command(task, 'ticket.written-back', at, writtenBack(task, result)));
      }
      await this.options.producer.send(
        this.options.topics.ticketEvents,
        commands.map((c) =>
          encodeCloudEvent(ticketKey(c.connectorId, c.ticketId), { id: c.commandId, source: 'urn:grantline:writeback', type: CE_TYPES.ticketEvent, time: at }, c),
        ),
      );
      return { kind: 'done' };
    } catch (error) {
      metrics.writebacks.inc({ connector: task.connectorId, result: 'failed' });
      if (error instanceof GrantlineError && error.retriable) {
        log.warn({ error: describeError(error) }, 'write-back failed; will retry');
        return { kind: 'retry', retryAfterMs: error instanceof SourceUnavailableError ? error.retryAfterMs : undefined };
      }
      const attempts = (this.attempts.get(task.taskId) ?? 0) + 1;
      this.attempts.set(task.taskId, attempts);
      log.error({ error: describeError(error), attempts }, 'write-back failed');
      if (attempts >= this.options.maxAttempts) {
        this.attempts.delete(task.taskId);
        return { kind: 'dead', reason: describeError(error) };
      }
      return { kind: 'retry', retryAfterMs: undefined };
    }
  }

  private command<K extends RecordKind>(task: WritebackTask, custodyKind: K, at: string, data: RecordData<K>): RecordCommand {
    return recordCommand(
      { commandId: `${custodyKind}:${task.taskId}`, connectorId: task.connectorId, ticketId: task.ticketId, grantId: task.grantId, requestId: task.requestId, actor: 'grantline/writeback', at },
      custodyKind,
      data,
    );
  }

  private async toDlq(stage: string, reason: string, original: DeadLetterOriginal): Promise<void> {
    this.options.metrics.dlq.inc({ stage });
    await this.options.producer.send(this.options.topics.dlq, [encodeDeadLetter('writeback', stage, reason, original, this.now())]);
  }
}

/** The evidence of a note written (or found written): with the ticket's new `updated` time when the source said, so the poller's echo of it is not fetched. */
function writtenBack(task: WritebackTask, result: WriteBackResult): RecordData<'ticket.written-back'> {
  const { recordId, written, ticketUpdatedAt } = result;
  return { kind: task.item.kind, recordId, written, idempotencyKey: task.idempotencyKey, ...(written && ticketUpdatedAt !== undefined ? { ticketUpdatedAt } : {}) };
}
