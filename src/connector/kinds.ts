import { connectorTypes } from '../../connectors/registry.js';
import type { EvidenceKindSpec, IdentityKindSpec, SourceKinds } from './contract.js';

/**
 * Identity kinds and approval-evidence kinds are registered by the connector that produces them
 * (`ConnectorType.kinds` of a type in `connectors/registry.ts`), not listed in the core: a new source
 * (GitHub logins, review records) declares its own. Config load reports a bad declaration
 * (`kindProblems`). The core registers what it produces itself: the `email` identity every source
 * may give, and the `comment` evidence that is never an approval.
 */

export type { EvidenceKindSpec, IdentityKindSpec, SourceKinds } from './contract.js';

/** Lower-case, digits, `-` and `_`: kinds appear in evidence, custody and schemas. */
export const KIND_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

const CORE_KINDS: SourceKinds = {
  identities: [{ kind: 'email', directoryField: 'email' }],
  evidence: [{ kind: 'comment', structured: false }],
};

interface Tables {
  readonly identities: Map<string, IdentityKindSpec & { owner: string }>;
  readonly evidence: Map<string, EvidenceKindSpec & { owner: string }>;
}
let built: Tables | undefined;

/** The registered kinds: the core's, then every registered connector type's (built on first use). */
function tables(): Tables {
  if (built === undefined) {
    built = { identities: new Map(), evidence: new Map() };
    register(built, 'grantline', CORE_KINDS);
    for (const type of Object.values(connectorTypes)) register(built, `connector type ${type.type}`, type.kinds);
  }
  return built;
}

function register(into: Tables, owner: string, kinds: SourceKinds): void {
  const problems = problemsAgainst(into, owner, kinds);
  if (problems.length > 0) throw new Error(`${owner}: ${problems.join('; ')}`);
  for (const spec of kinds.identities) into.identities.set(spec.kind, { kind: spec.kind, directoryField: spec.directoryField, owner });
  for (const spec of kinds.evidence) into.evidence.set(spec.kind, { kind: spec.kind, structured: spec.structured, owner });
}

/** What is wrong with a declaration, given what is registered; empty when it can be registered. */
export function kindProblems(owner: string, kinds: SourceKinds): string[] {
  return problemsAgainst(tables(), owner, kinds);
}

function problemsAgainst(registered: Tables, owner: string, kinds: SourceKinds): string[] {
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

/** Whether approval evidence of this kind is a structured approval record. An unregistered kind never is. */
export function isStructuredEvidence(kind: string): boolean {
  return tables().evidence.get(kind)?.structured === true;
}

/** The directory field holding identities of this kind, or undefined for a kind nobody registered. */
export function directoryFieldOf(kind: string): string | undefined {
  return tables().identities.get(kind)?.directoryField;
}

/** Everything registered, sorted by kind (for the published schemas and docs). */
export function registeredKinds(): { identities: IdentityKindSpec[]; evidence: EvidenceKindSpec[] } {
  const byKind = (a: { kind: string }, b: { kind: string }) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0);
  return {
    identities: [...tables().identities.values()].map(({ kind, directoryField }) => ({ kind, directoryField })).sort(byKind),
    evidence: [...tables().evidence.values()].map(({ kind, structured }) => ({ kind, structured })).sort(byKind),
  };
}
