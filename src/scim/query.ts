import { badRequest } from './errors.js';
import { listResponse, MAX_RESULTS } from './discovery.js';
import { matches, parseFilter, type FilterAttribute } from './filter.js';

/** The query parameters of a GET (RFC 7644 §3.4.2), as the HTTP layer received them. */
export interface ScimQuery {
  readonly filter?: unknown;
  readonly startIndex?: unknown;
  readonly count?: unknown;
  readonly attributes?: unknown;
  readonly excludedAttributes?: unknown;
}

function single(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest('invalidValue', `${name} must be given once`);
  return value;
}

function integerParam(name: string, value: unknown, fallback: number): number {
  const text = single(name, value);
  if (text === undefined || text.trim() === '') return fallback;
  if (!/^\s*-?\d+\s*$/.test(text)) throw badRequest('invalidValue', `${name} must be a whole number`);
  return Number(text);
}

function names(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
}

/**
 * RFC 7644 §3.4.2.5 `attributes` and `excludedAttributes`, by top-level attribute (a sub-attribute
 * or a schema-qualified name counts as its attribute; an extension URN as its whole extension).
 * `id` and `schemas` are always returned. Entra ID asks for groups with `excludedAttributes=members`.
 */
export function project(resource: Record<string, unknown>, query: ScimQuery, core: string): Record<string, unknown> {
  const topLevel = (name: string): string => {
    const unqualified = name.startsWith(`${core.toLowerCase()}:`) ? name.slice(core.length + 1) : name;
    if (unqualified.startsWith('urn:')) {
      const key = Object.keys(resource).find((k) => unqualified === k.toLowerCase() || unqualified.startsWith(`${k.toLowerCase()}:`));
      return key?.toLowerCase() ?? unqualified;
    }
    return unqualified.split('.')[0] as string;
  };
  const wanted = names(single('attributes', query.attributes)).map(topLevel);
  const excluded = new Set(names(single('excludedAttributes', query.excludedAttributes)).map(topLevel));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    const lower = key.toLowerCase();
    const always = lower === 'id' || lower === 'schemas';
    if (!always && wanted.length > 0 && !wanted.includes(lower)) continue;
    if (!always && excluded.has(lower)) continue;
    out[key] = value;
  }
  return out;
}

/**
 * A list answer: the records the filter selects, in a stable order (creation, then id: Okta pages
 * with `startIndex` and needs the same order on every page), from `startIndex` (1-based; below 1
 * counts as 1) at most `count` of them (default and cap `MAX_RESULTS`; below 0 counts as 0).
 */
export function listOf<R extends { id: string; created: string }>(
  records: readonly R[],
  query: ScimQuery,
  filterAttributes: readonly FilterAttribute<R>[],
  core: string,
  toResource: (record: R) => Record<string, unknown>,
): Record<string, unknown> {
  const filter = parseFilter(single('filter', query.filter) ?? '', filterAttributes, core);
  const startIndex = Math.max(1, integerParam('startIndex', query.startIndex, 1));
  const count = Math.min(MAX_RESULTS, Math.max(0, integerParam('count', query.count, MAX_RESULTS)));
  const selected = records.filter((r) => matches(r, filter)).sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  const page = selected.slice(startIndex - 1, startIndex - 1 + count).map((r) => project(toResource(r), query, core));
  return listResponse(page, selected.length, startIndex);
}
