import type { ScimEmail, ScimName, ScimTicketingIdentities, ScimUserRecord } from '../model/index.js';
import { badRequest } from './errors.js';
import type { FilterAttribute } from './filter.js';
import type { PatchPath } from './path.js';
import { booleanOf, isObject, keyOf, stringOrNull, unknownAttribute, type AttributeContext, type PatchOpName, type ResourceType } from './resource.js';

/** RFC 7643 §4.1 core User schema. */
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
/** RFC 7643 §4.3 enterprise User extension (grantline keeps `manager`). */
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** grantline's extension: the principal id and the person's ticketing accounts, mapped by the IdP admin. */
export const GRANTLINE_USER_SCHEMA = 'urn:grantline:scim:schemas:extension:2.0:User';

/** A user being created or changed; becomes a `ScimUserRecord` once checked. */
export interface UserDraft {
  userName: string | null;
  displayName: string | null;
  externalId: string | null;
  /** Null: not given (a PUT without `active` keeps the value it had; a POST means true). */
  active: boolean | null;
  name: ScimName | null;
  emails: ScimEmail[];
  manager: string | null;
  identities: ScimTicketingIdentities;
  /** grantline extension `principalId`: asked for at creation; afterwards it may only be repeated. */
  principalId: string | null;
}

/** The draft of a user being created. */
export function emptyUserDraft(): UserDraft {
  return { userName: null, displayName: null, externalId: null, active: null, name: null, emails: [], manager: null, identities: {}, principalId: null };
}

/** The draft of an existing user, for PATCH (everything as it is) or PUT (`fresh`: only `active` and `principalId` carried over). */
export function userDraftOf(record: ScimUserRecord, fresh = false): UserDraft {
  if (fresh) return { ...emptyUserDraft(), active: record.active, principalId: record.principalId };
  return {
    userName: record.userName,
    displayName: record.displayName,
    externalId: record.externalId,
    active: record.active,
    name: record.name === null ? null : { ...record.name },
    emails: record.emails.map((e) => ({ ...e })),
    manager: record.manager,
    identities: { ...record.identities },
    principalId: record.principalId,
  };
}

// Attributes of RFC 7643 §4.1 and §4.3 grantline accepts and does not keep: an IdP's default
// mappings send them, and refusing them would stop provisioning for nothing grantline uses.
const IGNORED_CORE = new Set(['nickname', 'profileurl', 'title', 'usertype', 'preferredlanguage', 'locale', 'timezone', 'password', 'phonenumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509certificates']);
const IGNORED_ENTERPRISE = new Set(['employeenumber', 'costcenter', 'organization', 'division', 'department']);
// Assigned by the service provider; RFC 7644 §3.3 says a client's values for them are ignored.
const READ_ONLY = new Set(['id', 'meta', 'groups']);
const NAME_SUBS = ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'] as const;
const TICKETING = ['jiraAccountId', 'jiraUsername', 'jiraUserKey', 'servicenowSysId'] as const;
const SYS_ID = /^[0-9a-fA-F]{32}$/;

type Where = 'core' | 'enterprise' | 'grantline';

function locate(path: PatchPath): { where: Where; name: string } | null {
  const name = (path.attribute as string).toLowerCase();
  const schema = path.schema;
  const inCore = ['username', 'name', 'displayname', 'active', 'emails', 'externalid'].includes(name) || IGNORED_CORE.has(name) || READ_ONLY.has(name);
  const inEnterprise = name === 'manager' || IGNORED_ENTERPRISE.has(name);
  const inGrantline = name === 'principalid' || TICKETING.some((t) => t.toLowerCase() === name);
  if (schema === USER_SCHEMA.toLowerCase()) return inCore ? { where: 'core', name } : null;
  if (schema === ENTERPRISE_USER_SCHEMA.toLowerCase()) return inEnterprise ? { where: 'enterprise', name } : null;
  if (schema === GRANTLINE_USER_SCHEMA.toLowerCase()) return inGrantline ? { where: 'grantline', name } : null;
  // Without a schema, a name is looked up in the core schema, then the extensions (Entra ID sends `manager`).
  if (inCore) return { where: 'core', name };
  if (inEnterprise) return { where: 'enterprise', name };
  if (inGrantline) return { where: 'grantline', name };
  return null;
}

function emailsOf(value: unknown): ScimEmail[] {
  if (value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item, i) => emailOf(item, `emails[${i}]`));
}

function emailOf(item: unknown, where: string): ScimEmail {
  if (!isObject(item)) throw badRequest('invalidValue', `${where} must be an object with a value`);
  const out: ScimEmail = { value: '' };
  for (const [k, v] of Object.entries(item)) {
    const key = k.toLowerCase();
    if (key === 'value') out.value = stringOrNull(`${where}.value`, v) ?? '';
    else if (key === 'type' && v !== null) out.type = stringOrNull(`${where}.type`, v) ?? '';
    else if (key === 'display' && v !== null) out.display = stringOrNull(`${where}.display`, v) ?? '';
    else if (key === 'primary' && v !== null) out.primary = booleanOf(`${where}.primary`, v);
  }
  if (out.value.trim() === '') throw badRequest('invalidValue', `${where}.value must be a non-empty string`);
  if (out.type === '') delete out.type;
  return out;
}

