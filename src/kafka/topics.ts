import { createRequire } from 'node:module';
import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
import type * as KafkaJs from 'kafkajs';
import { GrantlineError } from '../connector/errors.js';

// kafkajs is CommonJS and Node's ESM loader cannot see `ConfigResourceTypes` as a named export
// (vitest's transform can, so only a real `node` run shows it): load it through require.
const { ConfigResourceTypes } = createRequire(import.meta.url)('kafkajs') as typeof KafkaJs;

// Kafka's own rule for topic names (Topic.java: legal characters, at most 249 of them).
const TOPIC_CHARS = /^[A-Za-z0-9._-]*$/;
const MAX_TOPIC_LENGTH = 249;

/** Every topic grantline reads or writes, with the configured prefix already applied. */
export type TopicNames = {
  /** Raw verified deliveries, keyed by ticket. */
  ticketEvents: string;
  /** Grants and their revocations for one fulfillment channel (`pam`, `secrets`, ...). */
  grants: (channel: string) => string;
  rejected: string;
  /** Append-only custody evidence: never compacted, never expired. */
  custody: string;
  fulfillmentResults: string;
  lifecycle: string;
  dlq: string;
  /** Compacted per-ticket decision state: the processor's, restored after restarts and rebalances. */
  ticketState: string;
  /** Pending write-backs to source tickets (pipeline processor). */
  writeback: string;
  /** Compacted reconciliation-poller watermarks, one per connector. */
  pollerState: string;
  /** Lifecycle alerts: overdue revocations, failed revocations, overdue break-glass reviews. */
  alerts: string;
  /** Compacted SCIM directory: what the identity provider said of each person (by principal) and group (by SCIM id). */
  directory: string;
  /** Compacted active break-glass grants by grant id, read whole by every processor (the per-person limit). */
  breakGlass: string;
  /** The canonical request of every decision, for `grantline whatif`; kept `kafka.decisionRequestRetentionMs`. */
  decisionRequests: string;
  /**
   * Where each ticket's custody events and signed messages are (partition and offset), which ticket
   * issued each grant, and which ticket a name (key or id) is: `grantline evidence` and `revoke` find
   * one ticket's records without reading whole topics. Kept forever, like the custody it points at.
   */
  ticketIndex: string;
};

function checkTopicName(name: string): string {
  if (name.length === 0 || name.length > MAX_TOPIC_LENGTH || !TOPIC_CHARS.test(name) || name === '.' || name === '..') {
    throw new Error(`not a valid Kafka topic name: ${JSON.stringify(name)}`);
  }
  return name;
}

/** What every grant topic's name starts with, `<prefix>access.grants.` (one ACL covers every channel). */
export function grantTopicPrefix(prefix: string): string {
  return `${prefix}access.grants.`;
}

/**
 * Topic names under a prefix. The prefix may only hold letters, digits, `.`, `_` and `-`; so may a
 * grant channel. Throws on anything else: a bad name is a config bug, not data.
 */
export function topicNames(prefix: string): TopicNames {
  if (!TOPIC_CHARS.test(prefix)) {
    throw new Error(`topic prefix may only hold letters, digits, ".", "_" and "-": ${JSON.stringify(prefix)}`);
  }
  const t = (name: string): string => checkTopicName(`${prefix}${name}`);
  return {
    ticketEvents: t('grantline.ticket-events.v1'),
    grants: (channel: string) => {
      if (!/^[A-Za-z0-9_-]+$/.test(channel)) {
        throw new Error(`grant channel may only hold letters, digits, "_" and "-": ${JSON.stringify(channel)}`);
      }
      return checkTopicName(`${grantTopicPrefix(prefix)}${channel}.v1`);
    },
    rejected: t('access.requests.rejected.v1'),
    custody: t('access.custody.v1'),
    fulfillmentResults: t('access.fulfillment.results.v1'),
    lifecycle: t('identity.lifecycle.v1'),
    dlq: t('grantline.dlq.v1'),
    ticketState: t('grantline.ticket-state.v1'),
    writeback: t('grantline.writeback.v1'),
    pollerState: t('grantline.poller-state.v1'),
    alerts: t('grantline.alerts.v1'),
    directory: t('grantline.directory.v1'),
    breakGlass: t('grantline.break-glass.v1'),
    decisionRequests: t('grantline.decision-requests.v1'),
    ticketIndex: t('grantline.ticket-index.v1'),
  };
}

