import { z } from 'zod';
import type { PersonResolution, PrincipalResolver } from '../connector/contract.js';
import { directoryFieldOf } from '../connector/kinds.js';
import { resolvePerson } from '../connector/resolve.js';
import { SubjectType, type SourceIdentity } from '../model/index.js';
import { GroupName, parseYamlDocument } from './catalog.js';
import { InvalidDocumentError, issuesFromZod } from './errors.js';
import { contentVersion, deepFreeze } from './hash.js';

/**
 * A principal or NHI id. `@` and `+` are allowed so that an IdP's `userName` (usually an email
 * address) can be a principal id as it is, lower-cased.
 */
export const PrincipalId = z.string().regex(/^[a-z0-9][a-z0-9._@+-]*$/, 'expected lower-case letters, digits, ".", "_", "-", "@" or "+", starting with a letter or digit');
const Id = PrincipalId;

/** How one person is known in each source system. Every value must be unique across the directory. */
export const PrincipalIdentities = z.strictObject({
  /** Jira Cloud `accountId`. */
  jiraAccountId: z.string().min(1).optional(),
  /** Jira Data Center `name` (username); matched case-insensitively, as Jira does. */
  jiraUsername: z.string().min(1).optional(),
  /** Jira Data Center `key` (e.g. `JIRAUSER10100`). */
  jiraUserKey: z.string().min(1).optional(),
  /** ServiceNow `sys_user.sys_id`. */
  servicenowSysId: z.string().regex(/^[0-9a-f]{32}$/, 'expected a 32-character lower-case hex sys_id').optional(),
  /** Matched case-insensitively. */
  email: z.email().optional(),
});
export type PrincipalIdentities = z.infer<typeof PrincipalIdentities>;

/** A person. */
export const Principal = z.strictObject({
  id: Id,
  displayName: z.string().min(1),
  active: z.boolean(),
  /** Principal id of the manager, or null. */
  manager: Id.nullable().default(null),
  identities: PrincipalIdentities.default({}),
});
export type Principal = z.infer<typeof Principal>;

/** A non-human identity: service account, API key, CI token, automation role or workload. */
export const NonHumanIdentity = z.strictObject({
  id: Id,
  type: SubjectType.exclude(['human']),
  /** Principal id of the accountable owner; null when nobody owns it (every request for it is refused). */
  owner: Id.nullable(),
  /** The one environment the identity lives in; it is granted access there only. */
  environment: z.string().min(1),
  description: z.string().optional(),
});
export type NonHumanIdentity = z.infer<typeof NonHumanIdentity>;

/** Every field of `PrincipalIdentities`. */
export const IDENTITY_FIELDS = ['jiraAccountId', 'jiraUsername', 'jiraUserKey', 'servicenowSysId', 'email'] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];
/** The directory field holding identities of a registered kind; undefined for a kind no directory field holds. */
function fieldOfKind(kind: string): IdentityField | undefined {
  const field = directoryFieldOf(kind);
  return (IDENTITY_FIELDS as readonly string[]).includes(field ?? '') ? (field as IdentityField) : undefined;
}
// Jira usernames and email addresses are case-insensitive; ids and keys are compared as given
// (ServiceNow sys_ids are lower-case hex; a caller's upper-case hex is folded too).
const CASE_INSENSITIVE: ReadonlySet<IdentityField> = new Set(['jiraUsername', 'email', 'servicenowSysId']);
/** The form two values of an identity field are compared in (trimmed; case folded where the source system folds it). */
export function normalizeIdentity(field: IdentityField, value: string): string {
  const trimmed = value.trim();
  return CASE_INSENSITIVE.has(field) ? trimmed.toLowerCase() : trimmed;
}

/** The directory document as written in YAML (`principals`, `groups`, `nhis`). */
export const DirectoryDocument = z
  .strictObject({
    principals: z.array(Principal).min(1),
    /** Group name to member principal ids. */
    groups: z.record(GroupName, z.array(Id)).default({}),
    nhis: z.array(NonHumanIdentity).default([]),
  })
  .superRefine((doc, ctx) => {
    const principals = new Set<string>();
    doc.principals.forEach((p, index) => {
      if (principals.has(p.id)) ctx.addIssue({ code: 'custom', path: ['principals', index, 'id'], message: `"${p.id}" is listed twice` });
      principals.add(p.id);
    });
    const seenIdentity = new Map<string, string>();
    doc.principals.forEach((p, index) => {
      if (p.manager !== null && !principals.has(p.manager)) {
        ctx.addIssue({ code: 'custom', path: ['principals', index, 'manager'], message: `unknown principal "${p.manager}"` });
      }
      if (p.manager === p.id) {
        ctx.addIssue({ code: 'custom', path: ['principals', index, 'manager'], message: 'a principal cannot be their own manager' });
      }
      for (const field of IDENTITY_FIELDS) {
        const value = p.identities[field];
        if (value === undefined) continue;
        // Two people answering to one source identity would let one act as the other.
        const key = `${field}:${normalizeIdentity(field, value)}`;
        const holder = seenIdentity.get(key);
        if (holder !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['principals', index, 'identities', field], message: `already belongs to "${holder}"` });
        } else {
          seenIdentity.set(key, p.id);
        }
      }
    });
    for (const [group, members] of Object.entries(doc.groups)) {
      members.forEach((member, index) => {
        if (!principals.has(member)) ctx.addIssue({ code: 'custom', path: ['groups', group, index], message: `unknown principal "${member}"` });
      });
    }
    const nhis = new Set<string>();
    doc.nhis.forEach((n, index) => {
      if (nhis.has(n.id)) ctx.addIssue({ code: 'custom', path: ['nhis', index, 'id'], message: `"${n.id}" is listed twice` });
      if (principals.has(n.id)) ctx.addIssue({ code: 'custom', path: ['nhis', index, 'id'], message: `"${n.id}" is also a principal id` });
      nhis.add(n.id);
      if (n.owner !== null && !principals.has(n.owner)) {
        ctx.addIssue({ code: 'custom', path: ['nhis', index, 'owner'], message: `unknown principal "${n.owner}"` });
      }
    });
  });
