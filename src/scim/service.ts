import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { PrincipalId } from '../catalog/directory.js';
import { groupNameOf, type DirectoryRecord, type IdentityLifecycleEvent, type ScimGroupRecord, type ScimUserRecord } from '../model/index.js';
import { badRequest, conflict, notFound, ScimError } from './errors.js';
import { emptyGroupDraft, GROUP_FILTER, GROUP_SCHEMA, groupDraftOf, groupResource, groupType, type GroupDraft } from './group.js';
import { listOf, project, type ScimQuery } from './query.js';
import { applyBody, applyPatch } from './resource.js';
import { emptyUserDraft, USER_FILTER, USER_SCHEMA, userDraftOf, userResource, userType, type UserDraft } from './user.js';

/** One durable change: directory records, and the offboarding events they cause, written together. */
export interface ScimWrite {
  readonly records: readonly DirectoryRecord[];
  readonly lifecycle: readonly IdentityLifecycleEvent[];
}

/** Where SCIM resources are kept (`grantline.directory.v1` behind a view, in production). */
export interface ScimStore {
  /** The latest record of every user, deleted ones included, as of the last write. */
  users(): readonly ScimUserRecord[];
  groups(): readonly ScimGroupRecord[];
  /**
   * Writes the change durably, all or nothing, and puts it in force here; resolves only then. A
   * `ScimError` (503 when the broker cannot take it in time) goes to the IdP as it is.
   */
  write(change: ScimWrite): Promise<void>;
}

/** What the SCIM endpoint asks of the directory in force. */
export interface ScimDirectoryContext {
  /** The directory file's principal a new user is (by id or email equal to `userName`, or one of the emails), or null. */
  filePrincipalFor(userName: string, emails: readonly string[]): string | null;
  isNhi(id: string): boolean;
  /** Whether the principal is active in the directory in force now (false when unknown). */
  isActive(principalId: string): boolean;
  /** Catalog entries that name the group, as `entry-id` strings (empty: none). */
  entriesNamingGroup(name: string): readonly string[];
}

/** What one request answers when it succeeds. */
export interface ScimAnswer {
  readonly status: 200 | 201 | 204;
  readonly body?: Record<string, unknown>;
  /** `Location` of a created resource. */
  readonly location?: string;
}

export interface ScimServiceOptions {
  readonly store: ScimStore;
  readonly directory: () => ScimDirectoryContext;
  /** How long a write may wait for the ones before it before answering 503. */
  readonly queueTimeoutMs: number;
  readonly now?: () => Date;
  readonly newId?: () => string;
  /** Told of each deactivation, for the log. */
  readonly onOffboarded?: (event: IdentityLifecycleEvent, userName: string) => void;
}

const IDENTITY_KEYS = ['jiraAccountId', 'jiraUsername', 'jiraUserKey', 'servicenowSysId'] as const;

/**
 * The SCIM 2.0 service provider (RFC 7644) for Users and Groups: checks each request, works out
 * the new state of the one resource it touches, and writes it (with an `identity.lifecycle.v1`
 * offboarding event when a person stops being active) through the store before answering. Writes
 * run one at a time, so the uniqueness checks see every write before them.
 */
