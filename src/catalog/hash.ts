import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * Content version of a parsed document: `sha256:` + hex SHA-256 of its RFC 8785 canonical JSON.
 * Formatting, comments, key order and `4h` versus `14400` do not change it; any change of meaning does.
 */
export function contentVersion(value: unknown): string {
  const canonical = canonicalize(value);
  if (canonical === undefined) {
    throw new Error('cannot compute a content version of a value that has no JSON form');
  }
  return `sha256:${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
}

/** Freezes a plain JSON-like value and everything inside it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
