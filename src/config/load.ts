import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument, type YAMLError } from 'yaml';
import type { ConnectorType } from '../connector/contract.js';
import { ConfigError, formatPath, schemaIssues, type ConfigIssue } from './errors.js';
import { resolveReferences } from './references.js';
import { configSchema, type GrantlineConfig } from './schema.js';

/** Environment variables, as `process.env` has them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Default config file when neither `--config` nor `GRANTLINE_CONFIG` names one. */
export const DEFAULT_CONFIG_FILE = 'grantline.yaml';

/** `--config PATH`, else `GRANTLINE_CONFIG`, else `./grantline.yaml`; resolved against `cwd`. */
export function resolveConfigPath(flag: string | undefined, env: Env = process.env, cwd: string = process.cwd()): string {
  const chosen = flag ?? (env.GRANTLINE_CONFIG !== undefined && env.GRANTLINE_CONFIG !== '' ? env.GRANTLINE_CONFIG : DEFAULT_CONFIG_FILE);
  return resolve(cwd, chosen);
}

export interface ParseConfigOptions {
  /** Directory `${file:…}` references and relative paths are resolved against. */
  readonly baseDir: string;
  readonly env?: Env;
  /** Name shown in the error message. */
  readonly source?: string;
  /** The connector types of this build (`ConfigSchemaOptions.connectorTypes`). */
  readonly connectorTypes: Readonly<Record<string, ConnectorType>>;
  readonly hostname?: string;
}

/**
 * Validates an already-parsed YAML tree: resolves `${env:}`/`${file:}` references, applies the
 * `KAFKA_BROKERS` override, and checks everything with one schema. Throws one `ConfigError`
 * listing every bad field.
 */
export function parseConfig(raw: unknown, options: ParseConfigOptions): GrantlineConfig {
  const env = options.env ?? process.env;
  const source = options.source ?? '(config)';
  const { value, failures } = resolveReferences(raw ?? {}, { env, baseDir: options.baseDir });
  const tree = withBrokerOverride(value, env);

  const issues: ConfigIssue[] = failures.map((f) => ({ path: formatPath(f.path), problem: f.problem }));
  const result = configSchema(options).safeParse(tree);
  if (result.success && issues.length === 0) return result.data;
  if (!result.success) issues.push(...schemaIssues(result.error.issues, issues.map((i) => i.path)));
  throw new ConfigError(source, issues);
}

/**
 * Reads, parses and validates a config file against the build's connector types. `env` is a
 * parameter so tests pass their own map.
 * Throws `ConfigError` for an unreadable file, bad YAML and every invalid field.
 */
export function loadConfig(path: string, env: Env, options: Omit<ParseConfigOptions, 'baseDir' | 'env' | 'source'>): GrantlineConfig {
  return parseConfig(readConfigTree(path), { ...options, baseDir: dirname(resolve(path)), env, source: path });
}

/**
 * Reads a YAML config file into a plain tree, not yet validated (grantline's config, an adapter's).
 * Throws `ConfigError` for an unreadable file or bad YAML, without quoting the file's content.
 */
export function readConfigTree(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(path, [{ path: '(file)', problem: `cannot read config file (${code})` }]);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigError(path, yamlIssues(doc.errors));
  return doc.toJS();
}

const MAX_YAML_ISSUES = 10;

/**
 * Syntax errors by kind and position only: the parser's messages quote the offending token, which
 * may be an inline secret. One broken line can cascade into many errors, so only the first few count.
 */
function yamlIssues(errors: readonly YAMLError[]): ConfigIssue[] {
  const issues = errors.slice(0, MAX_YAML_ISSUES).map((e) => {
    const kind = e.code.toLowerCase().replace(/_/g, ' ');
    const at = e.linePos?.[0];
    return { path: '(yaml)', problem: at ? `${kind} at line ${at.line}, column ${at.col}` : kind };
  });
  if (errors.length > MAX_YAML_ISSUES) issues.push({ path: '(yaml)', problem: `and ${errors.length - MAX_YAML_ISSUES} more syntax errors` });
  return issues;
}

function withBrokerOverride(tree: unknown, env: Env): unknown {
  const brokers = env.KAFKA_BROKERS;
  if (brokers === undefined || brokers.trim() === '') return tree;
  const list = brokers.split(',').map((b) => b.trim()).filter((b) => b !== '');
  const root = tree !== null && typeof tree === 'object' && !Array.isArray(tree) ? (tree as Record<string, unknown>) : {};
  const kafka = root.kafka !== null && typeof root.kafka === 'object' && !Array.isArray(root.kafka) ? (root.kafka as Record<string, unknown>) : {};
  return { ...root, kafka: { ...kafka, brokers: list } };
}

