import { z } from 'zod';
import type { PersonResolution } from '../connector/contract.js';
import { resolvePerson } from '../connector/resolve.js';
import { groupNameOf, type DirectoryRecord, type ScimGroupRecord, type ScimUserRecord, type SourceIdentity } from '../model/index.js';
import {
  IDENTITY_FIELDS,
  normalizeIdentity,
  YamlDirectory,
  type Directory,
  type DirectoryDocument,
  type IdentityField,
  type NonHumanIdentity,
  type Principal,
  type PrincipalIdentities,
} from './directory.js';

/** Where a fact of the directory in force came from. */
export type FactSource = 'file' | 'scim';

/** The facts of a principal that have a source. */
export type PrincipalField = 'displayName' | 'active' | 'manager' | `identities.${IdentityField}`;

/**
 * The file and the identity provider say different things about the same person or group. SCIM
 * wins for people and groups; the file's value is not used. Reported in logs and as a metric.
 */
export interface DirectoryConflict {
  readonly kind: 'principal' | 'identity' | 'group' | 'nhi';
  /** Principal id, group name or NHI id. */
  readonly subject: string;
  readonly field: string;
  readonly message: string;
}

const emailSchema = z.email();

/** The email a SCIM user is known by in the ticketing systems: primary, else work, else first, else an email-like userName. */
export function scimEmailOf(user: Pick<ScimUserRecord, 'emails' | 'userName'>): string | undefined {
  const chosen = user.emails.find((e) => e.primary === true) ?? user.emails.find((e) => e.type?.toLowerCase() === 'work') ?? user.emails[0];
  const value = chosen?.value ?? (user.userName.includes('@') ? user.userName : undefined);
  return value !== undefined && emailSchema.safeParse(value).success ? value : undefined;
}

/** The display name grantline shows for a SCIM user. */
export function scimDisplayNameOf(user: Pick<ScimUserRecord, 'displayName' | 'name' | 'userName'>): string {
  const parts = [user.name?.givenName, user.name?.familyName].filter((p): p is string => p !== undefined && p.trim() !== '');
  return user.displayName?.trim() || user.name?.formatted?.trim() || (parts.length > 0 ? parts.join(' ') : user.userName);
}

function scimIdentities(user: ScimUserRecord): PrincipalIdentities {
  const out: PrincipalIdentities = {};
  for (const field of ['jiraAccountId', 'jiraUsername', 'jiraUserKey'] as const) {
    const value = user.identities[field];
    if (value !== undefined) out[field] = value;
  }
  if (user.identities.servicenowSysId !== undefined) out.servicenowSysId = user.identities.servicenowSysId.toLowerCase();
  const email = scimEmailOf(user);
  if (email !== undefined) out.email = email;
  return out;
}

/** The latest records per key, users by principal and groups by SCIM id (what the topic holds after compaction). */
export interface ScimDirectoryState {
  readonly users: readonly ScimUserRecord[];
  readonly groups: readonly ScimGroupRecord[];
}

/** Splits records into users and groups. */
export function scimStateOf(records: Iterable<DirectoryRecord>): ScimDirectoryState {
  const users: ScimUserRecord[] = [];
  const groups: ScimGroupRecord[] = [];
  for (const r of records) {
    if (r.kind === 'user') users.push(r);
    else groups.push(r);
  }
  return { users, groups };
}

/**
 * The directory in force: the file's principals, groups and NHIs with what the identity provider
 * said (SCIM) merged over them. For a person SCIM knows, each fact SCIM gives wins and the file
 * fills in the rest (the file seeds); a SCIM group replaces the file's group of that name. NHIs
 * come only from the file. Every difference between the two is a `DirectoryConflict`.
 */
export class MergedDirectory implements Directory {
  readonly version: string;
  readonly document: DirectoryDocument;
  readonly conflicts: readonly DirectoryConflict[];
  /** Per principal, where each of its facts came from. */
  readonly principalSources: ReadonlyMap<string, Readonly<Partial<Record<PrincipalField, FactSource>>>>;
  readonly groupSources: ReadonlyMap<string, FactSource>;
  /** The SCIM user each SCIM-provisioned principal is. */
  readonly scimUsers: ReadonlyMap<string, ScimUserRecord>;
  readonly #lookup: YamlDirectory;
  /** Every principal that claimed each email (normalized), before one source identity was kept for one person. */
  readonly #emailClaims: ReadonlyMap<string, readonly string[]>;