/** A topic that must exist, and the properties it must have. */
export type TopicSpec = {
  topic: string;
  /** Partitions when created; the broker default (`num.partitions`) when absent. */
  partitions?: number;
  /** `cleanup.policy=compact` when true, `delete` otherwise (set explicitly, never left to the broker default). */
  compacted?: boolean;
  /** `retention.ms`; -1 keeps messages forever. Broker default when absent. */
  retentionMs?: number;
  /**
   * Further topic settings grantline creates the topic with. Unlike the cleanup policy and the
   * retention they are tuning, not correctness: an existing topic that differs is reported
   * (`EnsureTopicsResult.untuned`), never refused, and never altered.
   */
  tuning?: Readonly<Record<string, string>>;
};

/**
 * How a compacted topic that a process reads from its beginning at start (a partition's ticket
 * states, the directory, the break-glass ledger, the poller's cursors) is created. The log cleaner
 * never touches a partition's active segment, and at the broker defaults (1 GiB segments, rolled
 * after 7 days) the active segment is the whole topic for a week: every version and tombstone of
 * every ticket is read back on each restore, so start-up grows with all history (issue 15's 100k
 * bench). Segments of at most 16 MiB or one hour, cleaned once a tenth of the log is dirty, bound
 * what a restore reads to the live records plus about one segment and a tenth.
 */
export const RESTORED_TOPIC_TUNING: Readonly<Record<string, string>> = {
  'segment.bytes': String(16 * 1024 * 1024),
  'segment.ms': String(3600 * 1000),
  'min.cleanable.dirty.ratio': '0.1',
};

/** How long the canonical requests of decisions are kept when the config says nothing: 400 days, a yearly policy review and its slack. */
export const DEFAULT_DECISION_REQUEST_RETENTION_MS = 400 * 24 * 3600 * 1000;

/**
 * Partitions of the ticket index when the config says nothing. Kafka has no lookup by key: a lookup
 * reads the whole partition its key hashes to, so the index is spread wider than the ticket topics
 * (`bench/results/README.md`, evidence at 100k tickets).
 */
export const DEFAULT_INDEX_PARTITIONS = 64;

/**
 * The topics of a grantline deployment: `partitions` each, one grant topic per channel, the state
 * topics compacted, the custody topic kept forever and never compacted, and the decided requests
 * kept `decisionRequestRetentionMs` (-1: forever).
 */
export function grantlineTopicSpecs(
  names: TopicNames,
  channels: readonly string[],
  partitions: number,
  options: { decisionRequestRetentionMs?: number; indexPartitions?: number } = {},
): TopicSpec[] {
  return [
    { topic: names.ticketEvents, partitions },
    ...channels.map((channel) => ({ topic: names.grants(channel), partitions })),
    { topic: names.rejected, partitions },
    { topic: names.custody, partitions, compacted: false, retentionMs: -1 },
    { topic: names.fulfillmentResults, partitions },
    { topic: names.lifecycle, partitions },
    { topic: names.dlq, partitions },
    { topic: names.ticketState, partitions, compacted: true, tuning: RESTORED_TOPIC_TUNING },
    { topic: names.writeback, partitions },
    { topic: names.pollerState, partitions: 1, compacted: true, tuning: RESTORED_TOPIC_TUNING },
    { topic: names.alerts, partitions },
    // One partition: every process reads all of it, and one order for all of it keeps the view simple.
    { topic: names.directory, partitions: 1, compacted: true, tuning: RESTORED_TOPIC_TUNING },
    // One partition, compacted: break-glass grants are few, and every processor reads all of them.
    { topic: names.breakGlass, partitions: 1, compacted: true, tuning: RESTORED_TOPIC_TUNING },
    // Co-partitioned with the ticket events (keyed by ticket); deleted, never compacted: each decision's request is kept.
    { topic: names.decisionRequests, partitions, compacted: false, retentionMs: options.decisionRequestRetentionMs ?? DEFAULT_DECISION_REQUEST_RETENTION_MS },
    // Keyed by ticket (and by grant id and name), but NOT co-partitioned: written by the ticket's owner
    // in its transaction, read one key at a time, so spread over more partitions, each a small read.
    // Kept forever and never compacted: each record holds one transaction's locations of a ticket,
    // and evidence outlives the live state.
    { topic: names.ticketIndex, partitions: options.indexPartitions ?? DEFAULT_INDEX_PARTITIONS, compacted: false, retentionMs: -1 },
  ];
}

