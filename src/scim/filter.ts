import { badRequest } from './errors.js';

/** An attribute a list may be filtered on, and how its values compare (RFC 7643 `caseExact`). */
export interface FilterAttribute<R> {
  readonly name: string;
  readonly caseExact: boolean;
  value(resource: R): string | null;
}

/** One `attribute eq "value"` of a filter. */
export interface FilterClause<R> {
  readonly attribute: FilterAttribute<R>;
  readonly value: string;
}

/** A parsed filter: every clause must hold (`and`). */
export type Filter<R> = readonly FilterClause<R>[];

const SUPPORTED = 'grantline supports `ATTRIBUTE eq "value"`, joined by `and`';

/**
 * Parses the `filter` query parameter (RFC 7644 §3.4.2.2), only as far as identity providers use
 * it to find a resource before creating it: `attribute eq "string"` clauses joined by `and`, the
 * attribute one of `attributes` (case-insensitive, optionally prefixed by `schema:`). Anything
 * else (`or`, `not`, parentheses, `[...]`, other operators, an unquoted value, an unknown
 * attribute) is a 400 `invalidFilter` naming what is wrong. Empty or blank: no filter.
 */
export function parseFilter<R>(text: string, attributes: readonly FilterAttribute<R>[], schema: string): Filter<R> {
  const clauses: FilterClause<R>[] = [];
  let at = 0;
  const fail = (what: string): never => {
    throw badRequest('invalidFilter', `filter ${JSON.stringify(text)}: ${what} at character ${at + 1}; ${SUPPORTED} (attributes: ${attributes.map((a) => a.name).join(', ')})`);
  };
  const skipSpace = (required: boolean): void => {
    const start = at;
    while (at < text.length && (text[at] === ' ' || text[at] === '\t')) at += 1;
    if (required && at === start && at < text.length) fail('expected a space');
  };
  const word = (): string => {
    const start = at;
    while (at < text.length && /[A-Za-z0-9:._$-]/.test(text[at] as string)) at += 1;
    return text.slice(start, at);
  };

  skipSpace(false);
  if (at === text.length) return [];
  for (;;) {
    const start = at;
    const path = word();
    if (path === '') fail(text[at] === '(' ? 'grouping with parentheses is not supported' : 'expected an attribute name');
    if (text[at] === '[') fail('value filters (`attribute[...]`) are not supported');
    const attribute = attributeOf(path, attributes, schema);
    if (attribute === undefined) {
      at = start;
      if (path.toLowerCase() === 'not') fail('`not` is not supported');
      fail(`unknown attribute ${JSON.stringify(path)}`);
    }
    skipSpace(true);
    const opAt = at;
    const op = word();
    if (op.toLowerCase() !== 'eq') {
      at = opAt;
      fail(op === '' ? 'expected the operator `eq`' : `the operator ${JSON.stringify(op)} is not supported`);
    }
    skipSpace(true);
    if (text[at] !== '"') fail('expected a quoted string value');
    const value = readString(text, at, fail);
    at = value.end;
    clauses.push({ attribute: attribute as FilterAttribute<R>, value: value.value });
    skipSpace(false);
    if (at === text.length) return clauses;
    const joinAt = at;
    const join = word();
    if (join.toLowerCase() !== 'and') {
      at = joinAt;
      fail(join.toLowerCase() === 'or' ? '`or` is not supported' : 'expected `and` or the end of the filter');
    }
    skipSpace(true);
  }
}

function attributeOf<R>(path: string, attributes: readonly FilterAttribute<R>[], schema: string): FilterAttribute<R> | undefined {
  const lower = path.toLowerCase();
  const prefix = `${schema.toLowerCase()}:`;
  const name = lower.startsWith(prefix) ? lower.slice(prefix.length) : lower;
  return attributes.find((a) => a.name.toLowerCase() === name);
}

/** A JSON string literal starting at `start` (a `"`): its value and the index after its closing quote. */
function readString(text: string, start: number, fail: (what: string) => never): { value: string; end: number } {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  if (i >= text.length) fail('the string value is not closed');
  try {
    return { value: JSON.parse(text.slice(start, i + 1)) as string, end: i + 1 };
  } catch {
    return fail('the string value has an invalid escape');
  }
}

/** Whether a resource satisfies every clause. */
export function matches<R>(resource: R, filter: Filter<R>): boolean {
  return filter.every(({ attribute, value }) => {
    const actual = attribute.value(resource);
    if (actual === null) return false;
    return attribute.caseExact ? actual === value : actual.toLowerCase() === value.toLowerCase();
  });
}
