import type { InboundMessage } from '../kafka/index.js';
import type { DeadLetter, DeadLetterOriginal } from '../model/index.js';
import { CE_TYPES, encodeCloudEvent, type EncodedMessage } from './cloudevents.js';

/** The roles that dead-letter messages; the CloudEvent source is `urn:grantline:<role>`. */
export type DeadLetterRole = 'processor' | 'writeback' | 'lifecycle' | 'state' | 'poller' | 'directory' | 'ledger' | 'cli';

/** The original of a consumed message, as the DLQ keeps it. */
export function originalOf(topic: string, partition: number, message: InboundMessage): DeadLetterOriginal {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString('utf8') ?? null,
    value: message.value?.toString('utf8') ?? null,
  };
}

/**
 * The one DLQ envelope: a CloudEvent keyed by the original key (or `topic:partition` when it had
 * none), its id the original's position, so a message dead-lettered twice (a chunk read again) is
 * recognisably the same dead letter.
 */
export function encodeDeadLetter(role: DeadLetterRole, stage: string, reason: string, original: DeadLetterOriginal, now: Date): EncodedMessage {
  const at = now.toISOString();
  const letter: DeadLetter = { stage, reason, at, original };
  return encodeCloudEvent(
    original.key ?? `${original.topic}:${original.partition}`,
    { id: `${original.topic}:${original.partition}:${original.offset}`, source: `urn:grantline:${role}`, type: CE_TYPES.dlq, time: at },
    letter,
  );
}
