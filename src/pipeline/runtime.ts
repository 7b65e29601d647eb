import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { PolicyDocuments, PolicyDocumentsError, describeProblem, type PolicySnapshot } from '../catalog/index.js';
import { ConfigError } from '../config/errors.js';
import type { GrantlineConfig } from '../config/schema.js';
import type { Connector, ConnectorType, PrincipalResolver } from '../connector/contract.js';
import { chainEvent, jsonSha256, loadSigningKeys, publicJwks, sign, type SigningKeys } from '../custody/index.js';
import { createProducer, ensureTopics, type GrantlineProducer, type Kafka, type ProducerOptions, type TopicNames, type TopicSpec } from '../kafka/index.js';
import { decide, pendingGrant } from '../policy/index.js';
import { publishAlerts } from './alerts.js';
import { BreakGlassLedger } from './break-glass-ledger.js';
import { GRANTLINE_VERSION } from '../version.js';
import { DirectoryView, directoryConflictReporter } from './directory-view.js';
import { createPipelineMetrics, type PipelineMetrics } from './metrics.js';
import { PolicyReloader } from './policy-reload.js';
import type { ProcessorPorts } from './ports.js';
import { gate, Refusals, type Gate, type InputGate } from './refusals.js';
import type { DeadLetterRole } from './dead-letter.js';
import { checkActivePrincipal } from '../catalog/index.js';
import { InternalKeyring, internalSealer, OperatorKeys, SignedInputs, ticketEventOpener, type MessageBytes, type Opened } from '../trust/index.js';

/**
 * What every pipeline role of one process shares: the catalog and directory in force (reloaded while
 * running), signing keys, connector instances, metrics, and lazily an idempotent
 * producer and the policy reloader. Built once per process (several roles in one `serve` share it).
 */
export class PipelineRuntime {
  private producer: GrantlineProducer | null = null;
  private reloader: PolicyReloader | null = null;
  private directory: DirectoryView | null = null;
  private ledger: BreakGlassLedger | null = null;
  private readonly users = new Map<string, number>();
  /** Seals every message a grantline producer writes to an internal topic. */
  readonly seal: NonNullable<ProducerOptions['seal']>;
  /** DLQ, alert and metric of every message a reader refuses. */
  readonly refusals: Refusals;

  private constructor(
    readonly config: GrantlineConfig,
    readonly logger: Logger,
    readonly kafka: Kafka,
    /** Every topic, under the config's prefix (also what the processor ports need). */
    readonly topics: TopicNames,
    /** The one home of the catalog and directory in force; read `documents.current()` when deciding. */
    readonly documents: PolicyDocuments,
    readonly keys: SigningKeys,
    readonly connectors: ReadonlyMap<string, Connector>,
    readonly metrics: PipelineMetrics,
    /** The MAC keys of the internal topics (`trust.internal`). */
    readonly keyring: InternalKeyring,
    /** Who may sign `grantline revoke` (`trust.operators`). */
    readonly operators: OperatorKeys,
    /** Keys of the adapters and identity feeds whose signed messages the lifecycle acts on. */
    readonly inputs: SignedInputs,
  ) {
    this.seal = internalSealer(keyring, internalTopics(topics));
    this.refusals = new Refusals({ topics, metrics, logger: logger.child({ component: 'trust' }), raisedBy: `${config.service.name}@${config.service.instanceId}` });
  }

  /** How the processor opens a ticket event: grantline's MAC, or an operator's signature on a manual revoke. */
  ticketEventOpener(): (topic: string, message: MessageBytes) => Opened {
    return ticketEventOpener(this.keyring, this.operators, (id) => {
      const check = checkActivePrincipal(this.documents.current().directory, id);
      return check.ok ? null : check.message;
    });
  }