/** The manager's id from `"id"`, `{ value }` or `[{ value, $ref }]` (Entra ID sends all three). */
function managerOf(value: unknown): string | null {
  const item = Array.isArray(value) ? (value.length === 0 ? null : value[0]) : value;
  if (item === null || item === undefined || item === '') return null;
  if (typeof item === 'string') return item;
  if (isObject(item)) {
    const key = keyOf(item, 'value');
    const inner = key === undefined ? null : item[key];
    if (inner === null || inner === undefined || inner === '') return null;
    if (typeof inner === 'string') return inner;
  }
  throw badRequest('invalidValue', 'manager must be the manager\'s id, or { "value": id }');
}

function emailMatches(email: ScimEmail, filter: NonNullable<PatchPath['filter']>): boolean {
  const attribute = filter.attribute.toLowerCase();
  if (attribute === 'type') return typeof filter.value === 'string' && email.type?.toLowerCase() === filter.value.toLowerCase();
  if (attribute === 'value') return typeof filter.value === 'string' && email.value.toLowerCase() === filter.value.toLowerCase();
  if (attribute === 'primary') return (email.primary ?? false) === filter.value;
  throw badRequest('invalidPath', `emails can be selected by type, value or primary, not ${filter.attribute}`);
}

function applyEmails(draft: UserDraft, op: PatchOpName, path: PatchPath, value: unknown): void {
  const sub = path.sub?.toLowerCase() ?? null;
  if (sub !== null && !['value', 'type', 'primary', 'display'].includes(sub)) throw badRequest('invalidPath', `emails has no sub-attribute ${path.sub}`);
  if (path.filter === null) {
    if (sub !== null) throw badRequest('invalidPath', `emails.${path.sub} needs a filter, such as emails[type eq "work"].${path.sub}`);
    if (op === 'remove') {
      // Entra ID removes values of a multi-valued attribute by listing them in `value`.
      const drop = value === undefined || value === null ? null : emailsOf(value).map((e) => e.value.toLowerCase());
      draft.emails = drop === null ? [] : draft.emails.filter((e) => !drop.includes(e.value.toLowerCase()));
      return;
    }
    const given = emailsOf(value);
    draft.emails = op === 'replace' ? given : [...draft.emails, ...given.filter((g) => !draft.emails.some((e) => e.value.toLowerCase() === g.value.toLowerCase() && e.type === g.type))];
    return;
  }
  const filter = path.filter;
  const selected = draft.emails.filter((e) => emailMatches(e, filter));
  if (op === 'remove') {
    if (sub === null || sub === 'value') draft.emails = draft.emails.filter((e) => !selected.includes(e));
    else for (const e of selected) delete e[sub as 'type' | 'primary' | 'display'];
    return;
  }
  if (selected.length === 0) {
    // Entra ID sets `emails[type eq "work"].value` on users that have no work email yet.
    if (filter.attribute.toLowerCase() !== 'type' || typeof filter.value !== 'string' || (sub !== null && sub !== 'value')) throw badRequest('noTarget', `no email matches ${filter.attribute} eq ${JSON.stringify(filter.value)}`);
    draft.emails.push(sub === null ? { ...emailOf(value, 'value'), type: filter.value } : { value: stringOrNull('value', value) ?? '', type: filter.value });
    if (draft.emails.at(-1)?.value === '') throw badRequest('invalidValue', 'an email value must be a non-empty string');
    return;
  }
  for (const e of selected) {
    if (sub === null) Object.assign(e, emailOf(value, 'value'));
    else if (sub === 'primary') e.primary = booleanOf('primary', value);
    else {
      const text = stringOrNull(sub, value);
      if (sub === 'value' && (text === null || text.trim() === '')) throw badRequest('invalidValue', 'an email value must be a non-empty string');
      if (text === null) delete e[sub as 'type' | 'display'];
      else e[sub as 'value' | 'type' | 'display'] = text;
    }
  }
}

function applyName(draft: UserDraft, op: PatchOpName, path: PatchPath, value: unknown, context: AttributeContext): void {
  if (path.filter !== null) throw badRequest('invalidPath', 'name is not multi-valued');
  if (path.sub !== null) {
    const sub = NAME_SUBS.find((s) => s.toLowerCase() === path.sub?.toLowerCase());
    if (sub === undefined) unknownAttribute(context, `name.${path.sub}`, 'User');
    const next: ScimName = { ...(draft.name ?? {}) };
    const text = op === 'remove' ? null : stringOrNull(`name.${sub}`, value);
    if (text === null) delete next[sub];
    else next[sub] = text;
    draft.name = next;
    return;
  }
  if (op === 'remove' || value === null) {
    draft.name = null;
    return;
  }
  if (!isObject(value)) throw badRequest('invalidValue', 'name must be an object');
  // A PATCH sets the sub-attributes it names and keeps the others (RFC 7644 §3.5.2.3); a body replaces name.
  const next: ScimName = context === 'patch' ? { ...(draft.name ?? {}) } : {};
  for (const [k, v] of Object.entries(value)) {
    const sub = NAME_SUBS.find((s) => s.toLowerCase() === k.toLowerCase());
    if (sub === undefined) unknownAttribute(context, `name.${k}`, 'User');
    const text = stringOrNull(`name.${sub}`, v);
    if (text === null) delete next[sub];
    else next[sub] = text;
  }
  draft.name = next;
}

