import type { Logger } from 'pino';
import type { GrantlineProducer, InboundMessage } from '../kafka/index.js';
import type { TrustAlert } from '../model/index.js';
import type { Opened } from '../trust/index.js';
import { encodeAlert } from './alerts.js';
import type { Output } from './cloudevents.js';
import { encodeDeadLetter, originalOf, type DeadLetterRole } from './dead-letter.js';
import type { PipelineMetrics } from './metrics.js';

/** A message a reader refused: why, in a stable code and in words (never a secret). */
export type Refused = Extract<Opened, { ok: false }>;

export interface RefusalDeps {
  readonly topics: { readonly dlq: string; readonly alerts: string };
  readonly metrics: Pick<PipelineMetrics, 'messagesRefused' | 'dlq'>;
  readonly logger: Logger;
  /** `service@instance`, named in the alert. */
  readonly raisedBy: string;
  readonly now?: () => Date;
}

/**
 * The one way a refused message is handled, whichever reader refused it: the original to the DLQ
 * (stage `<reader>.trust`) with the reason, a `message.refused` alert, the metric
 * `grantline_messages_refused_total{topic,reason}`, a warning in the log. Nothing else happens
 * with it: the reader moves on as if it had not been there.
 */
export class Refusals {
  constructor(private readonly deps: RefusalDeps) {}

  /** The DLQ record and the alert of a refusal, for a reader that publishes them in its own transaction. */
  outputs(role: DeadLetterRole, topic: string, partition: number, message: InboundMessage, refused: Refused, now: Date = this.now()): Output[] {
    const stage = `${role}.trust`;
    const original = originalOf(topic, partition, message);
    const text = `refused a message on ${topic} (partition ${partition}, offset ${message.offset}): ${refused.reason}: ${refused.detail}`;
    const alert: TrustAlert = {
      alertId: `message.refused:${topic}:${partition}:${message.offset}`,
      kind: 'message.refused',
      stage,
      reason: refused.reason,
      topic,
      partition,
      offset: message.offset,
      key: original.key,
      raisedBy: this.deps.raisedBy,
      message: text,
      raisedAt: now.toISOString(),
    };
    return [
      { topic: this.deps.topics.dlq, message: encodeDeadLetter(role, stage, `${refused.reason}: ${refused.detail}`, original, now) },
      { topic: this.deps.topics.alerts, message: encodeAlert(alert) },
    ];
  }

  /** Counts and logs a refusal whose outputs were published (after the transaction that held them). */
  counted(role: DeadLetterRole, topic: string, partition: number, message: InboundMessage, refused: Refused): void {
    this.deps.metrics.messagesRefused.inc({ topic, reason: refused.reason });
    this.deps.metrics.dlq.inc({ stage: `${role}.trust` });
    this.deps.logger.warn({ topic, partition, offset: message.offset, reason: refused.reason, detail: refused.detail }, 'message refused: not acted on; sent to the DLQ and alerted');
  }

  /**
   * Publishes a refusal with the given producer. Never throws: a refusal that cannot be reported is
   * logged at error level, and the message is still not acted on.
   */
  async report(producer: Pick<GrantlineProducer, 'send'>, role: DeadLetterRole, topic: string, partition: number, message: InboundMessage, refused: Refused): Promise<void> {
    const outputs = this.outputs(role, topic, partition, message, refused);
    try {
      for (const o of outputs) await producer.send(o.topic, [o.message]);
      this.counted(role, topic, partition, message, refused);
    } catch (error) {
      this.deps.metrics.messagesRefused.inc({ topic, reason: refused.reason });
      this.deps.logger.error({ topic, partition, offset: message.offset, reason: refused.reason, error: error instanceof Error ? error.message : String(error) }, 'message refused, but the DLQ record and alert could not be written');
    }
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

/** What a reader needs to read authentic messages from one topic: `open` verifies, a refusal is reported. */
export interface Gate {
  /**
   * The message's parsed value when it is authentic. When it is not, the refusal is reported
   * (DLQ, alert, metric) and `reported` settles once it is; the caller must not act on it.
   */
  open(partition: number, message: InboundMessage): Opened & { reported?: Promise<void> };
  /** Reports a message that opened but that the reader refuses on what it says (a write-back task outside the connector's scope). */
  refuse(partition: number, message: InboundMessage, refused: Refused): Promise<void>;
}

/** A gate over one topic: verify with `open`, report refusals with `refusals` through `producer`. */
export function gate(
  topic: string,
  role: DeadLetterRole,
  open: (topic: string, message: InboundMessage) => Opened,
  refusals: Refusals,
  producer: () => Pick<GrantlineProducer, 'send'>,
): Gate {
  return {
    open: (partition, message) => {
      const opened = open(topic, message);
      if (opened.ok) return opened;
      return { ...opened, reported: refusals.report(producer(), role, topic, partition, message, opened) };
    },
    refuse: (partition, message, refused) => refusals.report(producer(), role, topic, partition, message, refused),
  };
}

/** The lifecycle's check of the signed inputs it reads (identity events, fulfillment results). */
export interface InputGate {
  /** As `Gate.open`, for either input topic; a fulfillment result also says which channel its signer serves. */
  open(topic: string, partition: number, message: InboundMessage): Opened & { channel?: string; reported?: Promise<void> };
  /** Whether an adapter registered for `channel` may report on a grant published on `grantTopic`. */
  serves(channel: string | undefined, grantTopic: string): boolean;
  /** Reports a message refused after opening (an adapter reporting on another channel's grant). */
  refuse(topic: string, partition: number, message: InboundMessage, refused: Refused): Promise<void>;
}
