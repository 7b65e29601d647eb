import type { ConnectorType, EvidenceKindSpec, IdentityKindSpec, SourceKinds } from './contract.js';

/**
 * Identity kinds and approval-evidence kinds are registered by the connector that produces them
 * (`ConnectorType.kinds`), not listed in the core: a new source (GitHub logins, review records)
 * declares its own. The core registers what it produces itself: the `email` identity every source
 * may give, and the `comment` evidence that is never an approval.
 *
 * The tables come from the connector types a process runs with, never from a registry imported
 * here: config load checks a build's types with `collectKinds` and `kindProblems`, and the service's
 * wiring (`src/service/connector-types.ts`) puts the same types in force once with
 * `registerConnectorKinds`. A lookup before that throws; it never answers from empty tables.
 */

export type { EvidenceKindSpec, IdentityKindSpec, SourceKinds } from './contract.js';

/** Lower-case, digits, `-` and `_`: kinds appear in evidence, custody and schemas. */
export const KIND_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

const CORE_KINDS: SourceKinds = {
  identities: [{ kind: 'email', directoryField: 'email' }],
  evidence: [{ kind: 'comment', structured: false }],
};

/** Every known kind with who registered it (`grantline` or `connector type <id>`). */
export interface KindTables {
  readonly identities: ReadonlyMap<string, IdentityKindSpec & { readonly owner: string }>;
  readonly evidence: ReadonlyMap<string, EvidenceKindSpec & { readonly owner: string }>;
}

interface MutableTables {
  readonly identities: Map<string, IdentityKindSpec & { owner: string }>;
  readonly evidence: Map<string, EvidenceKindSpec & { owner: string }>;
}

const ownerOf = (type: ConnectorType): string => `connector type ${type.type}`;
/** A type built without `defineConnector` may lack its declaration; config load reports that. */
const declaredKinds = (type: ConnectorType): SourceKinds | undefined => (type as Partial<ConnectorType>).kinds;

function add(into: MutableTables, owner: string, kinds: SourceKinds): void {
  for (const spec of kinds.identities) into.identities.set(spec.kind, { kind: spec.kind, directoryField: spec.directoryField, owner });
  for (const spec of kinds.evidence) into.evidence.set(spec.kind, { kind: spec.kind, structured: spec.structured, owner });
}

/**
 * The kinds of these connector types as config load checks them: the core's, then each type's
 * whose declaration has no problem against what came before (`kindProblems` names the others').
 */
export function collectKinds(types: Readonly<Record<string, ConnectorType>>): KindTables {
  const tables: MutableTables = { identities: new Map(), evidence: new Map() };
  add(tables, 'grantline', CORE_KINDS);
  for (const type of Object.values(types)) {
    const kinds = declaredKinds(type);
    if (kinds !== undefined && kindProblems(tables, ownerOf(type), kinds).length === 0) add(tables, ownerOf(type), kinds);
  }
  return tables;
}

/** What is wrong with a declaration, given what is registered; empty when it can be registered. */
export function kindProblems(registered: KindTables, owner: string, kinds: SourceKinds): string[] {
  const problems: string[] = [];
  for (const [list, what, known] of [
    [kinds.identities, 'identity kind', registered.identities],
    [kinds.evidence, 'evidence kind', registered.evidence],
  ] as const) {
    const seen = new Set<string>();
    for (const spec of list) {
      if (!KIND_PATTERN.test(spec.kind)) problems.push(`${what} "${spec.kind}" must match ${String(KIND_PATTERN)}`);
      if (seen.has(spec.kind)) problems.push(`${what} "${spec.kind}" is declared twice`);
      seen.add(spec.kind);
      const other = known.get(spec.kind);
      if (other !== undefined && other.owner !== owner) {
        const same = JSON.stringify({ ...other, owner: undefined }) === JSON.stringify({ ...spec, owner: undefined });
        if (!same) problems.push(`${what} "${spec.kind}" is already registered by ${other.owner} with another meaning`);
      }
    }
  }
  for (const spec of kinds.evidence) {
    if (typeof spec.structured !== 'boolean') problems.push(`evidence kind "${spec.kind}" must say whether it is a structured approval (structured: true or false)`);
  }
  for (const spec of kinds.identities) {
    if (typeof spec.directoryField !== 'string' || spec.directoryField === '') problems.push(`identity kind "${spec.kind}" must name its directory field`);
  }
  return problems;
}

/** The kinds in force in this process and the connector types they came from. */
let registered: { readonly tables: KindTables; readonly types: ReadonlySet<ConnectorType> } | undefined;

const typeNames = (types: Iterable<ConnectorType>): string => [...types].map((t) => t.type).sort().join(', ') || '(none)';

/**
 * Puts the kinds of the connector types this process runs with in force: the core's, then each
 * type's. Called by the service's wiring, once; again with the same types it does nothing. Throws
 * when a type's declaration cannot be registered, and when other types' kinds are in force already:
 * one process has one set of connector types.
 */
export function registerConnectorKinds(types: Readonly<Record<string, ConnectorType>>): void {
  const given = new Set(Object.values(types));
  if (registered !== undefined) {
    const same = registered.types.size === given.size && [...given].every((t) => registered?.types.has(t));
    if (same) return;
    throw new Error(`connector kinds are registered already, from connector types ${typeNames(registered.types)}; they cannot be replaced by those of ${typeNames(given)}`);
  }
  const tables: MutableTables = { identities: new Map(), evidence: new Map() };
  add(tables, 'grantline', CORE_KINDS);
  for (const type of given) {
    const kinds = declaredKinds(type);
    const problems = kinds === undefined ? ['registers no identity or evidence kinds (ConnectorType.kinds)'] : kindProblems(tables, ownerOf(type), kinds);
    if (kinds === undefined || problems.length > 0) throw new Error(`${ownerOf(type)}: ${problems.join('; ')}`);
    add(tables, ownerOf(type), kinds);
  }
  registered = { tables, types: given };
}

function inForce(): KindTables {
  if (registered === undefined) {
    throw new Error(
      'no connector kinds are registered: the service registers those of its connector types at wiring (src/service/connector-types.ts) before any identity is resolved or approval judged',
    );
  }
  return registered.tables;
}

/** Whether approval evidence of this kind is a structured approval record. An unregistered kind never is. */
export function isStructuredEvidence(kind: string): boolean {
  return inForce().evidence.get(kind)?.structured === true;
}

/** The directory field holding identities of this kind, or undefined for a kind nobody registered. */
export function directoryFieldOf(kind: string): string | undefined {
  return inForce().identities.get(kind)?.directoryField;
}

/** Everything registered, sorted by kind (for the published schemas and docs). */
export function registeredKinds(): { identities: IdentityKindSpec[]; evidence: EvidenceKindSpec[] } {
  const tables = inForce();
  const byKind = (a: { kind: string }, b: { kind: string }) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0);
  return {
    identities: [...tables.identities.values()].map(({ kind, directoryField }) => ({ kind, directoryField })).sort(byKind),
    evidence: [...tables.evidence.values()].map(({ kind, structured }) => ({ kind, structured })).sort(byKind),
  };
}
