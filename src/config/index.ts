export { ConfigError, formatPath, schemaIssues, type ConfigIssue } from './errors.js';
export { DEFAULT_CONFIG_FILE, loadConfig, parseConfig, readConfigTree, resolveConfigPath, type Env, type ParseConfigOptions } from './load.js';
export { resolveReferences, type ReferenceFailure, type ReferenceSources } from './references.js';
export { configSchema, LogLevel, type ConfigSchemaOptions, type ConnectorInstanceConfig, type GrantlineConfig } from './schema.js';
export { Secret } from '../connector/secret.js';
