import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { connectorTypes } from '../../connectors/registry.js';
import { loadCatalog, loadDirectory, type Catalog, type Directory } from '../catalog/index.js';
import type { GrantlineConfig } from '../config/schema.js';
import type { Connector, ConnectorType } from '../connector/contract.js';
import { chainEvent, jsonSha256, loadSigningKeys, publicJwks, sign, type SigningKeys } from '../custody/index.js';
import { createProducer, type GrantlineProducer, type Kafka, type TopicNames, type TopicSpec } from '../kafka/index.js';
import { decide } from '../policy/index.js';
import { GRANTLINE_VERSION } from '../version.js';
import { createPipelineMetrics, type PipelineMetrics } from './metrics.js';
import type { ProcessorPorts } from './ports.js';
import { StateView } from './state-view.js';

/**
 * What every pipeline role of one process shares: the loaded catalog and directory, signing keys,
 * connector instances, metrics, and lazily the state view and an idempotent producer. Built once
 * per process (several roles in one `serve` share it).
 */
export class PipelineRuntime {
  private view: StateView | null = null;
  private producer: GrantlineProducer | null = null;
  private readonly users = new Map<string, number>();

  private constructor(
    readonly config: GrantlineConfig,
    readonly logger: Logger,
    readonly kafka: Kafka,
    /** Every topic, under the config's prefix (also what the processor ports need). */
    readonly topics: TopicNames,
    readonly catalog: Catalog,
    readonly directory: Directory,
    readonly keys: SigningKeys,
    readonly connectors: ReadonlyMap<string, Connector>,
    readonly metrics: PipelineMetrics,
  ) {}

  static async create(config: GrantlineConfig, logger: Logger, kafka: Kafka, topics: TopicNames, registry: Registry): Promise<PipelineRuntime> {
    const [catalog, directory] = await Promise.all([loadCatalog(config.catalog.path), loadDirectory(config.directory.path)]);
    const keys = loadSigningKeys(config.signing);
    const connectors = new Map<string, Connector>();
    for (const entry of config.connectors) {
      const type = (connectorTypes as Record<string, ConnectorType>)[entry.type];
      if (!type) throw new Error(`connector ${entry.id}: unknown type ${entry.type}`);
      connectors.set(entry.id, type.create(entry.config as never, { connectorId: entry.id, logger: logger.child({ connector: entry.id }), directory }));
    }
    return new PipelineRuntime(
      config,
      logger,
      kafka,
      topics,
      catalog,
      directory,
      keys,
      connectors,
      createPipelineMetrics(registry),
    );
  }

  /** Grant topics for every channel in the catalog (the shared topics come from `grantlineTopicSpecs`). */
  topicSpecs(): TopicSpec[] {
    const partitions = this.config.kafka.partitions;
    const channels = [...new Set(this.catalog.entries().map((e) => e.channel))];
    return channels.map((channel) => ({ topic: this.topics.grants(channel), partitions }));
  }

  jwks(): unknown {
    return publicJwks(this.keys);
  }

  ports(role: string): ProcessorPorts {
    const policyVersion = this.config.policy.version;
    const versions = { policyVersion, catalogVersion: this.catalog.version, directoryVersion: this.directory.version };
    return {
      policy: {
        decide: (request, now) => decide(request, this.catalog, this.directory, now, { policyVersion }),
        versions: () => versions,
      },
      signer: { sign: (body) => sign(body, this.keys) },
      custody: { digest: jsonSha256, chain: (head, draft) => chainEvent(head, draft) },
      topics: this.topics,
      decidedBy: `grantline/${GRANTLINE_VERSION} ${role}@${this.config.service.instanceId}`,
      connector: (id) => this.connectors.get(id),
    };
  }

  /** The ticket-state view, shared by the roles of this process; started by the first role that needs it. */
  stateView(): StateView {
    this.view ??= new StateView(this.kafka, this.topics.ticketState, this.logger.child({ component: 'state-view' }));
    return this.view;
  }

  /** An idempotent, non-transactional producer shared by ingress, pollers, write-back and lifecycle. */
  sharedProducer(): GrantlineProducer {
    this.producer ??= createProducer(this.kafka);
    return this.producer;
  }

  /** Starts a shared part when its first user starts (roles in one process share it). */
  async acquire(name: string, start: () => Promise<void>): Promise<void> {
    const users = this.users.get(name) ?? 0;
    this.users.set(name, users + 1);
    if (users === 0) await start();
  }

  /** Stops a shared part when its last user stops. */
  async release(name: string, stop: () => Promise<void>): Promise<void> {
    const users = this.users.get(name) ?? 0;
    if (users === 0) return;
    this.users.set(name, users - 1);
    if (users === 1) await stop();
  }
}

const runtimes = new WeakMap<GrantlineConfig, Promise<PipelineRuntime>>();

/** The one runtime of this process for a config (memoized, so roles in one process share it). */
export function runtimeFor(config: GrantlineConfig, logger: Logger, kafka: Kafka, topics: TopicNames, registry: Registry): Promise<PipelineRuntime> {
  let runtime = runtimes.get(config);
  if (!runtime) {
    runtime = PipelineRuntime.create(config, logger, kafka, topics, registry);
    runtimes.set(config, runtime);
  }
  return runtime;
}
