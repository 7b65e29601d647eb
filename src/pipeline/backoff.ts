import type { PartitionBatch } from '../kafka/index.js';
import type { PipelineMetrics } from './metrics.js';

/**
 * Pauses one partition at an offset and resumes it after an exponential backoff (at least the
 * source's Retry-After), so one unavailable ticket source never blocks other partitions and
 * nothing after the offset is skipped.
 */
export class PartitionBackoff {
  private readonly failures = new Map<number, number>();

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

  pause(batch: PartitionBatch, offset: string, retryAfterMs: number | undefined): void {
    const delay = this.delayFor(batch.partition, retryAfterMs);
    this.failures.set(batch.partition, (this.failures.get(batch.partition) ?? 0) + 1);
    this.metrics.pausedPartitions.inc({ stage: this.stage });
    batch.pause(offset, delay, () => this.metrics.pausedPartitions.dec({ stage: this.stage }));
  }

  /** The partition made progress: the next failure starts from the initial delay again. */
  succeeded(partition: number): void {
    this.failures.delete(partition);
  }
}
