import type { Router } from 'express';
import type { Logger } from 'pino';
import type { GrantlineConfig } from '../config/schema.js';
import { createApp, type Mount, type ReadinessCheck } from '../http/app.js';
import { cachedCheck } from '../http/ops.js';
import { createMetricsRegistry } from '../http/metrics.js';
import { listen, type HttpServer } from '../http/server.js';
import { awaitKafka, checkKafka, createKafka, ensureTopics, grantlineTopicSpecs, kafkaSettings, topicNames, type Kafka, type TopicNames, type TopicSpec } from '../kafka/index.js';
import { PipelineRuntime } from '../pipeline/runtime.js';
import type { Registry } from 'prom-client';
import { wiredConnectorTypes } from './connector-types.js';
import { roles as registeredRoles, type RoleFactory, type RoleName } from './roles.js';
import { Service, type Component } from './service.js';

/** How long `/readyz` waits for Kafka before calling it unreachable. */
const KAFKA_CHECK_TIMEOUT_MS = 2_000;

export interface BuiltService {
  readonly service: Service;
  /** The listening HTTP server once the service has started (its port when `http.port` is 0). */
  http(): HttpServer | undefined;
  /** The admin listener (`http.admin`) once started, when configured. */
  admin(): HttpServer | undefined;
}

/** Options of `buildService` beyond the config. */
export interface BuildOptions {
  /** The clock roles decide by (see `RoleContext.clock`); default the wall clock. */
  readonly clock?: () => Date;
}

/**
 * The pipeline runtime (catalog and directory in force, keys, the configured connectors, the
 * processor's ports) with this build's connector types, their kinds in force (`connector-types.ts`,
 * the only reader of the connector registry). `buildService` builds one per process; `grantline
 * check` builds one that never connects.
 */
export function createPipelineRuntime(config: GrantlineConfig, logger: Logger, kafka: Kafka, topics: TopicNames, registry: Registry): Promise<PipelineRuntime> {
  return PipelineRuntime.create(config, logger, kafka, topics, registry, wiredConnectorTypes());
}

/**
 * Builds the process: Kafka client, topics, each role's parts, and the HTTP app. Nothing connects
 * until `service.start()` (or `run()`). Start order: topics, role components, HTTP; stop is the
 * reverse, so HTTP stops taking requests and drains before consumers and producers stop.
 */
