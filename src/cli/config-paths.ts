import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Config file read for defaults when `--config` is not given and the file exists. */
export const DEFAULT_CONFIG_PATH = 'examples/grantline.yaml';
export const DEFAULT_CATALOG_PATH = 'examples/catalog.yaml';
export const DEFAULT_DIRECTORY_PATH = 'examples/directory.yaml';

/** Bad input to a command that reads files: reported with exit status 2. */
export class InputError extends Error {}

/** Reads a text file; a missing or unreadable one is an `InputError` naming it and the error code. */
export async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read ${what} ${path}${code === undefined ? '' : ` (${code})`}`);
  }
}

export interface ConfigDefaults {
  catalogPath?: string;
  directoryPath?: string;
  policyVersion?: string;
  scimEnabled?: boolean;
}

/**
 * Reads only `catalog.path`, `directory.path`, `policy.version` and `scim.enabled` from a grantline
 * config, so commands that work on the policy files need none of the secrets the full config
 * references. Relative paths are resolved against the config file's directory, as the config loader
 * does.
 */
export async function readConfigDefaults(path: string): Promise<ConfigDefaults> {
  let doc: unknown;
  try {
    doc = parseYaml(await readText(path, 'config'));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`config ${path} is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const section = (name: string): Record<string, unknown> | undefined => {
    if (doc === null || typeof doc !== 'object') return undefined;
    const value = (doc as Record<string, unknown>)[name];
    return value === null || typeof value !== 'object' ? undefined : (value as Record<string, unknown>);
  };
  const pick = (name: string, key: string): string | undefined => {
    const inner = section(name)?.[key];
    return typeof inner === 'string' && inner.trim() !== '' ? inner.trim() : undefined;
  };
  const base = dirname(path);
  const file = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(base, p));
  return {
    catalogPath: file(pick('catalog', 'path')),
    directoryPath: file(pick('directory', 'path')),
    policyVersion: pick('policy', 'version'),
    scimEnabled: section('scim')?.enabled === true,
  };
}
