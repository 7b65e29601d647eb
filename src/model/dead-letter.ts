import { z } from 'zod';
import { IsoDateTime } from './common.js';

/** Where a dead letter came from, and its bytes as they were (UTF-8), so nothing is lost. */
export const DeadLetterOriginal = z.object({
  topic: z.string().min(1),
  partition: z.number().int().nonnegative(),
  offset: z.string().regex(/^\d+$/, 'expected a Kafka offset'),
  /** The original message's key; null when it had none. */
  key: z.string().nullable(),
  /** The original message's value; null when it had none (a tombstone). */
  value: z.string().nullable(),
});
export type DeadLetterOriginal = z.infer<typeof DeadLetterOriginal>;

/**
 * The one envelope of `grantline.dlq.v1` (CloudEvent type `dev.grantline.dlq.v1`), whichever stage
 * gave up on a message: the processor, the write-back worker or the lifecycle role.
 */
export const DeadLetter = z.object({
  /** `<role>.<step>`, e.g. `processor.parse`, `writeback.perform`, `lifecycle.fulfillment`. */
  stage: z.string().regex(/^[a-z]+\.[a-z]+$/, 'expected <role>.<step>'),
  /** Why the message could not be processed; names no secret. */
  reason: z.string().min(1),
  at: IsoDateTime,
  original: DeadLetterOriginal,
});
export type DeadLetter = z.infer<typeof DeadLetter>;
