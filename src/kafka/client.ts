import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel } from 'kafkajs';
import type { LogEntry, Mechanism, RetryOptions, SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { kafkajsErrorLevel } from './log-levels.js';
import type { ConnectionShape } from './failure.js';
import { kafkajsSecurity, type KafkaSasl, type KafkaTls } from './security.js';
import { silenceKafkajsTimeoutWarning } from './warnings.js';

/**
 * How grantline reaches Kafka. Built from the `kafka` section of the config by `kafkaSettings`, so
 * `serve`, every CLI command and the readiness probe connect the same way.
 */
export type KafkaSettings = {
  /** `host:port` bootstrap addresses. */
  brokers: string[];
  clientId: string;
  /** Prepended to every topic name (`topicNames(prefix)`), e.g. `staging.`. */
  topicPrefix: string;
  /** Partitions for topics grantline creates. */
  partitions: number;
  /** TCP connect timeout per broker; kafkajs default 1000 ms. */
  connectionTimeoutMs?: number;
  /** Per-request timeout; kafkajs default 30000 ms. */
  requestTimeoutMs?: number;
  /** TLS to the brokers; absent: plaintext. */
  ssl?: KafkaTls | undefined;
  /** SASL authentication; absent: none. */
  sasl?: KafkaSasl | undefined;
  /** Replicas of each topic grantline creates; absent: the broker's default. */
  replicationFactor?: number | undefined;
  /** `min.insync.replicas` of each topic grantline creates; absent: the broker's default. */
  minInsyncReplicas?: number | undefined;
};

/**
 * Retries for a long-running service. A call that meets a broker outage gives up after roughly
 * 10 s (300 ms doubling, capped) with a `retriable` kafkajs error, so the caller decides: ingress
 * answers 503 (the source redelivers), the processor pauses. Infinite retries would instead hang a
 * webhook request until the source's own timeout.
 */
export const SERVICE_RETRY: RetryOptions = {
  initialRetryTime: 300,
  maxRetryTime: 5_000,
  multiplier: 2,
  factor: 0.2,
  retries: 5,
};

/** What `checkKafka` needs to open its own short-lived probe connection. */
export type ProbeRecipe = {
  brokers: string[];
  clientId: string;
  connectionTimeoutMs: number | undefined;
  /** The client's own kafkajs `ssl` and `sasl` (one OAuth token cache for both). */
  ssl: ConnectionOptions | undefined;
  sasl: SASLOptions | Mechanism | undefined;
  /** For explaining failures: TLS or not, client certificate or not, which SASL mechanism. */
  shape: ConnectionShape;
};

// checkKafka must not inherit the service retry (10 s of reconnects per probe); it builds a probe
// client from the same settings, which it finds here.
const probeRecipes = new WeakMap<Kafka, ProbeRecipe>();

/** The probe recipe of a client made by `createKafka`, if it was. */
export function probeRecipeOf(kafka: Kafka): ProbeRecipe | undefined {
  return probeRecipes.get(kafka);
}

/** kafkajs level that lets through exactly what the pino logger would print. */
export function kafkajsLevelFor(logger: Logger): logLevel {
  const value = logger.levelVal;
  if (!Number.isFinite(value)) return logLevel.NOTHING; // pino 'silent'
  if (value <= 20) return logLevel.DEBUG;
  if (value <= 30) return logLevel.INFO;
  if (value <= 40) return logLevel.WARN;
  return logLevel.ERROR;
}

/**
 * A kafkajs `logCreator` writing into a pino child `{ component: 'kafkajs' }`, with the kafkajs
 * namespace (`Consumer`, `Producer`, `Connection`, ...) as a field. kafkajs errors that report a
 * routine, retried condition are logged at debug or warn (`kafkajsErrorLevel`).
 */
export function pinoLogCreator(logger: Logger): (level: logLevel) => (entry: LogEntry) => void {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      // kafkajs adds its own timestamp and logger name; pino has both already.
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      const fields = { namespace, ...extra };
      switch (level) {
        case logLevel.ERROR: {
          // Routine retried conditions go lower, so an error line means something is wrong (log-levels.ts).
          const mapped = kafkajsErrorLevel(message, extra.error);
          child[mapped](fields, message);
          break;
        }
        case logLevel.WARN:
          child.warn(fields, message);
          break;
        case logLevel.INFO:
          child.info(fields, message);
          break;
        default:
          child.debug(fields, message);
      }
    };
}

/**
 * The kafkajs client for this process: logs routed into pino, service retry, settings' timeouts,
 * TLS and SASL. Producers, consumers and admin clients come from it through this module's helpers.
 */
export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  if (settings.brokers.length === 0) {
    throw new Error('Kafka settings name no broker');
  }
  silenceKafkajsTimeoutWarning();
  const { ssl, sasl, shape } = kafkajsSecurity(settings, logger);
  const kafka = new Kafka({
    clientId: settings.clientId,
    brokers: [...settings.brokers],
    connectionTimeout: settings.connectionTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    ...(ssl === undefined ? {} : { ssl }),
    ...(sasl === undefined ? {} : { sasl }),
    retry: SERVICE_RETRY,
    logLevel: kafkajsLevelFor(logger),
    logCreator: pinoLogCreator(logger),
  });
  probeRecipes.set(kafka, {
    brokers: [...settings.brokers],
    clientId: settings.clientId,
    connectionTimeoutMs: settings.connectionTimeoutMs,
    ssl,
    sasl,
    shape,
  });
  return kafka;
}
