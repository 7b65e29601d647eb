import type { KafkaSection } from '../config/kafka-schema.js';
import type { KafkaSettings } from './client.js';

/** Options of `kafkaSettings` beyond the config. */
export type KafkaSettingsOptions = {
  /** Appended to `kafka.clientId` (`-cli`), so the brokers' logs tell the service from a command. */
  clientIdSuffix?: string;
};

/**
 * The one place the `kafka` config section becomes client settings: `serve`, every CLI command,
 * the readiness probe and the test harness all connect with what this returns (brokers, TLS, SASL),
 * and topics are created with its replication settings.
 */
export function kafkaSettings(kafka: KafkaSection, options: KafkaSettingsOptions = {}): KafkaSettings {
  return {
    brokers: [...kafka.brokers],
    clientId: `${kafka.clientId}${options.clientIdSuffix ?? ''}`,
    topicPrefix: kafka.topicPrefix,
    partitions: kafka.partitions,
    ssl: kafka.ssl,
    sasl: kafka.sasl,
    replicationFactor: kafka.replicationFactor,
    minInsyncReplicas: kafka.minInsyncReplicas,
  };
}
