import type { ScimUserRecord } from '../model/index.js';
import { IDENTITY_FIELDS, type NonHumanIdentity } from './directory.js';
import type { DirectoryConflict, FactSource, MergedDirectory, PrincipalField } from './merge.js';

/** One fact grantline holds about someone, and where it came from. */
export interface Fact {
  readonly field: string;
  readonly value: string | boolean | null;
  readonly source: FactSource;
}

/** What grantline knows of one id of the directory in force, fact by fact, with sources. */
export type Explanation =
  | {
      readonly kind: 'principal';
      readonly id: string;
      readonly facts: readonly Fact[];
      readonly groups: readonly { readonly name: string; readonly source: FactSource }[];
      /** NHIs this person owns (from the file). */
      readonly owns: readonly NonHumanIdentity[];
      /** The SCIM user this person is, when the IdP provisioned them. */
      readonly scim: Pick<ScimUserRecord, 'id' | 'userName' | 'externalId' | 'deleted' | 'lastModified'> | null;
      readonly conflicts: readonly DirectoryConflict[];
      readonly directoryVersion: string;
    }
  | {
      readonly kind: 'nhi';
      readonly id: string;
      readonly nhi: NonHumanIdentity;
      readonly ownerActive: boolean | null;
      readonly conflicts: readonly DirectoryConflict[];
      readonly directoryVersion: string;
    }
  | { readonly kind: 'unknown'; readonly id: string; readonly directoryVersion: string };

/** Explains a principal or NHI id of the directory in force. Pure. */
export function explain(directory: MergedDirectory, id: string): Explanation {
  const conflicts = directory.conflicts.filter((c) => c.subject === id);
  const principal = directory.principal(id);
  if (principal !== null) {
    const sources = directory.principalSources.get(id) ?? {};
    const source = (field: PrincipalField): FactSource => sources[field] ?? 'file';
    const facts: Fact[] = [
      { field: 'displayName', value: principal.displayName, source: source('displayName') },
      { field: 'active', value: principal.active, source: source('active') },
      { field: 'manager', value: principal.manager, source: source('manager') },
    ];
    for (const f of IDENTITY_FIELDS) {
      const value = principal.identities[f];
      if (value !== undefined) facts.push({ field: f, value, source: source(`identities.${f}`) });
    }
    const groups = Object.keys(directory.document.groups)
      .filter((g) => directory.isMember(id, g))
      .sort()
      .map((name) => ({ name, source: directory.groupSources.get(name) ?? ('file' as const) }));
    const user = directory.scimUsers.get(id);
    return {
      kind: 'principal',
      id,
      facts,
      groups,
      owns: directory.document.nhis.filter((n) => n.owner === id),
      scim: user === undefined ? null : { id: user.id, userName: user.userName, externalId: user.externalId, deleted: user.deleted, lastModified: user.lastModified },
      conflicts,
      directoryVersion: directory.version,
    };
  }
  const nhi = directory.nhi(id);
  if (nhi !== null) {
    const owner = nhi.owner === null ? null : directory.principal(nhi.owner);
    return { kind: 'nhi', id, nhi, ownerActive: owner === null ? null : owner.active, conflicts, directoryVersion: directory.version };
  }
  return { kind: 'unknown', id, directoryVersion: directory.version };
}
