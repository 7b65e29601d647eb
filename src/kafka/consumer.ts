import type { Consumer, Kafka, PartitionAssigner, RetryOptions } from 'kafkajs';

export type ConsumerOptions = {
  groupId: string;
  /**
   * Read only committed transactional messages (`isolation.level=read_committed`). Default true:
   * grantline must never act on messages of an aborted transaction.
   */
  readCommitted?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  maxBytesPerPartition?: number;
  maxWaitTimeInMs?: number;
  retry?: RetryOptions & { restartOnFailure?: (err: Error) => Promise<boolean> };
  /** Who decides which member reads which partition (default: kafkajs' round robin). */
  partitionAssigners?: PartitionAssigner[];
};

/** A kafkajs consumer for a group; never creates topics by subscribing to them. */
export function createConsumer(kafka: Kafka, opts: ConsumerOptions): Consumer {
  return kafka.consumer({
    groupId: opts.groupId,
    readUncommitted: !(opts.readCommitted ?? true),
    allowAutoTopicCreation: false,
    sessionTimeout: opts.sessionTimeoutMs,
    heartbeatInterval: opts.heartbeatIntervalMs,
    rebalanceTimeout: opts.rebalanceTimeoutMs,
    maxBytesPerPartition: opts.maxBytesPerPartition,
    maxWaitTimeInMs: opts.maxWaitTimeInMs,
    retry: opts.retry,
    ...(opts.partitionAssigners ? { partitionAssigners: opts.partitionAssigners } : {}),
  });
}
