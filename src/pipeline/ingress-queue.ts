import { resendable, type GrantlineProducer } from '../kafka/index.js';
import type { encodeCloudEvent } from './cloudevents.js';

type Message = ReturnType<typeof encodeCloudEvent>;

/** Bounds of what waits for Kafka (`pipeline.ingressQueue`). */
export interface IngressQueueLimits {
  /** Messages waiting at most. */
  readonly maxCount: number;
  /** Bytes (keys and values) waiting at most. */
  readonly maxBytes: number;
}

/** The queue is full: the caller answers 503 at once; nothing was queued. */
export class IngressQueueFullError extends Error {
  constructor(limits: IngressQueueLimits) {
    super(`the ingress queue is full (${limits.maxCount} messages or ${limits.maxBytes} bytes waiting for Kafka)`);
    this.name = 'IngressQueueFullError';
  }
}

/** The write was still queued at its deadline and was dropped: it will never be sent. */
export class IngressQueueTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Kafka did not take the delivery within ${timeoutMs} ms; it was dropped from the queue and will not be written`);
    this.name = 'IngressQueueTimeoutError';
  }
}

/** The queue was closed (the process stops): `sent` says whether the write had been handed to Kafka. */
export class IngressQueueClosedError extends Error {
  constructor(readonly sent: boolean) {
    super(sent ? 'the ingress queue was closed while Kafka had not confirmed the write' : 'the ingress queue was closed before the write was sent; it will not be written');
    this.name = 'IngressQueueClosedError';
  }
}

/** True when the error says the write never reached Kafka (queue full, dropped at its deadline, closed before it was sent). */
export function neverSent(error: unknown): boolean {
  return error instanceof IngressQueueFullError || error instanceof IngressQueueTimeoutError || (error instanceof IngressQueueClosedError && !error.sent);
}

interface PendingWrite {
  readonly messages: readonly Message[];
  readonly bytes: number;
  timer: NodeJS.Timeout | undefined;
  resolve(): void;
  reject(error: unknown): void;
}

/** Bytes of ticket events written together at most; a single larger write still goes alone. */
const COALESCE_MAX_BYTES = 512 * 1024;

/**
 * What ingress hands to Kafka, in arrival order (so per-ticket order holds). Writes that arrive
 * while a send is in flight go out together in the next one (group commit): the idempotent producer
 * has one request in flight, so one send per webhook would cap ingress at one broker round trip per
 * delivery.
 *
 * While Kafka is down nothing drains, so the queue is bounded in messages and bytes: past either,
 * `enqueue` refuses at once. A write still queued when its deadline passes is taken out and never
 * sent, so a delivery answered 503 cannot reach the topic later.
 *
 * A write handed to Kafka is never given up while the queue is open: when its send fails (the
 * broker went away, or did not answer in time, and may have appended it), the same batch is sent
 * again, and nothing else is sent before it, until Kafka takes it. kafkajs takes back a failed
 * batch's sequence numbers, so the re-send carries the same ones: the broker appends it if the first
 * attempt did not land and drops it as a duplicate if it did. Exactly once, and the outcome is
 * known: resolved means stored (acks=all). Sending any other batch first would be wrong twice over:
 * it would reuse those sequence numbers, so if the failed batch had landed, a next batch of the same
 * size would be dropped by the broker as its duplicate and still reported as written (a 202 for
 * nothing stored), and the failed batch itself could land after its delivery was answered 503.
 * Only a failure the broker says retrying cannot fix (`resendable`) rejects the writes of a send.
 * After a failed send, writes go one at a time until Kafka takes one, so an outage holds at most
 * one delivery past its deadline.
 */
export class IngressQueue {
  private readonly waiting: PendingWrite[] = [];
  private count = 0;
  private bytes = 0;
  private writing = false;
  /** False after a failed send, until one succeeds: then one write at a time probes Kafka. */
  private healthy = true;
  private closed = false;
  /** Wakes the pause between two attempts of a failed batch when the queue is closed. */
  private wake: (() => void) | undefined;

  /** `resendPauseMs`: pause between two sends of a failed batch (kafkajs' own retries come first). */
  constructor(
    private readonly producer: Pick<GrantlineProducer, 'send'>,
    private readonly topic: string,
    private readonly limits: IngressQueueLimits,
    private readonly resendPauseMs = 1_000,
  ) {}

  /** Messages and bytes waiting now (not counting the send in flight). */
  get depth(): { messages: number; bytes: number } {
    return { messages: this.count, bytes: this.bytes };
  }

  /**
   * Resolves once Kafka has the messages (acks=all). Rejects `IngressQueueFullError` at once when
   * they do not fit (an empty queue takes any one write), and, with `timeoutMs`, rejects when they
   * are still queued then (they are dropped, never sent).
   */
  enqueue(messages: readonly Message[], timeoutMs?: number): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    if (this.closed) return Promise.reject(new IngressQueueClosedError(false));
    const bytes = messages.reduce((sum, m) => sum + Buffer.byteLength(m.key) + Buffer.byteLength(m.value), 0);
    if (this.waiting.length > 0 && (this.count + messages.length > this.limits.maxCount || this.bytes + bytes > this.limits.maxBytes)) {
      return Promise.reject(new IngressQueueFullError(this.limits));
    }
    return new Promise<void>((resolve, reject) => {
      const write: PendingWrite = { messages, bytes, timer: undefined, resolve, reject };
      if (timeoutMs !== undefined) {
        write.timer = setTimeout(() => {
          const at = this.waiting.indexOf(write);
          // Already handed to Kafka: that send's outcome answers.
          if (at < 0) return;
          this.waiting.splice(at, 1);
          this.count -= write.messages.length;
          this.bytes -= write.bytes;
          reject(new IngressQueueTimeoutError(timeoutMs));
        }, timeoutMs);
      }
      this.waiting.push(write);
      this.count += messages.length;
      this.bytes += bytes;
      if (!this.writing) void this.drain();
    });
  }

  /** Sends what waits until nothing does. */
  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) {
        let take = 0;
        let bytes = 0;
        // A Kafka record batch must stay under the broker's message.max.bytes (1 MB by default).
        // While Kafka is failing, one write at a time: a write handed to Kafka cannot be taken
        // back and waits for that send's outcome, however long kafkajs retries; the others stay
        // queued, where their deadline can still drop them and answer 503.
        const maxBytes = this.healthy ? COALESCE_MAX_BYTES : 0;
        while (take < this.waiting.length && (take === 0 || bytes + (this.waiting[take] as PendingWrite).bytes <= maxBytes)) {
          bytes += (this.waiting[take] as PendingWrite).bytes;
          take += 1;
        }
        const writes = this.waiting.splice(0, take);
        for (const w of writes) {
          clearTimeout(w.timer);
          this.count -= w.messages.length;
          this.bytes -= w.bytes;
        }
        const failure = await this.sendUntilTaken(writes.flatMap((w) => w.messages));
        // All or nothing for the writes of one batch.
        for (const w of writes) {
          if (failure === undefined) w.resolve();
          else w.reject(failure);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** Sends one batch, and the same batch again after each failure, until Kafka takes it (undefined) or the failure is final. */
  private async sendUntilTaken(messages: Message[]): Promise<unknown> {
    for (;;) {
      try {
        await this.producer.send(this.topic, messages);
        this.healthy = true;
        return undefined;
      } catch (error) {
        this.healthy = false;
        if (!resendable(error)) return error;
        if (this.closed) return new IngressQueueClosedError(true);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.resendPauseMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        if (this.closed) return new IngressQueueClosedError(true);
      }
    }
  }

  /**
   * Stops taking writes (the process stops): waiting ones are rejected unsent, and a batch being
   * re-sent is given up after its current attempt (its outcome is then unknown).
   */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new IngressQueueClosedError(false));
    }
    this.count = 0;
    this.bytes = 0;
    this.wake?.();
  }
}
