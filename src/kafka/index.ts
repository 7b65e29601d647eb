/**
 * grantline's Kafka access layer: the only module that imports kafkajs. Everything else imports
 * from here, so delivery guarantees (idempotence, acks=-1, read_committed, no auto-created topics)
 * are decided in one place.
 */
export { createKafka, SERVICE_RETRY } from './client.js';
export type { KafkaSettings } from './client.js';
export { kafkaSettings } from './settings.js';
export type { KafkaSettingsOptions } from './settings.js';
export type { KafkaSasl, KafkaTls } from './security.js';
export { createOAuthTokenSource, OAuthTokenError } from './oauth.js';
export type { OAuthClientCredentials, OAuthTokenSource } from './oauth.js';
export { KafkaConnectError, resendable } from './failure.js';
export { createProducer } from './producer.js';
export type { GrantlineProducer, GrantlineTransaction, ProducerOptions } from './producer.js';
export { createConsumer } from './consumer.js';
export type { ConsumerOptions } from './consumer.js';
export { topicNames, grantTopicPrefix, grantlineTopicSpecs, DEFAULT_DECISION_REQUEST_RETENTION_MS, DEFAULT_INDEX_PARTITIONS, RESTORED_TOPIC_TUNING, ensureTopics, describeTopicConfig, TopicConfigMismatchError } from './topics.js';
export type { TopicNames, TopicSpec, EnsureTopicsResult, TopicDurability, UntunedSetting } from './topics.js';
export { awaitKafka, checkKafka } from './health.js';
export { PartitionLoop, PIPELINE_CONSUMER_TIMING, chunksOf } from './partition-loop.js';
export type { InboundHeaderValue, InboundMessage, PartitionBatch, PartitionLoopOptions } from './partition-loop.js';
export { readTopic, TopicTail } from './tail.js';
export { adapterGroupPrefix, clientNames, partitionTransactionalId, TAIL_GROUP_PREFIX } from './names.js';
export type { ClientNames, PipelineGroup, TransactionalRole } from './names.js';
export { ACL_ROLES, aclRules, normalizePrincipal } from './acls.js';
export type { AclContext, AclOperation, AclPatternType, AclResourceType, AclRole, AclRule } from './acls.js';
export { applyAcls } from './acl-admin.js';
export { follow } from './follow.js';
export type { Follow, FollowOptions } from './follow.js';
export { missingTopics, readPartitionsToEnd, partitionCount, TopicMissingError } from './partition-reader.js';
export type { AwaitKafkaOptions, KafkaCheck } from './health.js';
export type {
  Admin,
  Consumer,
  IHeaders,
  Kafka,
  KafkaMessage,
  Message,
  Producer,
  RecordMetadata,
  TopicMessages,
  TopicOffsets,
} from 'kafkajs';
export { locationKey, partitionOf, readLocations } from './locate.js';
export type { RecordLocation } from './locate.js';
