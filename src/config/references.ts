import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

/** Where config values come from when they are not written inline. */
export interface ReferenceSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory that `${file:PATH}` paths are relative to (the config file's directory). */
  readonly baseDir: string;
}

/** A reference that could not be resolved, at a path in the raw config tree. */
export interface ReferenceFailure {
  readonly path: readonly (string | number)[];
  readonly problem: string;
}

// `${env:NAME}`, `${env:NAME:-default}`, `${file:PATH}`; `$${` is a literal `${`.
const REFERENCE = /\$\$\{|\$\{(env|file):([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces `${env:…}` and `${file:…}` references in every string of a parsed YAML tree. Returns a
 * new tree and the references that failed; a failed value becomes `undefined` so the schema does
 * not report it a second time. Failure messages name the variable or file, never a value.
 */
export function resolveReferences(tree: unknown, sources: ReferenceSources): { value: unknown; failures: ReferenceFailure[] } {
  const failures: ReferenceFailure[] = [];
  const walk = (node: unknown, path: (string | number)[]): unknown => {
    if (typeof node === 'string') return resolveString(node, path, sources, failures);
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) out[key] = walk(value, [...path, key]);
      return out;
    }
    return node;
  };
  return { value: walk(tree, []), failures };
}

function resolveString(
  text: string,
  path: (string | number)[],
  sources: ReferenceSources,
  failures: ReferenceFailure[],
): string | undefined {
  let failed = false;
  const fail = (problem: string): string => {
    failures.push({ path, problem });
    failed = true;
    return '';
  };
  const out = text.replace(REFERENCE, (match, kind: string | undefined, arg: string) => {
    if (match === '$${') return '${';
    if (kind === 'env') {
      const sep = arg.indexOf(':-');
      const name = sep === -1 ? arg : arg.slice(0, sep);
      const fallback = sep === -1 ? undefined : arg.slice(sep + 2);
      if (!ENV_NAME.test(name)) return fail(`\${env:${name}} is not a valid environment variable name`);
      const value = sources.env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      return fail(`environment variable ${name} is not set`);
    }
    const file = arg.trim();
    if (file === '') return fail('${file:} needs a path');
    const full = isAbsolute(file) ? file : resolve(sources.baseDir, file);
    try {
      // A trailing newline is an artefact of how secret files are written, not part of the secret.
      return readFileSync(full, 'utf8').replace(/[\r\n]+$/, '');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      return fail(`cannot read file ${file} (${code})`);
    }
  });
  return failed ? undefined : out;
}
