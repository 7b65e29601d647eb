import pino from 'pino';
import { ConfigError, loadConfig, resolveConfigPath, type GrantlineConfig } from '../config/index.js';
import { wiredConnectorTypes } from '../service/connector-types.js';
import { awaitKafka, createKafka, KafkaConnectError, kafkaSettings, topicNames, type Kafka, type TopicNames } from '../kafka/index.js';
import { createLogger, type Logger } from '../log/index.js';
import type { Gate } from '../pipeline/refusals.js';
import { InternalKeyring, type MessageBytes, type Opened } from '../trust/index.js';

/** What a CLI command that talks to Kafka needs: config, a quiet logger on stderr, the client, topics. */
export interface CliKafka {
  readonly config: GrantlineConfig;
  readonly logger: Logger;
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  /**
   * The MAC keys of grantline's internal topics when the config has them: what the CLI reads from
   * them is verified. Null on an operator's machine, which holds only the operator's own key.
   */
  readonly keyring: InternalKeyring | null;
}

/**
 * What the CLI reads from an internal topic passes this check: a message that fails it is skipped
 * with a warning on stderr (the running service has already sent it to the DLQ and alerted).
 */
export function cliGate(cli: CliKafka, topic: string): Gate {
  return {
    open: (partition, message) => {
      if (cli.keyring === null) return unverified(cli, topic, message);
      const opened = cli.keyring.open(topic, message);
      if (!opened.ok) cli.logger.warn({ topic, partition, offset: message.offset, reason: opened.reason, detail: opened.detail }, 'message refused: skipped');
      return opened;
    },
    refuse: (partition, message, refused) => {
      cli.logger.warn({ topic, partition, offset: message.offset, reason: refused.reason, detail: refused.detail }, 'message refused: skipped');
      return Promise.resolve();
    },
  };
}

/**
 * Loads the config for a CLI command. A bad config prints every bad field and yields exit code 2.
 * Logs go to stderr at `warn`, so stdout stays the command's answer.
 */
export function openCli(command: string, configFlag: string | undefined): CliKafka | { exitCode: number } {
  const path = resolveConfigPath(configFlag);
  let config: GrantlineConfig;
  try {
    config = loadConfig(path, process.env, { connectorTypes: wiredConnectorTypes() });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`grantline ${command}: ${err.message}`);
      return { exitCode: 2 };
    }
    throw err;
  }
  const logger = createLogger({ ...config, log: { level: 'warn' } }, pino.destination(2));
  const kafka = createKafka(kafkaSettings(config.kafka, { clientIdSuffix: '-cli' }), logger);
  return { config, logger, kafka, topics: topicNames(config.kafka.topicPrefix), keyring: config.trust.internal === undefined ? null : InternalKeyring.load(config.trust.internal) };
}

/**
 * Waits until Kafka answers with the config's connection settings, as `serve` does at start. Returns
 * null when it does; otherwise prints one line naming the broker and what failed (a refused
 * password, an untrusted certificate, a TLS or SASL mismatch, an unreachable cluster) and returns
 * exit code 1, instead of a kafkajs error after its retries.
 */
export async function connectCli(command: string, cli: CliKafka): Promise<number | null> {
  try {
    await awaitKafka(cli.kafka);
    return null;
  } catch (err) {
    if (!(err instanceof KafkaConnectError)) throw err;
    console.error(`grantline ${command}: ${err.message}`);
    return 1;
  }
}

const warned = new Set<string>();

/** Without trust.internal the CLI reads internal topics unverified, and says so once per topic. */
function unverified(cli: CliKafka, topic: string, message: MessageBytes): Opened {
  if (!warned.has(topic)) {
    warned.add(topic);
    cli.logger.warn({ topic }, 'trust.internal is not configured: what is read from this topic is shown unverified');
  }
  try {
    return { ok: true, value: message.value === null ? null : (JSON.parse(message.value.toString()) as unknown), kid: '(unverified)' };
  } catch {
    return { ok: false, reason: 'malformed', detail: 'value is not JSON' };
  }
}
