import { badRequest } from './errors.js';

/** A value filter inside a PATCH path: `emails[type eq "work"]`, `members[value eq "id"]`. */
export interface ValueFilter {
  readonly attribute: string;
  readonly value: string | boolean;
}

/**
 * A PATCH `path` (RFC 7644 §3.5.2), as far as identity providers send them: `attr`, `attr.sub`,
 * `attr[sub eq "v"]`, `attr[sub eq "v"].sub`, each optionally after a schema URN and `:`, or a
 * schema URN alone (the whole extension). Names are kept as written; matching them to the schema
 * is the resource's business.
 */
export interface PatchPath {
  /** The schema URN the path names (lower-cased), or null when it names none. */
  readonly schema: string | null;
  /** Null when the path is an extension URN alone. */
  readonly attribute: string | null;
  readonly filter: ValueFilter | null;
  readonly sub: string | null;
}

const NAME = /^[A-Za-z$][A-Za-z0-9_$-]*$/;

/** Parses a PATCH path. `schemas` are the URNs the resource knows; anything malformed is 400 `invalidPath`. */
export function parsePath(path: string, schemas: readonly string[]): PatchPath {
  const bad = (why: string): never => {
    throw badRequest('invalidPath', `path ${JSON.stringify(path)}: ${why}`);
  };
  const trimmed = path.trim();
  if (trimmed === '') bad('it is empty');
  let schema: string | null = null;
  let rest = trimmed;
  if (/^urn:/i.test(trimmed)) {
    const lower = trimmed.toLowerCase();
    // The longest known URN that the path is, or starts with followed by `:`.
    const known = [...schemas].sort((a, b) => b.length - a.length).find((s) => lower === s.toLowerCase() || lower.startsWith(`${s.toLowerCase()}:`));
    if (known === undefined) bad('it names a schema grantline does not know');
    schema = (known as string).toLowerCase();
    if (lower === schema) return { schema, attribute: null, filter: null, sub: null };
    rest = trimmed.slice(schema.length + 1);
  }
  const open = rest.indexOf('[');
  let head = rest;
  let filter: ValueFilter | null = null;
  let tail = '';
  if (open >= 0) {
    const close = rest.indexOf(']', open);
    if (close < 0) bad('`[` is not closed');
    head = rest.slice(0, open);
    filter = parseValueFilter(rest.slice(open + 1, close), bad);
    tail = rest.slice(close + 1);
    if (tail !== '' && !tail.startsWith('.')) bad('expected `.` or the end after `]`');
    tail = tail.slice(1);
  } else {
    const dot = rest.indexOf('.');
    if (dot >= 0) {
      head = rest.slice(0, dot);
      tail = rest.slice(dot + 1);
    }
  }
  if (!NAME.test(head)) bad(`${JSON.stringify(head)} is not an attribute name`);
  if (tail !== '' && !NAME.test(tail)) bad(`${JSON.stringify(tail)} is not a sub-attribute name`);
  return { schema, attribute: head, filter, sub: tail === '' ? null : tail };
}

function parseValueFilter(text: string, bad: (why: string) => never): ValueFilter {
  const m = /^\s*([A-Za-z$][A-Za-z0-9_$-]*)\s+eq\s+(.+?)\s*$/i.exec(text);
  if (m === null) return bad('only `[sub-attribute eq value]` filters are supported');
  const [, attribute, raw] = m as unknown as [string, string, string];
  if (raw === 'true' || raw === 'false') return { attribute, value: raw === 'true' };
  if (!raw.startsWith('"')) return bad('the filter value must be a quoted string, true or false');
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value === 'string') return { attribute, value };
  } catch {
    // reported below
  }
  return bad('the filter value is not a valid string');
}
