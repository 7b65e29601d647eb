import type { Consumer, EachBatchPayload } from '../kafka/index.js';
import type { PipelineMetrics } from './metrics.js';

/**
 * Pauses one partition at an offset and resumes it after an exponential backoff (at least the
 * source's Retry-After), so one unavailable ticket source never blocks other partitions and
 * nothing after the offset is skipped.
 */
export class PartitionBackoff {
  private readonly failures = new Map<number, number>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly stage: string,
    private readonly settings: { initialMs: number; maxMs: number },
    private readonly metrics: PipelineMetrics,
  ) {}

  /** The delay the next pause of this partition would use. */
  delayFor(partition: number, retryAfterMs: number | undefined): number {
    const failures = (this.failures.get(partition) ?? 0) + 1;
    const backoff = Math.min(this.settings.maxMs, this.settings.initialMs * 2 ** (failures - 1));
    return Math.max(backoff, retryAfterMs ?? 0);
  }

  pause(consumer: Consumer, payload: EachBatchPayload, offset: string, retryAfterMs: number | undefined): void {
    const { topic, partition } = payload.batch;
    const delay = this.delayFor(partition, retryAfterMs);
    this.failures.set(partition, (this.failures.get(partition) ?? 0) + 1);
    const resume = payload.pause();
    consumer.seek({ topic, partition, offset });
    this.metrics.pausedPartitions.inc({ stage: this.stage });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.metrics.pausedPartitions.dec({ stage: this.stage });
      resume();
    }, delay);
    this.timers.add(timer);
  }

  /** The partition made progress: the next failure starts from the initial delay again. */
  succeeded(partition: number): void {
    this.failures.delete(partition);
  }

  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/**
 * Consumer timing for the pipeline's groups: a member that died (SIGKILL, lost broker) is dropped
 * after 10 s instead of kafkajs' 30 s, so its partitions move on sooner; an idle fetch returns
 * within 500 ms, so a stop does not wait 5 s per consumer.
 */
export const PIPELINE_CONSUMER_TIMING = { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, maxWaitTimeInMs: 500 } as const;