  /** The lifecycle's check of identity events and fulfillment results: their signatures, the adapter's channel. */
  inputGate(): InputGate {
    const report: InputGate['refuse'] = (topic, partition, message, refused) => this.refusals.report(this.sharedProducer(), 'lifecycle', topic, partition, message, refused);
    return {
      open: (topic, partition, message) => {
        const text = message.value?.toString('utf8') ?? null;
        const opened = topic === this.topics.lifecycle ? this.inputs.identity(text) : this.inputs.fulfillment(text);
        return opened.ok ? opened : { ...opened, reported: report(topic, partition, message, opened) };
      },
      serves: (channel, grantTopic) => channel !== undefined && /^[A-Za-z0-9_-]+$/.test(channel) && this.topics.grants(channel) === grantTopic,
      refuse: report,
    };
  }

  /** The check every reader of `topic` passes a message through before acting on it. */
  gate(topic: string, role: DeadLetterRole): Gate {
    return gate(topic, role, (t, m) => this.keyring.open(t, m), this.refusals, () => this.sharedProducer());
  }

  /**
   * Loads the catalog and directory, keys and connectors. A catalog or directory that is missing,
   * invalid, or names approver groups the directory lacks is a `ConfigError` naming `catalog.path` or
   * `directory.path` and every problem.
   */
  static async create(
    config: GrantlineConfig,
    logger: Logger,
    kafka: Kafka,
    topics: TopicNames,
    registry: Registry,
    /** The connector types this build knows; the service passes `connectors/registry.ts`. */
    connectorTypes: Readonly<Record<string, ConnectorType>>,
  ): Promise<PipelineRuntime> {
    const partitions = config.kafka.partitions;
    const metrics = createPipelineMetrics(registry);
    let documents: PolicyDocuments;
    try {
      documents = await PolicyDocuments.load(
        { catalog: config.catalog.path, directory: config.directory.path },
        {
          onDirectory: directoryConflictReporter(metrics, logger.child({ component: 'directory' })),
          // A catalog that adds a channel takes effect only once the channel's grant topic exists: the
          // processor's transactions would fail on a missing topic. Creating it fails: reload refused.
          prepare: async (next, previous) => {
            const had = new Set(channelsOf(previous));
            const added = channelsOf(next).filter((c) => !had.has(c));
            if (added.length === 0) return;
            const result = await ensureTopics(kafka, added.map((channel) => ({ topic: topics.grants(channel), partitions })));
            logger.info({ channels: added, created: result.created }, 'grant topics ready for the new catalog\'s channels');
          },
        },
      );
    } catch (err) {
      if (err instanceof PolicyDocumentsError) {
        throw new ConfigError('(config)', err.problems.map((p) => ({ path: `${p.document}.path`, problem: describeProblem(p) })));
      }
      throw err;
    }
    const keys = loadSigningKeys(config.signing);
    // Connectors resolve identities through the directory in force at each lookup, not the one at start.
    const directory: PrincipalResolver = {
      resolve: (identity) => documents.current().directory.resolve(identity),
      resolvePerson: (identity, email) => documents.current().directory.resolvePerson(identity, email),
    };
    const connectors = new Map<string, Connector>();
    for (const entry of config.connectors) {
      const type = connectorTypes[entry.type];
      if (!type) throw new Error(`connector ${entry.id}: unknown type ${entry.type}`);
      connectors.set(entry.id, type.create(entry.config as never, { connectorId: entry.id, logger: logger.child({ connector: entry.id }), directory }));
    }
    if (config.trust.internal === undefined) {
      throw new ConfigError('(config)', [{ path: 'trust.internal', problem: 'required to serve: every grantline process holds the internal MAC key (grantline keygen --internal)' }]);
    }
    const keyring = InternalKeyring.load(config.trust.internal);
    const operators = OperatorKeys.load(config.trust.operators);
    const inputs = SignedInputs.load(config.trust.adapters, config.trust.identityFeeds, publicJwks(keys));
    return new PipelineRuntime(config, logger, kafka, topics, documents, keys, connectors, metrics, keyring, operators, inputs);
  }

  /** Grant topics for every channel of the catalog in force (the shared topics come from `grantlineTopicSpecs`). */
  topicSpecs(): TopicSpec[] {
    const partitions = this.config.kafka.partitions;
    return channelsOf(this.documents.current()).map((channel) => ({ topic: this.topics.grants(channel), partitions }));
  }

