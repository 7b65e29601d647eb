/**
 * The one home of every Kafka client name grantline and its adapters use besides topic names
 * (those are in `topics.ts`): consumer groups and transactional ids, per role. The Kafka ACLs
 * (`acls.ts`) are derived from these, so a name changed here changes the ACLs with it.
 *
 * Group and transactional ids carry the topic prefix: two deployments that share a cluster under
 * different prefixes must neither split each other's partitions nor fence each other's transactions.
 */

/** Consumer groups of the pipeline roles (one group per role; its members share the partitions). */
export type PipelineGroup = 'processor' | 'writeback' | 'lifecycle';

/** Transactional producers: the processor's decisions, and the SCIM store's directory writes. */
export type TransactionalRole = 'processor' | 'scim';

/**
 * Every view and CLI read of a whole topic (`TopicTail`) joins a consumer group of its own,
 * `grantline-tail-<uuid>`, and commits nothing. Not under the topic prefix: the views do not know
 * it, and such a group holds no offsets, so sharing the prefix across deployments exposes nothing.
 */
export const TAIL_GROUP_PREFIX = 'grantline-tail';

/**
 * The restore of a partition's state (`readPartitionsToEnd`) reads chosen partitions with a group of
 * its own, `grantline-restore-<uuid>`, and commits nothing; as with the tails, the prefix is fixed.
 */
export const RESTORE_GROUP_PREFIX = 'grantline-restore';

export interface ClientNames {
  /** The consumer group of a pipeline role. */
  group(role: PipelineGroup): string;
  /** The transactional id of one SCIM store instance: `transactionalIdPrefix('scim')` + instance id. */
  transactionalId(role: 'scim', instanceId: string): string;
  /** What every instance's transactional id of a role starts with (the ACL is PREFIXED on it). */
  transactionalIdPrefix(role: TransactionalRole): string;
  /** The start of every tail group's id (`<prefix>-<uuid>`), for the PREFIXED group ACL. */
  readonly tailGroupPrefix: string;
  /** The start of every state restore group's id (`<prefix>-<uuid>`), for the PREFIXED group ACL. */
  readonly restoreGroupPrefix: string;
}

/** Client names of a deployment: `kafka.topicPrefix` and `service.name` of its config. */
export function clientNames(topicPrefix: string, serviceName: string): ClientNames {
  const base = (role: string): string => `${topicPrefix}${serviceName}-${role}`;
  return {
    group: (role) => base(role),
    transactionalId: (role, instanceId) => `${base(role)}-${instanceId}`,
    // The processor's producers are one per input partition (`partitionTransactionalId`), under its group.
    transactionalIdPrefix: (role) => (role === 'processor' ? `${base(role)}.` : `${base(role)}-`),
    tailGroupPrefix: `${TAIL_GROUP_PREFIX}-`,
    restoreGroupPrefix: `${RESTORE_GROUP_PREFIX}-`,
  };
}

/**
 * The consumer groups of a fulfillment adapter named `name` (adapters/kit): each of its topic reads
 * joins `<this>-<uuid>` or `<this>-<topic>-<uuid>`, so the ACL is PREFIXED on `<this>-`.
 */
export function adapterGroupPrefix(topicPrefix: string, name: string): string {
  return `${topicPrefix}grantline-adapter-${name}`;
}

/**
 * The transactional id of the processor's producer for one input partition: `<group>.<topic>.<partition>`
 * (the pre-KIP-447 pattern: whoever owns the partition next fences the previous owner's producer).
 */
export function partitionTransactionalId(groupId: string, topic: string, partition: number): string {
  return `${groupId}.${topic}.${partition}`;
}