/** The User resource type: what grantline keeps of a user, and how each attribute is set. */
export const userType: ResourceType<UserDraft> = {
  core: USER_SCHEMA,
  extensions: [ENTERPRISE_USER_SCHEMA, GRANTLINE_USER_SCHEMA],
  apply(draft, op, path, value, context) {
    if (path.attribute === null) {
      throw badRequest('invalidPath', 'a schema URN alone is only accepted as a key of a value object');
    }
    const found = locate(path);
    if (found === null) unknownAttribute(context, path.attribute, 'User');
    const { where, name } = found as { where: Where; name: string };
    if (READ_ONLY.has(name) || (where === 'core' && IGNORED_CORE.has(name)) || (where === 'enterprise' && IGNORED_ENTERPRISE.has(name))) return;
    if (name === 'emails') return applyEmails(draft, op, path, value);
    if (name === 'name') return applyName(draft, op, path, value, context);
    if (path.filter !== null) throw badRequest('invalidPath', `${path.attribute} is not multi-valued`);
    if (name === 'manager') {
      if (path.sub !== null && path.sub.toLowerCase() !== 'value') throw badRequest('invalidPath', `manager.${path.sub} is not kept; set manager or manager.value`);
      draft.manager = op === 'remove' ? null : managerOf(value);
      return;
    }
    if (path.sub !== null) throw badRequest('invalidPath', `${path.attribute} has no sub-attributes`);
    switch (name) {
      case 'username': {
        const text = op === 'remove' ? null : stringOrNull('userName', value);
        if (text === null || text.trim() === '') throw badRequest(op === 'remove' ? 'mutability' : 'invalidValue', 'userName is required and must be a non-empty string');
        draft.userName = text.trim();
        return;
      }
      case 'displayname':
        draft.displayName = op === 'remove' ? null : stringOrNull('displayName', value);
        return;
      case 'externalid':
        draft.externalId = op === 'remove' ? null : stringOrNull('externalId', value);
        return;
      case 'active':
        if (op === 'remove') throw badRequest('mutability', 'active cannot be removed; replace it with false to deactivate the user');
        draft.active = booleanOf('active', value);
        return;
      case 'principalid': {
        const text = op === 'remove' ? null : stringOrNull('principalId', value);
        if (text === null) return; // keeps what is bound (or lets grantline choose at creation)
        draft.principalId = text.trim();
        return;
      }
      default: {
        const field = TICKETING.find((t) => t.toLowerCase() === name) as (typeof TICKETING)[number];
        const text = op === 'remove' ? null : stringOrNull(field, value);
        if (text === null || text.trim() === '') delete draft.identities[field];
        else if (field === 'servicenowSysId' && !SYS_ID.test(text.trim())) throw badRequest('invalidValue', 'servicenowSysId must be a 32-character hex sys_id');
        else draft.identities[field] = text.trim();
      }
    }
  },
};

/** What a list of users may be filtered on (RFC 7643 §4.1: `userName` and `displayName` are case-insensitive, `externalId` exact). */
export const USER_FILTER: readonly FilterAttribute<ScimUserRecord>[] = [
  { name: 'userName', caseExact: false, value: (u) => u.userName },
  { name: 'externalId', caseExact: true, value: (u) => u.externalId },
  { name: 'displayName', caseExact: false, value: (u) => u.displayName },
];

/** The SCIM representation of a stored user. */
export function userResource(user: ScimUserRecord): Record<string, unknown> {
  const grantline: Record<string, string> = { principalId: user.principalId };
  for (const field of TICKETING) if (user.identities[field] !== undefined) grantline[field] = user.identities[field] as string;
  return {
    schemas: [USER_SCHEMA, ...(user.manager === null ? [] : [ENTERPRISE_USER_SCHEMA]), GRANTLINE_USER_SCHEMA],
    id: user.id,
    ...(user.externalId === null ? {} : { externalId: user.externalId }),
    userName: user.userName,
    ...(user.displayName === null ? {} : { displayName: user.displayName }),
    ...(user.name === null ? {} : { name: user.name }),
    active: user.active,
    emails: user.emails,
    ...(user.manager === null ? {} : { [ENTERPRISE_USER_SCHEMA]: { manager: { value: user.manager } } }),
    [GRANTLINE_USER_SCHEMA]: grantline,
    meta: { resourceType: 'User', created: user.created, lastModified: user.lastModified, location: `/scim/v2/Users/${user.id}` },
  };
}
