import type { Logger } from 'pino';
import { PartitionLoop, partitionCount, type GrantlineProducer, type Kafka, type Message, type PartitionBatch } from '../kafka/index.js';
import { FulfillmentResult, IdentityLifecycleEvent, PARTITION_COMMAND_KEY, type DeadLetterOriginal, type PartitionCommand } from '../model/index.js';
import { CE_TYPES, encodeCloudEvent } from './cloudevents.js';
import { encodeDeadLetter, originalOf } from './dead-letter.js';
import type { PipelineMetrics } from './metrics.js';
import type { InputGate } from './refusals.js';

/** The lifecycle's pure rules live in `lifecycle/plan.ts`; re-exported for their callers. */
export { grantsEndedBy, planLifecycle, nextDueAt } from './lifecycle/plan.js';
export type { LifecycleCommand, LifecyclePlan, LifecycleSettings, OwnerDirectory } from './lifecycle/plan.js';

export interface LifecycleOptions {
  readonly kafka: Kafka;
  readonly producer: GrantlineProducer;
  readonly topics: { ticketEvents: string; lifecycle: string; fulfillmentResults: string; dlq: string };
  readonly groupId: string;
  readonly logger: Logger;
  readonly metrics: PipelineMetrics;
  readonly now?: () => Date;
  /** Called when the consumer crashed and kafkajs will not restart it: the role is no longer working. */
  readonly onFatal?: (err: unknown) => void;
  /** Verifies identity events and fulfillment results (signatures, src/trust) before anything is done. */
  readonly trust: InputGate;
}

/** How often the partition count of the ticket-events topic is read again (partitions can be added). */
const PARTITIONS_REFRESH_MS = 60_000;

/**
 * The lifecycle role: brings what happens outside a ticket to the owners of the tickets. An
 * offboarding (`identity.lifecycle.v1`) or an adapter's report (`access.fulfillment.results.v1`)
 * does not say which tickets it concerns, and no process holds every ticket: each is written as a
 * partition command to every partition of the ticket-events topic, where the partition's owner
 * (the processor holding that partition's state) acts on its own tickets. Expiry, overdue
 * revocations and reviews are scheduled by the owners themselves (`lifecycle/owner.ts`).
 */
export class Lifecycle {
  private loop: PartitionLoop | null = null;
  private partitions: { count: number; at: number } | null = null;
  private readonly now: () => Date;

  constructor(private readonly options: LifecycleOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async start(): Promise<void> {
    const { kafka, groupId, topics } = this.options;
    await this.partitionCount();
    this.loop = new PartitionLoop(kafka, {
      groupId,
      topics: [topics.lifecycle, topics.fulfillmentResults],
      offsets: 'resolved',
      ...(this.options.onFatal ? { onFatal: this.options.onFatal } : {}),
      handle: (batch) => this.handleBatch(batch),
    });
    await this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
    this.loop = null;
  }

  private async partitionCount(): Promise<number> {
    const t = Date.now();
    if (this.partitions === null || t - this.partitions.at >= PARTITIONS_REFRESH_MS) {
      this.partitions = { count: await partitionCount(this.options.kafka, this.options.topics.ticketEvents), at: t };
    }
    return this.partitions.count;
  }

  /** Writes the command to every partition of the ticket-events topic. */
  private async fanOut(command: PartitionCommand, now: Date): Promise<void> {
    const count = await this.partitionCount();
    const base = encodeCloudEvent(PARTITION_COMMAND_KEY, { id: command.commandId, source: 'urn:grantline:lifecycle', type: CE_TYPES.ticketEvent, time: now.toISOString() }, command);
    const messages: Message[] = Array.from({ length: count }, (_, partition) => ({ ...base, partition }));
    await this.options.producer.send(this.options.topics.ticketEvents, messages);
  }

  private async handleBatch(batch: PartitionBatch): Promise<void> {
    const { topics, metrics } = this.options;
    for (const message of batch.messages) {
      if (!batch.active()) return;
      const now = this.now();
      const opened = this.options.trust.open(batch.topic, batch.partition, message);
      const json = opened.ok ? opened.value : undefined;
      const original = originalOf(batch.topic, batch.partition, message);
      // The same id in every partition's copy and on every re-read: owners decide each once.
      const commandId = `${batch.topic === topics.lifecycle ? 'offboarded' : 'fulfillment'}:${batch.partition}:${message.offset}`;
      if (!opened.ok) {
        await opened.reported;
      } else if (batch.topic === topics.lifecycle) {
        const event = IdentityLifecycleEvent.safeParse(json);
        if (!event.success) await this.toDlq('lifecycle.identity', 'not an identity lifecycle event', original, now);
        else {
          await this.fanOut({ kind: 'principal-offboarded', commandId, event: event.data }, now);
          metrics.lifecycle.inc({ kind: 'fanout:principal-offboarded' });
        }
      } else {
        const result = FulfillmentResult.safeParse(json);
        if (!result.success) await this.toDlq('lifecycle.fulfillment', 'not a fulfillment result', original, now);
        else {
          // Only the grant's owner knows its channel: it checks the signer's against it.
          const origin = { topic: batch.topic, partition: batch.partition, offset: message.offset, key: message.key?.toString('utf8') ?? null };
          await this.fanOut({ kind: 'fulfillment-reported', commandId, result: result.data, signerChannel: opened.channel ?? null, origin }, now);
          metrics.lifecycle.inc({ kind: 'fanout:fulfillment-reported' });
        }
      }
      batch.resolve(message.offset);
      await batch.heartbeat();
    }
    await batch.commitResolved();
  }

  private async toDlq(stage: string, reason: string, original: DeadLetterOriginal, now: Date): Promise<void> {
    this.options.metrics.dlq.inc({ stage });
    await this.options.producer.send(this.options.topics.dlq, [encodeDeadLetter('lifecycle', stage, reason, original, now)]);
  }
}
