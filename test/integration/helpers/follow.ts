/** Follows a topic from its beginning for a test, keeping every message parsed. */
import type { Kafka, InboundMessage } from '../../../src/kafka/index.js';
import { TopicTail } from '../../../src/pipeline/state-view.js';

export interface Followed {
  readonly key: string | null;
  readonly type: string;
  readonly value: Record<string, unknown>;
  readonly raw: InboundMessage;
}

export interface Follower {
  readonly messages: Followed[];
  /** Resolves with the messages that match once there are `count` of them, or what there is after `timeoutMs`. */
  wait(match: (m: Followed) => boolean, count?: number, timeoutMs?: number): Promise<Followed[]>;
  stop(): Promise<void>;
}

export async function follow(kafka: Kafka, topic: string): Promise<Follower> {
  const messages: Followed[] = [];
  const tail = new TopicTail(kafka, topic, (raw: InboundMessage) => {
    let value: Record<string, unknown> = {};
    try {
      value = JSON.parse(raw.value?.toString('utf8') ?? 'null') as Record<string, unknown>;
    } catch {
      value = {};
    }
    messages.push({ key: raw.key?.toString('utf8') ?? null, type: raw.headers?.ce_type?.toString() ?? '', value, raw });
  });
  await tail.start();
  return {
    messages,
    wait: async (match, count = 1, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.filter(match);
        if (found.length >= count || Date.now() > deadline) return found;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop: () => tail.stop(),
  };
}