  jwks(): unknown {
    return publicJwks(this.keys);
  }

  ports(role: string): ProcessorPorts {
    const policyVersion = this.config.policy.version;
    return {
      policy: {
        // Each decision reads the pair in force at that moment, and records exactly those versions.
        decide: (request, now, breakGlassHoldings) => {
          const { catalog, directory } = this.documents.current();
          return decide(request, catalog, directory, now, { policyVersion, breakGlassHoldings });
        },
        versions: () => {
          const { catalog, directory } = this.documents.current();
          return { policyVersion, catalogVersion: catalog.version, directoryVersion: directory.version };
        },
        pending: (request, decision) => {
          const { catalog, directory } = this.documents.current();
          return pendingGrant(request, decision, catalog, directory, directory.document.principals.map((p) => p.id));
        },
      },
      signer: { sign: (body) => sign(body, this.keys) },
      custody: { digest: jsonSha256, chain: (head, draft) => chainEvent(head, draft) },
      topics: this.topics,
      breakGlass: this.breakGlassLedger(),
      decidedBy: `grantline/${GRANTLINE_VERSION} ${role}@${this.config.service.instanceId}`,
      connector: (id) => this.connectors.get(id),
    };
  }

  /**
   * The component that reloads the catalog and directory on change, periodically and on SIGHUP. The
   * same object for every role of the process, so the service starts it (and reloads) once; it needs
   * the shared producer running for its alerts.
   */
  policyReloader(): PolicyReloader {
    this.reloader ??= new PolicyReloader({
      documents: this.documents,
      metrics: this.metrics,
      logger: this.logger.child({ component: 'policy-documents' }),
      publish: (alerts) => publishAlerts(this.sharedProducer(), this.topics.alerts, alerts),
      raisedBy: `${this.config.service.name}@${this.config.service.instanceId}`,
      pollMs: this.config.pipeline.directoryCheckMs,
    });
    return this.reloader;
  }

  /**
   * The view of `grantline.directory.v1` when `scim.enabled` (else null), shared by the roles of
   * this process: what the identity provider said, merged over the directory file as it changes.
   */
  directoryView(): DirectoryView | null {
    if (!this.config.scim.enabled) return null;
    const logger = this.logger.child({ component: 'directory-view' });
    this.directory ??= new DirectoryView(this.kafka, this.topics.directory, logger, this.gate(this.topics.directory, 'directory'), (state) => {
      const report = this.documents.applyScim(state);
      if (report.previous.directory.version !== report.snapshot.directory.version) {
        logger.info({ directoryVersion: report.snapshot.directory.version, previous: report.previous.directory.version, users: state.users.length, groups: state.groups.length }, 'directory changed by SCIM: the new version decides from now on');
      }
      if (report.problems.length > 0) {
        logger.error({ problems: report.problems }, `catalog entries name approver groups the directory no longer has after a SCIM change; nobody can approve them until the catalog or the IdP is fixed:\n${report.problems.map((p) => `  ${describeProblem(p)}`).join('\n')}`);
      }
    });
    return this.directory;
  }

  /** The break-glass holdings of every person (`grantline.break-glass.v1`); the processor role starts it. */
  breakGlassLedger(): BreakGlassLedger {
    this.ledger ??= new BreakGlassLedger(this.topics.breakGlass, this.logger.child({ component: 'break-glass-ledger' }), this.gate(this.topics.breakGlass, 'ledger'));
    return this.ledger;
  }

  /** An idempotent, non-transactional producer shared by ingress, pollers, write-back and lifecycle. */
  sharedProducer(): GrantlineProducer {
    this.producer ??= createProducer(this.kafka, { seal: this.seal });
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

function channelsOf(snapshot: PolicySnapshot): string[] {
  return [...new Set(snapshot.catalog.entries().map((e) => e.channel))];
}

/** The topics only grantline writes, whose messages carry its MAC (docs/security.md). */
export function internalTopics(topics: TopicNames): string[] {
  return [topics.ticketEvents, topics.ticketState, topics.writeback, topics.pollerState, topics.directory, topics.breakGlass, topics.ticketIndex];
}
