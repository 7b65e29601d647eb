/** One bad config field: where it is (`kafka.brokers[0]`) and what is wrong with it. Never the value. */
export interface ConfigIssue {
  readonly path: string;
  readonly problem: string;
}

/**
 * Every problem found in a config file, reported at once. The message lists each bad field as
 * `path: problem`; it names environment variables and files but never a resolved value.
 */
export class ConfigError extends Error {
  readonly file: string;
  readonly issues: readonly ConfigIssue[];
  constructor(file: string, issues: readonly ConfigIssue[]) {
    const lines = issues.map((i) => `  ${i.path}: ${i.problem}`);
    super([`invalid config ${file} (${issues.length} problem${issues.length === 1 ? '' : 's'}):`, ...lines].join('\n'));
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

/** `['connectors', 1, 'webhookSecret']` → `connectors[1].webhookSecret`; the root is `(root)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * zod's issues as config issues: each unknown field on its own path, `required` for a missing
 * one. Fields under `reported` (whose `${env:}`/`${file:}` reference already failed) are left out,
 * since "expected a string" would only repeat that.
 */
export function schemaIssues(issues: readonly { code: string; path: readonly PropertyKey[]; message: string; keys?: readonly string[] }[], reported: readonly string[] = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys ?? []) out.push({ path: formatPath([...issue.path, key]), problem: 'unknown field' });
      continue;
    }
    const path = formatPath(issue.path);
    if (reported.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`))) continue;
    out.push({ path, problem: issue.message.endsWith('received undefined') ? 'required' : issue.message });
  }
  return out;
}
