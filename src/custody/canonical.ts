import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JSON Canonicalization Scheme) text of a JSON value: object keys sorted by UTF-16 code
 * units, no whitespace, numbers in ECMAScript shortest form (`1e+30`, `-0` → `0`), strings escaped
 * as `JSON.stringify` does.
 *
 * Object members whose value is `undefined` are omitted, exactly as `JSON.stringify` omits them, so
 * the canonical text of an object equals the canonical text of its serialized-and-parsed copy.
 *
 * @throws Error when the value has no JSON representation: `undefined`, a function or a symbol at
 *   the top level, `NaN` or `±Infinity` anywhere, a lone UTF-16 surrogate, a circular reference,
 *   or a `bigint`.
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (err) {
    throw new Error(`value cannot be canonicalized as RFC 8785 JSON: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (text === undefined) {
    throw new Error(`value cannot be canonicalized as RFC 8785 JSON: a top-level ${typeof value} has no JSON representation`);
  }
  return text;
}

/** Lowercase hex SHA-256 of bytes, or of a string's UTF-8 encoding. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 hex of a value's RFC 8785 canonical JSON: the digest custody records for any JSON value. */
export function jsonSha256(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