/**
 * An existing topic's configuration contradicts what grantline needs from it (a compacted custody
 * topic would delete evidence). Retrying cannot help; an operator has to fix the topic.
 */
export class TopicConfigMismatchError extends GrantlineError {
  readonly topic: string;
  constructor(topic: string, detail: string) {
    super(`topic ${topic}: ${detail}`, { retriable: false });
    this.topic = topic;
  }
}

/** A setting of an existing topic that differs from the tuning grantline would create it with. */
export type UntunedSetting = { topic: string; name: string; actual: string | null; wanted: string };

export type EnsureTopicsResult = { created: string[]; existing: string[]; untuned: UntunedSetting[] };

/** Durability for every topic `ensureTopics` handles (`kafka.replicationFactor`, `kafka.minInsyncReplicas`). */
export type TopicDurability = {
  /** Replicas of each created topic, and the least an existing one may have; absent: the broker's default, unchecked. */
  replicationFactor?: number | undefined;
  /** `min.insync.replicas` of each created topic, and the least an existing one may have. */
  minInsyncReplicas?: number | undefined;
};

function configEntries(spec: TopicSpec, durability: TopicDurability): { name: string; value: string }[] {
  const entries = [{ name: 'cleanup.policy', value: spec.compacted === true ? 'compact' : 'delete' }];
  if (spec.retentionMs !== undefined) entries.push({ name: 'retention.ms', value: String(spec.retentionMs) });
  if (durability.minInsyncReplicas !== undefined) entries.push({ name: 'min.insync.replicas', value: String(durability.minInsyncReplicas) });
  for (const [name, value] of Object.entries(spec.tuning ?? {})) entries.push({ name, value });
  return entries;
}

async function readTopicConfigs(admin: Admin, topics: string[], configNames?: string[]): Promise<Map<string, Record<string, string>>> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, ...(configNames ? { configNames } : {}) })),
  });
  const result = new Map<string, Record<string, string>>();
  for (const resource of described.resources) {
    const entries: Record<string, string> = {};
    for (const entry of resource.configEntries) entries[entry.configName] = entry.configValue;
    result.set(resource.resourceName, entries);
  }
  return result;
}

/**
 * The effective configuration of one topic (`cleanup.policy`, `retention.ms`, ...), as the broker
 * reports it. For operators' checks and tests.
 */
export async function describeTopicConfig(kafka: Kafka, topic: string): Promise<Record<string, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await readTopicConfigs(admin, [topic])).get(topic) ?? {};
  } finally {
    await admin.disconnect();
  }
}

