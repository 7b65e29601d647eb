import type { Logger } from 'pino';
import type { GrantlineConfig } from '../config/schema.js';
import type { Mount } from '../http/app.js';
import { scimMount } from '../http/scim.js';
import { jwksMount, webhookMount } from '../http/webhooks.js';
import { sign } from '../custody/index.js';
import { clientNames, createProducer, type ClientNames, type Kafka, type TopicNames, type TopicSpec } from '../kafka/index.js';
import { ScimService } from '../scim/service.js';
import type { Component } from '../service/service.js';
import { Ingress } from './ingress.js';
import { Lifecycle } from './lifecycle.js';
import { OwnerLifecycle } from './lifecycle/owner.js';
import { Poller, PollerState } from './poller.js';
import { Processor } from './processor/processor.js';
import type { HeldPartition } from './state/partition-states.js';
import type { PipelineRuntime } from './runtime.js';
import { KafkaScimStore, scimDirectoryContext } from './scim-store.js';
import { KafkaTable } from './state-view.js';
import { WritebackWorker } from './writeback.js';

/**
 * What a pipeline role is built from: the service's context and the one runtime of the process,
 * which the service builds once and passes down (several roles in one process share it).
 */
export interface PipelineRoleContext {
  readonly config: GrantlineConfig;
  readonly logger: Logger;
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly runtime: PipelineRuntime;
  /** Report that a running component broke: the service stops and the process exits non-zero. */
  fail(err: unknown, component: string): void;
  /** The time the pipeline decides by; absent: the wall clock. */
  readonly clock?: () => Date;
}

/** What a pipeline role adds to the process; nothing is started yet. */
export interface PipelineRoleParts {
  readonly components: Component[];
  readonly mounts?: Mount[];
  readonly topics: TopicSpec[];
}

/** Consumer group and transactional ids of this deployment (`src/kafka/names.ts`, where the ACLs come from too). */
function namesFor(ctx: PipelineRoleContext): ClientNames {
  return clientNames(ctx.config.kafka.topicPrefix, ctx.config.service.name);
}

/** The shared idempotent producer, connected by the first role that starts and closed by the last. */
function producerComponent(rt: PipelineRuntime): Component {
  return {
    name: 'producer',
    start: () => rt.acquire('producer', () => rt.sharedProducer().connect()),
    stop: () => rt.release('producer', () => rt.sharedProducer().disconnect()),
  };
}

/** The break-glass holdings, read to the topic's end before the processor decides anything. */
function breakGlassComponent(ctx: PipelineRoleContext, rt: PipelineRuntime): Component {
  return {
    name: 'break-glass-ledger',
    start: () => rt.acquire('break-glass-ledger', () => rt.breakGlassLedger().start(ctx.kafka)),
    stop: () => rt.release('break-glass-ledger', () => rt.breakGlassLedger().stop()),
  };
}

/** The view of the SCIM directory topic, when SCIM is on: read to its end before the role's own parts start. */
function directoryViewComponents(rt: PipelineRuntime): Component[] {
  const view = rt.directoryView();
  if (view === null) return [];
  return [{ name: 'directory-view', start: () => rt.acquire('directory-view', () => view.start()), stop: () => rt.release('directory-view', () => view.stop()) }];
}

/**
 * `/scim/v2` on the ingress role, when `scim.enabled`: the endpoint, its store on the directory
 * topic, and the transactional producer the store writes with (its own: one transaction at a time).
 */
function scimParts(ctx: PipelineRoleContext, rt: PipelineRuntime): { components: Component[]; mounts: Mount[] } {
  const view = rt.directoryView();
  const token = ctx.config.scim.bearerToken;
  if (view === null || token === undefined) return { components: [], mounts: [] };
  const logger = ctx.logger.child({ component: 'scim' });
  const producer = createProducer(ctx.kafka, { transactionalId: namesFor(ctx).transactionalId('scim', ctx.config.service.instanceId), seal: rt.seal });
  const timeoutMs = ctx.config.pipeline.produceTimeoutMs;
  const store = new KafkaScimStore({ producer, view, topics: { directory: rt.topics.directory, lifecycle: rt.topics.lifecycle }, timeoutMs, sign: (event) => sign(event, rt.keys) });
  const service = new ScimService({
    store,
    directory: () => scimDirectoryContext(rt.documents),
    queueTimeoutMs: timeoutMs,
    onOffboarded: (event, userName) => logger.info({ principalId: event.principalId, userName, type: event.type }, 'the IdP deactivated a person: offboarding written to identity.lifecycle.v1'),
  });
  return {
    components: [{ name: 'scim-producer', start: () => producer.connect(), stop: () => producer.disconnect() }],
    mounts: [scimMount({ service, bearerToken: token, logger })],
  };
}

