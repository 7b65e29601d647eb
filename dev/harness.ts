/**
 * Starts a whole grantline stack in this process for tests, the quick-start demo and benchmarks:
 * the Jira and ServiceNow stubs (unless given) and grantline itself, configured from
 * `examples/grantline.yaml` with the stubs' URLs, a broker list, a topic prefix and any pipeline
 * settings put in place of the example's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseConfig, type GrantlineConfig } from '../src/config/index.js';
import { createLogger, type Logger } from '../src/log/index.js';
import { wiredConnectorTypes } from '../src/service/connector-types.js';
import { ROLE_NAMES, type RoleName } from '../src/service/roles.js';
import type { Service } from '../src/service/service.js';
import { buildService } from '../src/service/wiring.js';
import { startJiraStub, type JiraStub } from './stubs/jira-stub.js';
import { startJsonWebhookStub, type JsonWebhookStub } from './stubs/json-webhook-stub.js';
import { startServiceNowStub, type ServiceNowStub } from './stubs/servicenow-stub.js';

const EXAMPLES = resolve(dirname(fileURLToPath(import.meta.url)), '../examples');

export interface Stubs {
  readonly jira: JiraStub;
  readonly servicenow: ServiceNowStub;
  /** The generic JSON source of the `json-webhook` connector. */
  readonly json: JsonWebhookStub;
  close(): Promise<void>;
}

/** Starts the stubs of the example's connectors on free ports (or the given ones). */
export async function startStubs(ports: { jira?: number; servicenow?: number; json?: number } = {}): Promise<Stubs> {
  const jira = await startJiraStub({ port: ports.jira ?? 0 });
  const servicenow = await startServiceNowStub({ port: ports.servicenow ?? 0 });
  const json = await startJsonWebhookStub({ port: ports.json ?? 0 });
  return {
    jira,
    servicenow,
    json,
    close: async () => {
      await Promise.all([jira.close(), servicenow.close(), json.close()]);
    },
  };
}

export interface StackOptions {
  readonly brokers: string;
  readonly topicPrefix?: string;
  readonly roles?: readonly RoleName[];
  /** Merged over the example's `pipeline:` section. */
  readonly pipeline?: Record<string, unknown>;
  readonly stubs: Stubs;
  readonly httpPort?: number;
  /** Default: `GRANTLINE_TEST_LOG_LEVEL`, else `fatal` (tests stay quiet; routine kafkajs retries log below error anyway). */
  readonly logLevel?: string;
  readonly instanceId?: string;
  /** Last chance to change the raw config tree (before validation). */
  readonly edit?: (tree: Record<string, unknown>) => void;
  /** The clock the pipeline decides by (expiry, overdue checks); default the wall clock. */
  readonly clock?: () => Date;
  /** Fulfillment adapters whose signed results grantline acts on (`trust.adapters`, added to the example's). */
  readonly adapters?: readonly { channel: string; kid: string; publicKeyPem: string }[];
}

export interface Stack {
  readonly config: GrantlineConfig;
  readonly logger: Logger;
  readonly service: Service;
  /** Base URL of grantline's HTTP server. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * The example config tree pointed at the given stubs and broker, with every path made absolute so
 * the tree can also be written to a file anywhere (`writeStackConfig`).
 */
export function stackTree(options: StackOptions): Record<string, unknown> {
  const text = readFileSync(resolve(EXAMPLES, 'grantline.yaml'), 'utf8').replace(/\$\{file:(?!\/)([^}]+)\}/g, (_m, p: string) => `\${file:${resolve(EXAMPLES, p)}}`);
  const tree = parseYaml(text) as Record<string, Record<string, unknown>>;
  tree.kafka = { ...tree.kafka, brokers: options.brokers.split(','), topicPrefix: options.topicPrefix ?? '' };
  tree.http = { ...tree.http, port: options.httpPort ?? 0 };
  tree.log = { level: options.logLevel ?? process.env.GRANTLINE_TEST_LOG_LEVEL ?? 'fatal' };
  tree.service = { ...tree.service, instanceId: options.instanceId ?? 'harness' };
  tree.pipeline = { ...tree.pipeline, ...options.pipeline };
  tree.catalog = { path: resolve(EXAMPLES, String(tree.catalog?.path)) };
  tree.directory = { path: resolve(EXAMPLES, String(tree.directory?.path)) };
  for (const c of tree.connectors as unknown as Record<string, unknown>[]) {
    if (c.type === 'jira') c.baseUrl = options.stubs.jira.baseUrl;
    if (c.type === 'servicenow') c.instanceUrl = options.stubs.servicenow.baseUrl;
    if (c.type === 'json-webhook') c.baseUrl = options.stubs.json.baseUrl;
  }
  if (options.adapters !== undefined) {
    const trust = tree.trust ?? {};
    tree.trust = { ...trust, adapters: [...((trust.adapters as unknown[] | undefined) ?? []), ...options.adapters] };
  }
  options.edit?.(tree);
  return tree;
}

/** The example config as grantline would load it, pointed at the given stubs and broker. */
export function stackConfig(options: StackOptions): GrantlineConfig {
  const env = { ...process.env };
  delete env.KAFKA_BROKERS; // the brokers given here win
  return parseConfig(stackTree(options), { baseDir: EXAMPLES, env, source: 'examples/grantline.yaml (harness)', connectorTypes: wiredConnectorTypes() });
}

/** Writes the stack's config as a YAML file, for running `grantline serve --config FILE` as a process. */
export function writeStackConfig(options: StackOptions, file: string): void {
  writeFileSync(file, stringifyYaml(stackTree(options)));
}

/** Starts grantline in this process with the selected roles (default: all). */
export async function startStack(options: StackOptions): Promise<Stack> {
  const config = stackConfig(options);
  const logger = createLogger(config);
  const built = await buildService(config, logger, options.roles ?? [...ROLE_NAMES], undefined, options.clock ? { clock: options.clock } : {});
  await built.service.start();
  const http = built.http();
  if (!http) throw new Error('grantline started without an HTTP server');
  return {
    config,
    logger,
    service: built.service,
    url: http.url,
    stop: async () => {
      await built.service.stop();
    },
  };
}
