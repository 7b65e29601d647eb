import { TopicTail, type Kafka } from '../kafka/index.js';
import { DecisionRequestRecord } from '../model/index.js';

/** What reading the decided requests found: the records decided since the cutoff, and how many were set aside. */
export interface DecidedRequests {
  readonly records: DecisionRequestRecord[];
  /** Messages read in all. */
  readonly read: number;
  /** Records decided before the cutoff. */
  readonly older: number;
  /** Messages that are not a decided request this build can read (named by partition and offset). */
  readonly unreadable: { partition: number; offset: string; problem: string }[];
}

/**
 * Reads `grantline.decision-requests.v1` to its end (committed messages only, a consumer group of
 * its own, nothing committed) and keeps the records decided at or after `since`. `progress` is
 * told the running count of messages read, for a terminal.
 */
export async function readDecidedRequests(kafka: Kafka, topic: string, since: Date | null, progress: (read: number) => void = () => {}): Promise<DecidedRequests> {
  const records: DecisionRequestRecord[] = [];
  const unreadable: DecidedRequests['unreadable'] = [];
  let read = 0;
  let older = 0;
  const tail = new TopicTail(
    kafka,
    topic,
    (message, partition) => {
      read += 1;
      progress(read);
      let value: unknown;
      try {
        value = JSON.parse(message.value?.toString('utf8') ?? 'null');
      } catch {
        unreadable.push({ partition, offset: message.offset, problem: 'not JSON' });
        return;
      }
      const parsed = DecisionRequestRecord.safeParse(value);
      if (!parsed.success) {
        unreadable.push({ partition, offset: message.offset, problem: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') });
        return;
      }
      if (since !== null && Date.parse(parsed.data.decidedAt) < since.getTime()) {
        older += 1;
        return;
      }
      records.push(parsed.data);
    },
  );
  await tail.start();
  try {
    await tail.catchUp();
  } finally {
    await tail.stop();
  }
  return { records, read, older, unreadable };
}