/** Webhook routes, JWKS, `/scim/v2` when SCIM is on, and a reconciliation poller per connector. */
export function ingressRole(ctx: PipelineRoleContext): PipelineRoleParts {
  const rt = ctx.runtime;
  const settings = ctx.config.pipeline;
  const ingress = new Ingress({
    connectors: rt.connectors,
    producer: rt.sharedProducer(),
    topic: rt.topics.ticketEvents,
    logger: ctx.logger.child({ component: 'ingress' }),
    metrics: rt.metrics,
    produceTimeoutMs: settings.produceTimeoutMs,
    replay: { windowMs: settings.replayWindowMs, maxEntries: settings.replayMaxEntries },
    queue: settings.ingressQueue,
  });
  const scim = scimParts(ctx, rt);
  const components: Component[] = [producerComponent(rt), rt.policyReloader(), ...directoryViewComponents(rt), ...scim.components];
  // Stopped before the pollers and the producer: a write Kafka never confirms is given up, not retried forever.
  const queue: Component = { name: 'ingress-queue', start: () => Promise.resolve(), stop: () => Promise.resolve(ingress.close()) };
  if (settings.pollIntervalMs > 0 && rt.connectors.size > 0) {
    const table = new KafkaTable(ctx.kafka, rt.topics.pollerState, PollerState, ctx.logger.child({ component: 'poller-state' }), rt.gate(rt.topics.pollerState, 'poller'));
    const pollers = [...rt.connectors.values()].map(
      (connector) =>
        new Poller({
          connector,
          ingress,
          table,
          producer: rt.sharedProducer(),
          stateTopic: rt.topics.pollerState,
          intervalMs: settings.pollIntervalMs,
          initialLookbackMs: settings.pollLookbackMs,
          logger: ctx.logger.child({ component: 'poller', connector: connector.id }),
        }),
    );
    components.push({
      name: 'pollers',
      start: async () => {
        await table.start();
        await table.catchUp();
        for (const p of pollers) p.start();
      },
      stop: async () => {
        await Promise.all(pollers.map((p) => p.stop()));
        await table.stop();
      },
    });
  }
  components.push(queue);
  return {
    components,
    mounts: [webhookMount(ingress, ctx.config.http.refusals), jwksMount(() => rt.jwks()), ...scim.mounts],
    topics: rt.topicSpecs(),
  };
}

/** Fetch, map, decide and publish in Kafka transactions; write decisions back on tickets. */
export function processorRole(ctx: PipelineRoleContext): PipelineRoleParts {
  const rt = ctx.runtime;
  const settings = ctx.config.pipeline;
  const backoff = { initialMs: settings.retryBackoffMs, maxMs: settings.retryBackoffMaxMs };
  // The lifecycle of the tickets this processor owns: scheduled from its partitions' states.
  const owner: OwnerLifecycle = new OwnerLifecycle(
    {
      producer: rt.sharedProducer(),
      topics: rt.topics,
      connectors: rt.connectors,
      directory: () => rt.documents.current().directory,
      logger: ctx.logger.child({ component: 'lifecycle' }),
      metrics: rt.metrics,
      settings: {
        tickMs: settings.lifecycleTickMs,
        reviewPollMs: settings.reviewPollMs,
        revocationConfirmMs: settings.revocationConfirmMs,
        directoryCheckMs: settings.directoryCheckMs,
        retireAfterMs: settings.retireAfterMs,
      },
      ...(ctx.clock ? { now: ctx.clock } : {}),
    },
    (): Iterable<HeldPartition> => processor.states.partitions(),
  );
  const processor: Processor = new Processor({
    kafka: ctx.kafka,
    ports: rt.ports('processor'),
    logger: ctx.logger.child({ component: 'processor' }),
    metrics: rt.metrics,
    groupId: namesFor(ctx).group('processor'),
    maxAttempts: settings.maxAttempts,
    fetchConcurrency: settings.fetchConcurrency,
    batchSize: settings.batchSize,
    backoff,
    ...(ctx.clock ? { now: ctx.clock } : {}),
    onFatal: (err) => ctx.fail(err, 'processor'),
    stateListener: owner,
    trust: { open: rt.ticketEventOpener(), state: rt.gate(rt.topics.ticketState, 'state'), seal: rt.seal, refusals: rt.refusals, serves: rt.inputGate().serves },
  });
  const writeback = new WritebackWorker({
    kafka: ctx.kafka,
    connectors: rt.connectors,
    producer: rt.sharedProducer(),
    topics: rt.topics,
    groupId: namesFor(ctx).group('writeback'),
    logger: ctx.logger.child({ component: 'writeback' }),
    metrics: rt.metrics,
    maxAttempts: settings.maxAttempts,
    backoff,
    ...(ctx.clock ? { now: ctx.clock } : {}),
    onFatal: (err) => ctx.fail(err, 'writeback'),
    gate: rt.gate(rt.topics.writeback, 'writeback'),
  });
  return {
    components: [
      producerComponent(rt),
      rt.policyReloader(),
      ...directoryViewComponents(rt),
      breakGlassComponent(ctx, rt),
      { name: 'processor', start: () => processor.start(), stop: () => processor.stop() },
      { name: 'owner-lifecycle', start: async () => owner.start(), stop: () => owner.stop() },
      { name: 'writeback', start: () => writeback.start(), stop: () => writeback.stop() },
    ],
    topics: rt.topicSpecs(),
  };
}

/** Offboardings and fulfillment outcomes, brought to the owners of the tickets as partition commands. */
export function lifecycleRole(ctx: PipelineRoleContext): PipelineRoleParts {
  const rt = ctx.runtime;
  const lifecycle = new Lifecycle({
    kafka: ctx.kafka,
    producer: rt.sharedProducer(),
    topics: { ...rt.topics, lifecycle: ctx.topics.lifecycle, fulfillmentResults: ctx.topics.fulfillmentResults },
    groupId: namesFor(ctx).group('lifecycle'),
    logger: ctx.logger.child({ component: 'lifecycle' }),
    metrics: rt.metrics,
    ...(ctx.clock ? { now: ctx.clock } : {}),
    onFatal: (err) => ctx.fail(err, 'lifecycle'),
    trust: rt.inputGate(),
  });
  return {
    components: [producerComponent(rt), rt.policyReloader(), { name: 'lifecycle', start: () => lifecycle.start(), stop: () => lifecycle.stop() }],
    topics: rt.topicSpecs(),
  };
}