/** The fewest replicas any partition of each topic has. */
async function replicaCounts(admin: Admin, topics: string[]): Promise<Map<string, number>> {
  const { topics: meta } = await admin.fetchTopicMetadata({ topics });
  return new Map(meta.map((t) => [t.name, Math.min(...t.partitions.map((p) => p.replicas.length))]));
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

async function verifyExisting(admin: Admin, specs: TopicSpec[], durability: TopicDurability): Promise<UntunedSetting[]> {
  if (specs.length === 0) return [];
  const topics = specs.map((s) => s.topic);
  const tuned = [...new Set(specs.flatMap((s) => Object.keys(s.tuning ?? {})))];
  const configs = await readTopicConfigs(admin, topics, ['cleanup.policy', 'retention.ms', 'min.insync.replicas', ...tuned]);
  const untuned: UntunedSetting[] = [];
  const replicas = await replicaCounts(admin, topics);
  for (const spec of specs) {
    const config = configs.get(spec.topic) ?? {};
    const policy = (config['cleanup.policy'] ?? '').split(',').map((p) => p.trim());
    const compacted = policy.includes('compact');
    if (compacted !== (spec.compacted === true)) {
      throw new TopicConfigMismatchError(spec.topic, `cleanup.policy is "${policy.join(',')}", expected ${spec.compacted === true ? 'compact' : 'delete'}`);
    }
    if (spec.retentionMs !== undefined && config['retention.ms'] !== String(spec.retentionMs)) {
      throw new TopicConfigMismatchError(spec.topic, `retention.ms is ${config['retention.ms'] ?? 'unknown'}, expected ${spec.retentionMs}`);
    }
    const count = replicas.get(spec.topic);
    if (count !== undefined && durability.replicationFactor !== undefined && count < durability.replicationFactor) {
      throw new TopicConfigMismatchError(
        spec.topic,
        `has ${plural(count, 'replica')}, fewer than kafka.replicationFactor ${durability.replicationFactor} (add replicas with kafka-reassign-partitions, or lower kafka.replicationFactor)`,
      );
    }
    const minIsr = Number(config['min.insync.replicas']);
    if (Number.isFinite(minIsr) && durability.minInsyncReplicas !== undefined && minIsr < durability.minInsyncReplicas) {
      throw new TopicConfigMismatchError(spec.topic, `min.insync.replicas is ${minIsr}, below kafka.minInsyncReplicas ${durability.minInsyncReplicas}`);
    }
    // acks=all then never succeeds: every transaction and produce would time out.
    if (Number.isFinite(minIsr) && count !== undefined && minIsr > count) {
      throw new TopicConfigMismatchError(spec.topic, `min.insync.replicas is ${minIsr} but it has ${plural(count, 'replica')}: no write could be acknowledged`);
    }
    for (const [name, wanted] of Object.entries(spec.tuning ?? {})) {
      const actual = config[name] ?? null;
      if (actual !== wanted) untuned.push({ topic: spec.topic, name, actual, wanted });
    }
  }
  return untuned;
}

const LEADER_WAIT_MS = 30_000;

async function waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
  const deadline = Date.now() + LEADER_WAIT_MS;
  for (;;) {
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics });
      if (meta.length === topics.length && meta.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      // Right after creation the broker may still answer UNKNOWN_TOPIC_OR_PARTITION or
      // LEADER_NOT_AVAILABLE; anything not retriable is a real failure.
      if (!(err instanceof Error && (err as { retriable?: boolean }).retriable === true)) throw err;
    }
    if (Date.now() >= deadline) throw new Error(`no partition leaders for ${topics.join(', ')} after ${LEADER_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A topic the broker refused to create for its replication factor, from kafkajs's aggregate error. */
function replicationRefusal(err: unknown): string | undefined {
  const errors = (err as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return undefined;
  const refused = errors.find((e: { type?: unknown; topic?: unknown }) => e?.type === 'INVALID_REPLICATION_FACTOR' && typeof e.topic === 'string') as { topic: string } | undefined;
  return refused?.topic;
}

/**
 * Creates the topics that are missing and waits until their partitions have leaders. Topics that
 * exist are left as they are, but their cleanup policy (and retention, where the spec names one)
 * must match the spec, and their replicas and `min.insync.replicas` must reach `durability`, or
 * `TopicConfigMismatchError` is thrown naming the topic; tuning that differs is returned in
 * `untuned` (it may have been set so on purpose). Safe to call on every start and from
 * several instances at once. kafkajs errors pass through with their `retriable` flag.
 */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[], durability: TopicDurability = {}): Promise<EnsureTopicsResult> {
  for (const spec of specs) checkTopicName(spec.topic);
  if (new Set(specs.map((s) => s.topic)).size !== specs.length) {
    throw new Error('ensureTopics: a topic is named twice');
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    const present = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !present.has(s.topic));
    if (missing.length > 0) {
      const topics: ITopicConfig[] = missing.map((s) => ({
        topic: s.topic,
        ...(s.partitions === undefined ? {} : { numPartitions: s.partitions }),
        ...(durability.replicationFactor === undefined ? {} : { replicationFactor: durability.replicationFactor }),
        configEntries: configEntries(s, durability),
      }));
      try {
        // Leaders are awaited below, not by kafkajs: its wait retries only LEADER_NOT_AVAILABLE, while
        // a KRaft broker may first answer UNKNOWN_TOPIC_OR_PARTITION for a topic it just created,
        // and it skips the wait when another instance created some of the topics in between.
        await admin.createTopics({ topics, waitForLeaders: false });
      } catch (err) {
        const topic = replicationRefusal(err);
        if (topic === undefined) throw err;
        const { brokers } = await admin.describeCluster();
        throw new TopicConfigMismatchError(
          topic,
          `cannot be created with kafka.replicationFactor ${durability.replicationFactor ?? 'default'}: the cluster has ${plural(brokers.length, 'broker')}`,
        );
      }
      await waitForLeaders(admin, missing.map((s) => s.topic));
    }
    const existing = specs.filter((s) => present.has(s.topic));
    // Verified whoever created them: a racing instance may have used other settings.
    const untuned = await verifyExisting(admin, specs, durability);
    return { created: missing.map((s) => s.topic), existing: existing.map((s) => s.topic), untuned };
  } finally {
    await admin.disconnect();
  }
}