  constructor(file: DirectoryDocument, scim: ScimDirectoryState) {
    const built = build(file, scim);
    this.#lookup = new YamlDirectory(built.document);
    this.version = this.#lookup.version;
    this.document = this.#lookup.document;
    this.conflicts = built.conflicts;
    this.principalSources = built.principalSources;
    this.groupSources = built.groupSources;
    this.scimUsers = built.scimUsers;
    this.#emailClaims = built.emailClaims;
  }

  resolve(identity: SourceIdentity): string | null {
    return this.#lookup.resolve(identity);
  }
  /**
   * A shared email stays ambiguous for the fallback even though only one holder keeps it as an
   * identity: the IdP (or the file) said two people have it, and guessing would let one act as the other.
   */
  resolvePerson(identity: SourceIdentity, email?: string | null): PersonResolution {
    return resolvePerson({ byIdentity: (i) => this.resolve(i), byEmail: (e) => this.#emailClaims.get(normalizeIdentity('email', e)) ?? [] }, identity, email);
  }
  principal(id: string): Principal | null {
    return this.#lookup.principal(id);
  }
  nhi(id: string): NonHumanIdentity | null {
    return this.#lookup.nhi(id);
  }
  isMember(principalId: string, group: string): boolean {
    return this.#lookup.isMember(principalId, group);
  }
  hasGroup(group: string): boolean {
    return this.#lookup.hasGroup(group);
  }
  managerOf(principalId: string): string | null {
    return this.#lookup.managerOf(principalId);
  }
}

interface Built {
  document: DirectoryDocument;
  conflicts: DirectoryConflict[];
  principalSources: Map<string, Partial<Record<PrincipalField, FactSource>>>;
  groupSources: Map<string, FactSource>;
  scimUsers: Map<string, ScimUserRecord>;
  emailClaims: Map<string, string[]>;
}

const show = (v: unknown): string => (v === null || v === undefined ? 'none' : JSON.stringify(v));

function build(file: DirectoryDocument, scim: ScimDirectoryState): Built {
  const conflicts: DirectoryConflict[] = [];
  const sources = new Map<string, Partial<Record<PrincipalField, FactSource>>>();
  const fileById = new Map(file.principals.map((p) => [p.id, p]));
  const users = [...scim.users].sort((a, b) => a.principalId.localeCompare(b.principalId));
  const scimUsers = new Map(users.map((u) => [u.principalId, u]));
  const principalOfScimId = new Map(users.map((u) => [u.id, u.principalId]));
  const known = new Set([...fileById.keys(), ...scimUsers.keys()]);

  const merged = new Map<string, Principal>();
  for (const p of file.principals) {
    // Own copies: the file's document is frozen, and identities may be taken away below.
    merged.set(p.id, { ...p, identities: { ...p.identities } });
    const s: Partial<Record<PrincipalField, FactSource>> = { displayName: 'file', active: 'file', manager: 'file' };
    for (const f of IDENTITY_FIELDS) if (p.identities[f] !== undefined) s[`identities.${f}`] = 'file';
    sources.set(p.id, s);
  }
  for (const user of users) {
    const seed = fileById.get(user.principalId);
    const s: Partial<Record<PrincipalField, FactSource>> = { displayName: 'scim', active: 'scim' };
    const active = user.active && !user.deleted;
    if (seed !== undefined && seed.active !== active) {
      conflicts.push({ kind: 'principal', subject: user.principalId, field: 'active', message: `the file says active ${seed.active}, SCIM says ${active}${user.deleted ? ' (deleted)' : ''}` });
    }
    // The manager as a SCIM id, or a principal id the IdP admin mapped; anything else is not a manager.
    const ref = user.manager;
    const resolved = ref === null ? null : (principalOfScimId.get(ref) ?? (known.has(ref) ? ref : null));
    const scimManager = resolved === user.principalId ? null : resolved;
    let manager = seed?.manager ?? null;
    if (scimManager !== null) {
      if (seed !== undefined && seed.manager !== scimManager) {
        conflicts.push({ kind: 'principal', subject: user.principalId, field: 'manager', message: `the file says manager ${show(seed.manager)}, SCIM says ${show(scimManager)}` });
      }
      manager = scimManager;
      s.manager = 'scim';
    } else if (seed !== undefined) {
      s.manager = 'file';
    }
    const identities: PrincipalIdentities = { ...(seed?.identities ?? {}) };
    for (const f of IDENTITY_FIELDS) if (identities[f] !== undefined) s[`identities.${f}`] = 'file';
    const fromScim = scimIdentities(user);
    for (const f of IDENTITY_FIELDS) {
      const value = fromScim[f];
      if (value === undefined) continue;
      const before = identities[f];
      if (before !== undefined && normalizeIdentity(f, before) !== normalizeIdentity(f, value)) {
        conflicts.push({ kind: 'principal', subject: user.principalId, field: `identities.${f}`, message: `the file says ${show(before)}, SCIM says ${show(value)}` });
      }
      identities[f] = value;
      s[`identities.${f}`] = 'scim';
    }
    merged.set(user.principalId, { id: user.principalId, displayName: scimDisplayNameOf(user), active, manager, identities });
    sources.set(user.principalId, s);
  }

  const emailClaims = new Map<string, string[]>();
  for (const p of merged.values()) {
    if (p.identities.email === undefined) continue;
    const key = normalizeIdentity('email', p.identities.email);
    emailClaims.set(key, [...(emailClaims.get(key) ?? []), p.id].sort());
  }
  // One source identity, one person: SCIM's claims first (in principal order), then the file's.
  const holder = new Map<string, string>();
  for (const pass of ['scim', 'file'] as const) {
    for (const p of merged.values()) {
      const s = sources.get(p.id) ?? {};
      for (const f of IDENTITY_FIELDS) {
        const value = p.identities[f];
        if (value === undefined || s[`identities.${f}`] !== pass) continue;
        const key = `${f}:${normalizeIdentity(f, value)}`;
        const owner = holder.get(key);
        if (owner === undefined) {
          holder.set(key, p.id);
          continue;
        }
        delete p.identities[f];
        delete s[`identities.${f}`];
        conflicts.push({ kind: 'identity', subject: p.id, field: `identities.${f}`, message: `${show(value)} also belongs to ${owner}, as SCIM says; not used for ${p.id}` });
      }
    }
  }
  const principals = [...file.principals.map((p) => merged.get(p.id) as Principal), ...users.filter((u) => !fileById.has(u.principalId)).map((u) => merged.get(u.principalId) as Principal)];

  const { groups, groupSources } = mergeGroups(file, scim.groups, principalOfScimId, scimUsers, conflicts);
  for (const n of file.nhis) {
    if (scimUsers.has(n.id)) conflicts.push({ kind: 'nhi', subject: n.id, field: 'id', message: `the file's ${n.type} ${n.id} has the id of a person provisioned by SCIM` });
  }
  return { document: { principals, groups, nhis: file.nhis }, conflicts, principalSources: sources, groupSources, scimUsers, emailClaims };
}

function mergeGroups(
  file: DirectoryDocument,
  scimGroups: readonly ScimGroupRecord[],
  principalOfScimId: ReadonlyMap<string, string>,
  scimUsers: ReadonlyMap<string, ScimUserRecord>,
  conflicts: DirectoryConflict[],
): { groups: Record<string, string[]>; groupSources: Map<string, FactSource> } {
  const groups: Record<string, string[]> = {};
  const groupSources = new Map<string, FactSource>();
  for (const [name, members] of Object.entries(file.groups)) {
    groups[name] = [...members];
    groupSources.set(name, 'file');
  }
  // Per name, a live group beats a deleted one; among live ones the oldest (the endpoint refuses a second).
  const byName = new Map<string, ScimGroupRecord>();
  const ordered = [...scimGroups].sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  for (const g of ordered) {
    const name = groupNameOf(g.displayName);
    if (name === '') continue;
    const held = byName.get(name);
    if (held === undefined || (held.deleted && !g.deleted)) byName.set(name, g);
  }
  for (const [name, g] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    const members: string[] = [];
    if (!g.deleted) {
      for (const m of g.members) {
        const principalId = principalOfScimId.get(m.value);
        if (principalId === undefined || scimUsers.get(principalId)?.deleted === true || members.includes(principalId)) continue;
        members.push(principalId);
      }
    }
    const before = Object.hasOwn(file.groups, name) ? (file.groups[name] as string[]) : undefined;
    if (before !== undefined) {
      const a = [...new Set(before)].sort();
      const b = [...members].sort();
      if (a.join('\n') !== b.join('\n')) {
        conflicts.push({ kind: 'group', subject: name, field: 'members', message: `the file says ${show(a)}, SCIM says ${show(b)}${g.deleted ? ' (deleted in the IdP)' : ''}` });
      }
    }
    groups[name] = members;
    groupSources.set(name, 'scim');
  }
  return { groups, groupSources };
}
