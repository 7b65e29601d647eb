import type { z } from 'zod';
import { NonRetriableError } from '../connector/errors.js';

/** One problem in a catalog or directory document, with the path to the offending field. */
export interface DocumentIssue {
  /** Dotted path such as `entitlements[2].ttl.maxSeconds`; empty for the document itself. */
  readonly path: string;
  readonly message: string;
}

/**
 * A catalog or directory document that cannot be used. Carries every issue, not only the first, so
 * whoever edits the YAML fixes it in one round. Retrying cannot help.
 */
export class InvalidDocumentError extends NonRetriableError {
  readonly document: string;
  readonly issues: readonly DocumentIssue[];
  constructor(document: string, issues: readonly DocumentIssue[], options: { cause?: unknown } = {}) {
    const lines = issues.map((issue) => `  - ${issue.path === '' ? '(document)' : issue.path}: ${issue.message}`);
    super(`${document} is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, options);
    this.document = document;
    this.issues = issues;
  }
}

/** Formats a zod path as `a.b[2].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Every issue of a zod error, with its path. */
export function issuesFromZod(error: z.ZodError): DocumentIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}