export async function buildService(
  config: GrantlineConfig,
  logger: Logger,
  selected: readonly RoleName[],
  roleFactories: Partial<Record<RoleName, RoleFactory>> = registeredRoles,
  options: BuildOptions = {},
): Promise<BuiltService> {
  const registry = createMetricsRegistry();
  const settings = kafkaSettings(config.kafka);
  const kafka = createKafka(settings, logger);
  const topics = topicNames(config.kafka.topicPrefix);

  const components: Component[] = [];
  const mounts: Mount[] = [];
  const routers: Router[] = [];
  const readiness: ReadinessCheck[] = [];
  // Grant topics per channel come from the catalog, so the roles that know it add them.
  const topicSpecs = new Map<string, TopicSpec>(grantlineTopicSpecs(
      topics,
      [],
      config.kafka.partitions,
      {
        ...(config.kafka.decisionRequestRetentionMs === undefined ? {} : { decisionRequestRetentionMs: config.kafka.decisionRequestRetentionMs }),
        ...(config.kafka.indexPartitions === undefined ? {} : { indexPartitions: config.kafka.indexPartitions }),
      },
    ).map((s) => [s.topic, s]));
  // Roles and the HTTP app need the service (to report failures, for readiness) before it exists.
  const late: { service?: Service } = {};
  // One pipeline runtime for the process, built when the first role asks for it.
  let pipelineRuntime: Promise<PipelineRuntime> | undefined;
  const runtime = (): Promise<PipelineRuntime> => (pipelineRuntime ??= createPipelineRuntime(config, logger, kafka, topics, registry));

  for (const name of selected) {
    const factory = roleFactories[name];
    if (factory === undefined) throw new Error(`role "${name}" is not registered`);
    const parts = await factory({
      config,
      logger: logger.child({ role: name }),
      kafka,
      topics,
      registry,
      runtime,
      fail: (err, component) => late.service?.fail(err, component),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    // A part several roles share is the same object in each (the policy reloader): started once.
    for (const component of parts.components ?? []) if (!components.includes(component)) components.push(component);
    mounts.push(...(parts.mounts ?? []));
    routers.push(...(parts.routers ?? []));
    readiness.push(...(parts.readiness ?? []));
    for (const spec of parts.topics ?? []) topicSpecs.set(spec.topic, spec);
  }

  const topicsComponent: Component = {
    name: 'kafka-topics',
    start: async () => {
      // The first connection: refused credentials or a TLS mismatch stop the start here, in one
      // line naming the broker, instead of kafkajs retrying them like an outage.
      await awaitKafka(kafka);
      const result = await ensureTopics(kafka, [...topicSpecs.values()], { replicationFactor: settings.replicationFactor, minInsyncReplicas: settings.minInsyncReplicas });
      logger.info({ created: result.created, existing: result.existing.length }, 'kafka topics ready');
      // Not refused: an operator may have tuned them on purpose. Said once per start, per topic.
      const untuned = new Map<string, Record<string, { actual: string | null; recommended: string }>>();
      for (const u of result.untuned) untuned.set(u.topic, { ...untuned.get(u.topic), [u.name]: { actual: u.actual, recommended: u.wanted } });
      for (const [topic, differing] of untuned) {
        logger.warn({ topic, settings: differing }, 'existing topic is not tuned as grantline creates it: a restore reads more of its history than needed (docs/architecture.md, "Restore and compaction")');
      }
    },
    stop: async () => undefined,
  };

  let server: HttpServer | undefined;
  let adminServer: HttpServer | undefined;
  // One broker connection per `readinessCacheMs` at most, however often /readyz is asked.
  const kafkaCheck = cachedCheck({ name: 'kafka', check: () => checkKafka(kafka, KAFKA_CHECK_TIMEOUT_MS) }, config.http.readinessCacheMs);
  const httpComponent: Component = {
    name: 'http',
    start: async () => {
      const lateService = late.service;
      if (lateService === undefined) throw new Error('service not built');
      const httpLogger = logger.child({ component: 'http' });
      const checks: ReadinessCheck[] = [
        // The config was loaded and validated before anything was built.
        { name: 'config', check: () => ({ ok: true }) },
        kafkaCheck,
        lateService.readiness,
        ...readiness,
      ];
      const admin = config.http.admin;
      const app = createApp({
        logger: httpLogger,
        registry,
        bodyLimitBytes: config.http.bodyLimitBytes,
        readiness: checks,
        mounts,
        routers,
        trustProxy: config.http.trustProxy,
        // With an admin listener, /readyz and /metrics are served there only.
        ops: admin === undefined,
      });
      if (admin !== undefined) {
        const adminApp = createApp({ logger: httpLogger, registry, bodyLimitBytes: 1024, readiness: checks, metricsToken: admin.metricsToken });
        adminServer = await listen(adminApp, { host: admin.host, port: admin.port, timeouts: config.http.timeouts });
        logger.info({ url: adminServer.url, metricsAuth: admin.metricsToken !== undefined }, 'admin http listening (/readyz, /metrics)');
      }
      try {
        server = await listen(app, { host: config.http.host, port: config.http.port, timeouts: config.http.timeouts });
      } catch (err) {
        // A failed start is not stopped: let the admin port go here.
        await adminServer?.close(0);
        adminServer = undefined;
        throw err;
      }
      logger.info({ url: server.url }, 'http listening');
    },
    stop: async () => {
      // Half the stop budget for in-flight requests; the rest is for consumers and producers.
      const budget = Math.floor(config.service.shutdownTimeoutMs / 2);
      const [drained] = await Promise.all([server?.close(budget) ?? true, adminServer?.close(budget) ?? true]);
      if (!drained) logger.warn('http requests still open after the drain timeout were cut off');
    },
  };

  const service = new Service({
    logger,
    components: [topicsComponent, ...components, httpComponent],
    stopTimeoutMs: config.service.shutdownTimeoutMs,
  });
  late.service = service;
  return { service, http: () => server, admin: () => adminServer };
}
