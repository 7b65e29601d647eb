/**
 * Which write-back tasks may already have been performed: those the worker tried before in this
 * process (a retry), and those a partition's previous owner may have read (a redelivery after a
 * crash or a rebalance). A task that is neither is on its first attempt ever, so a note the
 * processor saw absent (`noteAbsent`) cannot be on the ticket yet, and the connector need not read
 * the ticket for its marker first (issue 16: at most 3 source requests per granted ticket).
 *
 * A previous owner of a partition read only what the partition held before this member was
 * assigned it, so offsets below the high watermark of the first batch this member fetched after
 * the assignment may have been performed; everything after that was written later and is new.
 */
export class FirstAttempts {
  /** Per partition of the current assignment: offsets below this may have been read by another member. */
  private readonly newFrom = new Map<number, bigint>();
  /** Tasks started in this process and not finished: their next attempt may find their note written. */
  private readonly started = new Set<string>();

  /** The group assigned partitions anew: whatever this member held before may have moved and back. */
  assigned(): void {
    this.newFrom.clear();
  }

  /** A batch of `partition` arrived, fetched when the partition's high watermark was `highWatermark`. */
  batch(partition: number, highWatermark: string): void {
    if (!this.newFrom.has(partition)) this.newFrom.set(partition, BigInt(highWatermark));
  }

  /**
   * Starts an attempt of the task at `offset`: true when it is the task's first attempt anywhere
   * (no earlier attempt in this process, and the offset was written after this member's assignment).
   */
  begin(partition: number, offset: string, taskId: string): boolean {
    const from = this.newFrom.get(partition);
    const first = !this.started.has(taskId) && from !== undefined && BigInt(offset) >= from;
    this.started.add(taskId);
    return first;
  }

  /** The task is done (written, or dead-lettered): it is not attempted again here. */
  finished(taskId: string): void {
    this.started.delete(taskId);
  }
}