export class ScimService {
  readonly #o: ScimServiceOptions;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ScimServiceOptions) {
    this.#o = options;
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#o.queueTimeoutMs;
    const run = this.#queue.then(() => {
      if (Date.now() > deadline) throw new ScimError(503, 'grantline is busy writing earlier changes; retry later', undefined, 5);
      return task();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #liveUser(id: string): ScimUserRecord {
    const user = this.#o.store.users().find((u) => u.id === id && !u.deleted);
    if (user === undefined) throw notFound(`User ${id}`);
    return user;
  }

  #liveGroup(id: string): ScimGroupRecord {
    const group = this.#o.store.groups().find((g) => g.id === id && !g.deleted);
    if (group === undefined) throw notFound(`Group ${id}`);
    return group;
  }

  getUser(id: string, query: ScimQuery): ScimAnswer {
    return { status: 200, body: project(userResource(this.#liveUser(id)), query, USER_SCHEMA) };
  }

  listUsers(query: ScimQuery): ScimAnswer {
    return { status: 200, body: listOf(this.#o.store.users().filter((u) => !u.deleted), query, USER_FILTER, USER_SCHEMA, userResource) };
  }

  getGroup(id: string, query: ScimQuery): ScimAnswer {
    return { status: 200, body: project(groupResource(this.#liveGroup(id)), query, GROUP_SCHEMA) };
  }

  listGroups(query: ScimQuery): ScimAnswer {
    return { status: 200, body: listOf(this.#o.store.groups().filter((g) => !g.deleted), query, GROUP_FILTER, GROUP_SCHEMA, groupResource) };
  }

  async createUser(body: unknown): Promise<ScimAnswer> {
    const draft = emptyUserDraft();
    applyBody(userType, draft, body);
    return this.#exclusive(async () => {
      const user = this.#userRecord(draft, null);
      await this.#writeUser(user, null);
      return { status: 201, body: userResource(user), location: `/scim/v2/Users/${user.id}` };
    });
  }

  replaceUser(id: string, body: unknown): Promise<ScimAnswer> {
    return this.#exclusive(async () => {
      const existing = this.#liveUser(id);
      const draft = userDraftOf(existing, true);
      applyBody(userType, draft, body);
      const user = this.#userRecord(draft, existing);
      await this.#writeUser(user, existing);
      return { status: 200, body: userResource(user) };
    });
  }

  patchUser(id: string, body: unknown): Promise<ScimAnswer> {
    return this.#exclusive(async () => {
      const existing = this.#liveUser(id);
      const draft = userDraftOf(existing);
      applyPatch(userType, draft, body);
      const user = this.#userRecord(draft, existing);
      await this.#writeUser(user, existing);
      return { status: 200, body: userResource(user) };
    });
  }

  /** Deletes a user: gone from the API, kept on the topic as an inactive principal; offboarded if they were active. */
  deleteUser(id: string): Promise<ScimAnswer> {
    return this.#exclusive(async () => {
      const existing = this.#liveUser(id);
      await this.#writeUser({ ...existing, active: false, deleted: true, lastModified: this.#now().toISOString() }, existing);
      return { status: 204 };
    });
  }

  async createGroup(body: unknown): Promise<ScimAnswer> {
    const draft = emptyGroupDraft();
    applyBody(groupType, draft, body);
    return this.#exclusive(async () => {
      const group = this.#groupRecord(draft, null);
      await this.#o.store.write({ records: [group], lifecycle: [] });
      return { status: 201, body: groupResource(group), location: `/scim/v2/Groups/${group.id}` };
    });
  }

  replaceGroup(id: string, body: unknown): Promise<ScimAnswer> {
    return this.#changeGroup(id, (draft) => applyBody(groupType, draft, body), true, 200);
  }

  /** Answers 204 without a body: a large group's members are not sent back (Entra ID asks for that). */
  patchGroup(id: string, body: unknown): Promise<ScimAnswer> {
    return this.#changeGroup(id, (draft) => applyPatch(groupType, draft, body), false, 204);
  }

  deleteGroup(id: string): Promise<ScimAnswer> {
    return this.#exclusive(async () => {
      const existing = this.#liveGroup(id);
      // The name stays known with no members, so a group of that name in the file does not come back.
      await this.#o.store.write({ records: [{ ...existing, members: [], deleted: true, lastModified: this.#now().toISOString() }], lifecycle: [] });
      return { status: 204 };
    });
  }

  #changeGroup(id: string, change: (draft: GroupDraft) => void, fresh: boolean, status: 200 | 204): Promise<ScimAnswer> {
    return this.#exclusive(async () => {
      const existing = this.#liveGroup(id);
      const draft = groupDraftOf(existing, fresh);
      change(draft);
      const group = this.#groupRecord(draft, existing);
      if (!sameState(group, existing)) await this.#o.store.write({ records: [group], lifecycle: [] });
      return status === 204 ? { status } : { status, body: groupResource(group) };
    });
  }

  #groupRecord(draft: GroupDraft, existing: ScimGroupRecord | null): ScimGroupRecord {
    const displayName = draft.displayName?.trim() ?? '';
    if (displayName === '') throw badRequest('invalidValue', 'displayName is required');
    const name = groupNameOf(displayName);
    if (name === '') throw badRequest('invalidValue', `displayName ${JSON.stringify(displayName)} has no letter or digit to name a grantline group by`);
    const clash = this.#o.store.groups().find((g) => !g.deleted && g.id !== existing?.id && groupNameOf(g.displayName) === name);
    if (clash !== undefined) throw conflict(`a group named ${JSON.stringify(clash.displayName)} (id ${clash.id}) is already provisioned; as a grantline group it would be ${name} too`);
    if (existing !== null) {
      const before = groupNameOf(existing.displayName);
      const naming = before === name ? [] : this.#o.directory().entriesNamingGroup(before);
      if (naming.length > 0) {
        throw badRequest('mutability', `the catalog names group ${before} (entries ${naming.join(', ')}); rename it there first, or those entries could be approved by nobody`);
      }
    }
    const at = this.#now().toISOString();
    return {
      kind: 'group',
      id: existing?.id ?? this.#newId(),
      externalId: draft.externalId,
      displayName,
      members: draft.members,
      created: existing?.created ?? at,
      lastModified: at,
      deleted: false,
    };
  }

  #newId(): string {
    return this.#o.newId?.() ?? randomUUID();
  }

  /** The user record a draft makes, after every check; throws the SCIM error of the first that fails. */
  #userRecord(draft: UserDraft, existing: ScimUserRecord | null): ScimUserRecord {
    const userName = draft.userName?.trim() ?? '';
    if (userName === '') throw badRequest('invalidValue', 'userName is required');
    const live = this.#o.store.users().filter((u) => !u.deleted && u.id !== existing?.id);
    const sameName = live.find((u) => u.userName.toLowerCase() === userName.toLowerCase());
    if (sameName !== undefined) throw conflict(`userName ${JSON.stringify(userName)} is already provisioned (id ${sameName.id})`);
    const directory = this.#o.directory();
    let principalId: string;
    if (existing !== null) {
      if (draft.principalId !== null && draft.principalId !== existing.principalId) {
        throw badRequest('mutability', `principalId is ${existing.principalId} for good; it cannot become ${draft.principalId}`);
      }
      principalId = existing.principalId;
    } else {
      principalId = draft.principalId ?? directory.filePrincipalFor(userName, draft.emails.map((e) => e.value)) ?? userName.toLowerCase();
      if (!PrincipalId.safeParse(principalId).success) {
        throw badRequest('invalidValue', `${JSON.stringify(principalId)} cannot be a grantline principal id (lower-case letters, digits, ".", "_", "-", "@", "+"); map the principalId attribute of ${'urn:grantline:scim:schemas:extension:2.0:User'}`);
      }
      const bound = live.find((u) => u.principalId === principalId);
      if (bound !== undefined) throw conflict(`principal ${principalId} is already provisioned as userName ${JSON.stringify(bound.userName)} (id ${bound.id})`);
      if (directory.isNhi(principalId)) throw conflict(`${principalId} is a non-human identity of the directory file, not a person`);
    }
    for (const key of IDENTITY_KEYS) {
      const value = draft.identities[key];
      if (value === undefined) continue;
      const holder = live.find((u) => u.identities[key]?.toLowerCase() === value.toLowerCase() && u.principalId !== principalId);
      if (holder !== undefined) throw conflict(`${key} ${JSON.stringify(value)} already belongs to ${holder.principalId}`);
    }
    const at = this.#now().toISOString();
    return {
      kind: 'user',
      id: existing?.id ?? this.#newId(),
      principalId,
      externalId: draft.externalId,
      userName,
      active: draft.active ?? existing?.active ?? true,
      displayName: draft.displayName,
      name: draft.name !== null && Object.keys(draft.name).length === 0 ? null : draft.name,
      emails: draft.emails,
      manager: draft.manager,
      identities: draft.identities,
      created: existing?.created ?? at,
      lastModified: at,
      deleted: false,
    };
  }

  /**
   * Writes a user unless nothing but `lastModified` changed. A person active in the directory in
   * force who is not any more (deactivated or deleted) gets an offboarding event in the same write.
   */
  async #writeUser(user: ScimUserRecord, existing: ScimUserRecord | null): Promise<void> {
    if (existing !== null && sameState(user, existing)) return;
    const stillActive = user.active && !user.deleted;
    const offboarded = !stillActive && this.#o.directory().isActive(user.principalId);
    const lifecycle: IdentityLifecycleEvent[] = offboarded
      ? [{ type: user.deleted ? 'principal.offboarded' : 'principal.deactivated', principalId: user.principalId, at: user.lastModified, source: 'scim' }]
      : [];
    await this.#o.store.write({ records: [user], lifecycle });
    for (const event of lifecycle) this.#o.onOffboarded?.(event, user.userName);
  }
}

function sameState(a: DirectoryRecord, b: DirectoryRecord): boolean {
  return isDeepStrictEqual({ ...a, lastModified: '' }, { ...b, lastModified: '' });
}
