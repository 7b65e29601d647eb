import { badRequest } from './errors.js';
import { parsePath, type PatchPath } from './path.js';

/** RFC 7644 §3.5.2 operation names, lower-cased (Entra ID sends `Add`, `Replace`, `Remove`). */
export type PatchOpName = 'add' | 'replace' | 'remove';

/** Where an attribute came from: a PATCH path or key of a PATCH value, or a key of a POST/PUT body. */
export type AttributeContext = 'patch' | 'body';

/** RFC 7644 §3.5.2 PatchOp message schema. */
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** What `applyPatch` and `applyBody` need of a resource type. */
export interface ResourceType<D> {
  /** Its core schema URN. */
  readonly core: string;
  /** The extension schema URNs it knows. */
  readonly extensions: readonly string[];
  /** Applies one operation on one attribute to the draft; throws a `ScimError` for anything it refuses. */
  apply(draft: D, op: PatchOpName, path: PatchPath, value: unknown, context: AttributeContext): void;
}

/** A JSON object (not an array, not null). */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A 400 for an attribute grantline does not know: `invalidPath` in a PATCH, `invalidSyntax` in a body. */
export function unknownAttribute(context: AttributeContext, name: string, resource: string): never {
  throw badRequest(context === 'patch' ? 'invalidPath' : 'invalidSyntax', `${JSON.stringify(name)} is not an attribute of ${resource} that grantline knows (see /scim/v2/Schemas)`);
}

/** A key of an object, matched case-insensitively (SCIM attribute names are, RFC 7643 §2.1). */
export function keyOf(object: Record<string, unknown>, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(object).find((k) => k.toLowerCase() === lower);
}

function schemasOf<D>(type: ResourceType<D>): string[] {
  return [type.core, ...type.extensions];
}

/** Applies every attribute of an object (a POST/PUT body, or the `value` of a PATCH op without a path). */
function applyObject<D>(type: ResourceType<D>, draft: D, op: PatchOpName, object: Record<string, unknown>, context: AttributeContext): void {
  const schemas = schemasOf(type);
  for (const [key, value] of Object.entries(object)) {
    if (context === 'body' && key.toLowerCase() === 'schemas') continue;
    const extension = type.extensions.find((s) => s.toLowerCase() === key.toLowerCase());
    if (extension !== undefined) {
      if (value === null) continue;
      if (!isObject(value)) throw badRequest(context === 'patch' ? 'invalidValue' : 'invalidSyntax', `${key} must be an object of its attributes`);
      for (const [inner, innerValue] of Object.entries(value)) type.apply(draft, op, parseKey(`${extension}:${inner}`, schemas, context), innerValue, context);
      continue;
    }
    type.apply(draft, op, parseKey(key, schemas, context), value, context);
  }
}

function parseKey(key: string, schemas: readonly string[], context: AttributeContext): PatchPath {
  try {
    return parsePath(key, schemas);
  } catch (err) {
    if (context === 'body') throw badRequest('invalidSyntax', `${JSON.stringify(key)} is not an attribute grantline knows`);
    throw err;
  }
}

/** Applies a POST or PUT body to a draft. The body must name the resource's core schema. */
export function applyBody<D>(type: ResourceType<D>, draft: D, body: unknown): void {
  if (!isObject(body)) throw badRequest('invalidSyntax', 'the request body must be a JSON object');
  const schemasKey = keyOf(body, 'schemas');
  const schemas = schemasKey === undefined ? undefined : body[schemasKey];
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === type.core.toLowerCase())) {
    throw badRequest('invalidSyntax', `"schemas" must list ${type.core}`);
  }
  applyObject(type, draft, 'replace', body, 'body');
}

/**
 * Applies a PatchOp body (RFC 7644 §3.5.2) to a draft, operation by operation; any refused
 * operation refuses the whole request (the caller writes nothing). Operation names are matched
 * case-insensitively; `value` may be a string where a boolean is expected (Entra ID's `"False"`).
 */
export function applyPatch<D>(type: ResourceType<D>, draft: D, body: unknown): void {
  if (!isObject(body)) throw badRequest('invalidSyntax', 'the request body must be a JSON object');
  const schemasKey = keyOf(body, 'schemas');
  const schemas = schemasKey === undefined ? undefined : body[schemasKey];
  if (!Array.isArray(schemas) || !schemas.includes(PATCH_OP_SCHEMA)) throw badRequest('invalidSyntax', `"schemas" must list ${PATCH_OP_SCHEMA}`);
  const opsKey = keyOf(body, 'Operations');
  const operations = opsKey === undefined ? undefined : body[opsKey];
  if (!Array.isArray(operations) || operations.length === 0) throw badRequest('invalidSyntax', '"Operations" must be a non-empty array');
  operations.forEach((operation: unknown, index) => {
    if (!isObject(operation)) throw badRequest('invalidSyntax', `Operations[${index}] must be an object`);
    const opKey = keyOf(operation, 'op');
    const raw = opKey === undefined ? undefined : operation[opKey];
    const op = typeof raw === 'string' ? raw.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw badRequest('invalidSyntax', `Operations[${index}].op must be add, replace or remove`);
    const pathKey = keyOf(operation, 'path');
    const path = pathKey === undefined ? undefined : operation[pathKey];
    const valueKey = keyOf(operation, 'value');
    const value = valueKey === undefined ? undefined : operation[valueKey];
    if (path !== undefined && typeof path !== 'string') throw badRequest('invalidPath', `Operations[${index}].path must be a string`);
    if (path === undefined || path.trim() === '') {
      if (op === 'remove') throw badRequest('noTarget', `Operations[${index}]: remove needs a path`);
      if (!isObject(value)) throw badRequest('invalidValue', `Operations[${index}]: without a path, the value must be an object of attributes`);
      applyObject(type, draft, op, value, 'patch');
      return;
    }
    if (op !== 'remove' && value === undefined) throw badRequest('invalidValue', `Operations[${index}]: ${op} needs a value`);
    type.apply(draft, op, parsePath(path, schemasOf(type)), value, 'patch');
  });
}

/** A string attribute value, or null to clear it; anything else is 400 `invalidValue`. */
export function stringOrNull(name: string, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw badRequest('invalidValue', `${name} must be a string`);
  return value;
}

/** A boolean, also from the strings `"True"` and `"False"` in any case (Entra ID sends those). */
export function booleanOf(name: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  throw badRequest('invalidValue', `${name} must be true or false`);
}
