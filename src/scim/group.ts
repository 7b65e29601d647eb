import type { ScimGroupRecord, ScimMember } from '../model/index.js';
import { badRequest } from './errors.js';
import type { FilterAttribute } from './filter.js';
import { isObject, keyOf, stringOrNull, unknownAttribute, type ResourceType } from './resource.js';

/** RFC 7643 §4.2 core Group schema. */
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

/** A group being created or changed; becomes a `ScimGroupRecord` once checked. */
export interface GroupDraft {
  displayName: string | null;
  externalId: string | null;
  members: ScimMember[];
}

/** The draft of a group being created. */
export function emptyGroupDraft(): GroupDraft {
  return { displayName: null, externalId: null, members: [] };
}

/** The draft of an existing group, for PATCH (as it is) or PUT (`fresh`: nothing carried over). */
export function groupDraftOf(record: ScimGroupRecord, fresh = false): GroupDraft {
  if (fresh) return emptyGroupDraft();
  return { displayName: record.displayName, externalId: record.externalId, members: record.members.map((m) => ({ ...m })) };
}

const READ_ONLY = new Set(['id', 'meta']);

function membersOf(value: unknown): ScimMember[] {
  if (value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item, i) => {
    if (!isObject(item)) throw badRequest('invalidValue', `members[${i}] must be an object with the member's id as value`);
    const valueKey = keyOf(item, 'value');
    const id = valueKey === undefined ? null : stringOrNull(`members[${i}].value`, item[valueKey]);
    if (id === null || id.trim() === '') throw badRequest('invalidValue', `members[${i}].value must be the member's id`);
    const displayKey = keyOf(item, 'display');
    const display = displayKey === undefined ? null : stringOrNull(`members[${i}].display`, item[displayKey]);
    return display === null ? { value: id } : { value: id, display };
  });
}

/** The Group resource type: a name and members (users, by their SCIM id). */
export const groupType: ResourceType<GroupDraft> = {
  core: GROUP_SCHEMA,
  extensions: [],
  apply(draft, op, path, value, context) {
    if (path.attribute === null) throw badRequest('invalidPath', 'a Group has no extension schemas');
    const name = path.attribute.toLowerCase();
    if (READ_ONLY.has(name)) return;
    if (name === 'members') {
      if (path.sub !== null) throw badRequest('invalidPath', `members.${path.sub} cannot be set; add or remove members`);
      if (path.filter !== null) {
        const { attribute, value: wanted } = path.filter;
        if (attribute.toLowerCase() !== 'value' || typeof wanted !== 'string') throw badRequest('invalidPath', 'members are selected by value: members[value eq "id"]');
        if (op !== 'remove') throw badRequest('invalidPath', 'members[value eq "id"] can only be removed; add members with path "members"');
        // Removing a member that is not there leaves the group as it is (Okta sends such removes).
        draft.members = draft.members.filter((m) => m.value !== wanted);
        return;
      }
      if (op === 'remove') {
        // Entra ID removes members by listing them in `value`; without one, every member goes.
        const drop = value === undefined || value === null ? null : new Set(membersOf(value).map((m) => m.value));
        draft.members = drop === null ? [] : draft.members.filter((m) => !drop.has(m.value));
        return;
      }
      const given = membersOf(value);
      const base = op === 'replace' ? [] : draft.members;
      const out = [...base];
      for (const m of given) if (!out.some((o) => o.value === m.value)) out.push(m);
      draft.members = out;
      return;
    }
    if (path.filter !== null || path.sub !== null) throw badRequest('invalidPath', `${path.attribute} has no sub-attributes`);
    if (name === 'displayname') {
      const text = op === 'remove' ? null : stringOrNull('displayName', value);
      if (text === null || text.trim() === '') throw badRequest(op === 'remove' ? 'mutability' : 'invalidValue', 'displayName is required and must be a non-empty string');
      draft.displayName = text;
      return;
    }
    if (name === 'externalid') {
      draft.externalId = op === 'remove' ? null : stringOrNull('externalId', value);
      return;
    }
    unknownAttribute(context, path.attribute, 'Group');
  },
};

/** What a list of groups may be filtered on (RFC 7643 §4.2: `displayName` is case-insensitive, `externalId` exact). */
export const GROUP_FILTER: readonly FilterAttribute<ScimGroupRecord>[] = [
  { name: 'displayName', caseExact: false, value: (g) => g.displayName },
  { name: 'externalId', caseExact: true, value: (g) => g.externalId },
];

/** The SCIM representation of a stored group. */
export function groupResource(group: ScimGroupRecord): Record<string, unknown> {
  return {
    schemas: [GROUP_SCHEMA],
    id: group.id,
    ...(group.externalId === null ? {} : { externalId: group.externalId }),
    displayName: group.displayName,
    members: group.members.map((m) => ({ ...m, $ref: `/scim/v2/Users/${m.value}` })),
    meta: { resourceType: 'Group', created: group.created, lastModified: group.lastModified, location: `/scim/v2/Groups/${group.id}` },
  };
}