export type DirectoryDocument = z.infer<typeof DirectoryDocument>;

/**
 * Who is who. The policy engine reads only this interface, so a SCIM or CMDB source can replace the
 * embedded YAML directory. Lookups are synchronous and in memory; a remote source keeps a snapshot.
 */
export interface Directory extends PrincipalResolver {
  /** Content version of the snapshot, recorded in every decision. */
  readonly version: string;
  /**
   * The principal id a source identity belongs to, or null. Inactive principals resolve too:
   * whether they may act is the policy's question, not the resolver's.
   */
  resolve(identity: SourceIdentity): string | null;
  principal(id: string): Principal | null;
  nhi(id: string): NonHumanIdentity | null;
  isMember(principalId: string, group: string): boolean;
  hasGroup(group: string): boolean;
  managerOf(principalId: string): string | null;
}

/** The embedded directory, built from a validated YAML document. */
export class YamlDirectory implements Directory {
  readonly version: string;
  /** The validated document, frozen. */
  readonly document: DirectoryDocument;
  readonly #principals: ReadonlyMap<string, Principal>;
  readonly #nhis: ReadonlyMap<string, NonHumanIdentity>;
  readonly #groups: ReadonlyMap<string, ReadonlySet<string>>;
  readonly #identities: ReadonlyMap<string, string>;

  constructor(document: DirectoryDocument) {
    const frozen = deepFreeze(structuredClone(document));
    this.document = frozen;
    this.version = contentVersion(frozen);
    this.#principals = new Map(frozen.principals.map((p) => [p.id, p]));
    this.#nhis = new Map(frozen.nhis.map((n) => [n.id, n]));
    this.#groups = new Map(Object.entries(frozen.groups).map(([group, members]) => [group, new Set(members)]));
    const identities = new Map<string, string>();
    for (const p of frozen.principals) {
      for (const field of IDENTITY_FIELDS) {
        const value = p.identities[field];
        if (value !== undefined) identities.set(`${field}:${normalizeIdentity(field, value)}`, p.id);
      }
    }
    this.#identities = identities;
  }

  resolve(identity: SourceIdentity): string | null {
    const field = fieldOfKind(identity.kind);
    if (field === undefined) return null;
    return this.#identities.get(`${field}:${normalizeIdentity(field, identity.value)}`) ?? null;
  }

  /** Emails are unique in a valid document, so an email names at most one principal here. */
  resolvePerson(identity: SourceIdentity, email?: string | null): PersonResolution {
    return resolvePerson({ byIdentity: (i) => this.resolve(i), byEmail: (e) => this.#withEmail(e) }, identity, email);
  }

  #withEmail(email: string): string[] {
    const id = this.resolve({ kind: 'email', value: email });
    return id === null ? [] : [id];
  }

  principal(id: string): Principal | null {
    return this.#principals.get(id) ?? null;
  }

  nhi(id: string): NonHumanIdentity | null {
    return this.#nhis.get(id) ?? null;
  }

  isMember(principalId: string, group: string): boolean {
    return this.#groups.get(group)?.has(principalId) ?? false;
  }

  hasGroup(group: string): boolean {
    return this.#groups.has(group);
  }

  managerOf(principalId: string): string | null {
    return this.#principals.get(principalId)?.manager ?? null;
  }
}

/** Validates an already-parsed directory value. Throws `InvalidDocumentError` listing every bad field. */
export function directoryFromValue(value: unknown, document = 'directory'): YamlDirectory {
  const result = DirectoryDocument.safeParse(value);
  if (!result.success) throw new InvalidDocumentError(document, issuesFromZod(result.error));
  return new YamlDirectory(result.data);
}

/** Parses directory YAML. Pure; throws `InvalidDocumentError` listing every bad field with its path. */
export function parseDirectory(yamlText: string, document = 'directory'): YamlDirectory {
  return directoryFromValue(parseYamlDocument(yamlText, document), document);
}
