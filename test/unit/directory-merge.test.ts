/**
 * The directory in force when the identity provider (SCIM) and the directory file both speak:
 * the file seeds, SCIM wins for people and groups, NHIs stay the file's, every difference is a
 * conflict, and the version records the change. Then `PolicyDocuments.applyScim`: the next
 * decision reads it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DirectoryDocument, MergedDirectory, parseDirectory, PolicyDocuments, type ReadText } from '../../src/catalog/index.js';
import type { ScimGroupRecord, ScimUserRecord } from '../../src/model/index.js';
import { decide } from '../../src/policy/index.js';
import { EXAMPLE_CATALOG_PATH, EXAMPLE_DIRECTORY_PATH } from '../fixtures/requests/factory.js';
import { scimUser } from '../fixtures/scim/records.js';

const FILE = parseDirectory(readFileSync(EXAMPLE_DIRECTORY_PATH, 'utf8')).document;

const user = (over: Partial<ScimUserRecord> & Pick<ScimUserRecord, 'principalId'>): ScimUserRecord => scimUser(over.principalId, over);

function group(displayName: string, members: string[], over: Partial<ScimGroupRecord> = {}): ScimGroupRecord {
  return { kind: 'group', id: `g-${displayName}`, externalId: null, displayName, members: members.map((value) => ({ value })), created: '2026-01-01T00:00:00.000Z', lastModified: '2026-01-01T00:00:00.000Z', deleted: false, ...over };
}

const merge = (users: ScimUserRecord[], groups: ScimGroupRecord[] = []) => new MergedDirectory(FILE, { users, groups });

describe('merging SCIM over the directory file', () => {
  it('without SCIM it is the file, with the file\'s version', () => {
    const merged = merge([]);
    expect(merged.version).toBe(parseDirectory(readFileSync(EXAMPLE_DIRECTORY_PATH, 'utf8')).version);
    expect(merged.conflicts).toEqual([]);
    expect(merged.principalSources.get('alice')).toMatchObject({ active: 'file', 'identities.jiraAccountId': 'file' });
  });

  it('SCIM wins for what it says about a person; the file fills in the rest; a difference is a conflict', () => {
    const merged = merge([user({ principalId: 'alice', active: false, name: { givenName: 'Alice', familyName: 'Archer-Smith' }, identities: { jiraAccountId: 'new-account' } })]);
    expect(merged.principal('alice')).toEqual({
      id: 'alice',
      displayName: 'Alice Archer-Smith',
      active: false,
      manager: 'dave',
      identities: { jiraAccountId: 'new-account', jiraUsername: 'alice', jiraUserKey: 'JIRAUSER10100', servicenowSysId: '124acfa0c66e16a2c70910e71187bc48', email: 'alice@example.com' },
    });
    expect(merged.principalSources.get('alice')).toMatchObject({ active: 'scim', displayName: 'scim', manager: 'file', 'identities.jiraAccountId': 'scim', 'identities.jiraUsername': 'file', 'identities.email': 'scim' });
    expect(merged.conflicts.map((c) => [c.subject, c.field])).toEqual([
      ['alice', 'active'],
      ['alice', 'identities.jiraAccountId'],
    ]);
    expect(merged.resolve({ kind: 'jira-account-id', value: 'new-account' })).toBe('alice');
    expect(merged.resolve({ kind: 'jira-account-id', value: '90bd90594497006fc7e0f1bd' })).toBeNull();
    expect(merged.version).not.toBe(merge([]).version);
    expect(DirectoryDocument.safeParse(merged.document).success).toBe(true);
  });

  it('a deleted user is an inactive principal, and the file cannot make them active again', () => {
    const merged = merge([user({ principalId: 'alice', deleted: true, active: false })]);
    expect(merged.principal('alice')?.active).toBe(false);
  });

  it('adds people only SCIM knows, with their manager by SCIM id', () => {
    const merged = merge([user({ principalId: 'zoe@example.com', emails: [{ value: 'zoe@example.com' }], manager: 'scim-dave', identities: { servicenowSysId: 'ABCDEF0123456789ABCDEF0123456789' } }), user({ principalId: 'dave' })]);
    expect(merged.principal('zoe@example.com')).toMatchObject({ active: true, manager: 'dave', identities: { servicenowSysId: 'abcdef0123456789abcdef0123456789', email: 'zoe@example.com' } });
    expect(merged.resolve({ kind: 'servicenow-sys-id', value: 'abcdef0123456789abcdef0123456789' })).toBe('zoe@example.com');
    expect(merged.managerOf('zoe@example.com')).toBe('dave');
    expect(DirectoryDocument.safeParse(merged.document).success).toBe(true);
  });

  it('an identity SCIM gives one person is taken from the file\'s other holder, as a conflict', () => {
    const merged = merge([user({ principalId: 'zoe', identities: { jiraUsername: 'BOB' } })]);
    expect(merged.resolve({ kind: 'jira-username', value: 'bob' })).toBe('zoe');
    expect(merged.principal('bob')?.identities.jiraUsername).toBeUndefined();
    expect(merged.conflicts).toContainEqual(expect.objectContaining({ kind: 'identity', subject: 'bob', field: 'identities.jiraUsername' }));
  });

  it('a SCIM group replaces the file\'s group of that name: removing a member removes them; a deleted one is empty', () => {
    const users = [user({ principalId: 'bob' }), user({ principalId: 'carol' })];
    const both = merge(users, [group('data-platform-owners', ['scim-bob', 'scim-carol'])]);
    expect(both.conflicts).toEqual([]);
    expect(both.groupSources.get('data-platform-owners')).toBe('scim');
    const removed = merge(users, [group('data-platform-owners', ['scim-bob', 'unknown-id'])]);
    expect(removed.isMember('bob', 'data-platform-owners')).toBe(true);
    expect(removed.isMember('carol', 'data-platform-owners')).toBe(false);
    expect(removed.conflicts).toEqual([expect.objectContaining({ kind: 'group', subject: 'data-platform-owners', field: 'members' })]);
    const deleted = merge(users, [group('data-platform-owners', [], { deleted: true })]);
    expect(deleted.hasGroup('data-platform-owners')).toBe(true);
    expect(deleted.isMember('bob', 'data-platform-owners')).toBe(false);
    // A deleted user is no member; a group's display name becomes a group name.
    const named = merge([user({ principalId: 'bob', deleted: true, active: false }), user({ principalId: 'carol' })], [group('Data Platform Owners', ['scim-bob', 'scim-carol'])]);
    expect(named.isMember('carol', 'Data-Platform-Owners')).toBe(true);
    expect(named.isMember('bob', 'Data-Platform-Owners')).toBe(false);
  });

  it('NHIs stay the file\'s; a SCIM person with an NHI\'s id is a conflict', () => {
    const merged = merge([user({ principalId: 'svc-orders' })]);
    expect(merged.nhi('svc-orders')).toMatchObject({ owner: 'alice' });
    expect(merged.conflicts).toContainEqual(expect.objectContaining({ kind: 'nhi', subject: 'svc-orders' }));
  });
});

describe('PolicyDocuments.applyScim', () => {
  const files = { catalog: '/p/catalog.yaml', directory: '/p/directory.yaml' };
  const texts: Record<string, string> = { [files.catalog]: readFileSync(EXAMPLE_CATALOG_PATH, 'utf8'), [files.directory]: readFileSync(EXAMPLE_DIRECTORY_PATH, 'utf8') };
  const read: ReadText = async (file) => texts[file] as string;
  let CATALOG_FIRST = texts[files.catalog] as string;

  it('puts SCIM in force at once for decisions, with a new directory version, and keeps it over a file reload', async () => {
    const seen: string[] = [];
    const documents = await PolicyDocuments.load(files, { read, onDirectory: (next) => seen.push(next.version) });
    const before = documents.current().directory.version;
    const request = JSON.parse(readFileSync(new URL('../../examples/requests/nhi-dual-approval.granted.json', import.meta.url), 'utf8')) as Parameters<typeof decide>[0];
    const now = new Date(Math.max(...request.approvals.map((a) => Date.parse(a.decidedAt))) + 3600_000);
    const decideNow = () => decide(request, documents.current().catalog, documents.current().directory, now, { policyVersion: 'test' });
    expect(decideNow().outcome).toBe('granted');
    const report = documents.applyScim({ users: [user({ principalId: 'alice', active: false })], groups: [] });
    expect(report.problems).toEqual([]);
    expect(documents.current().directory.version).not.toBe(before);
    expect(documents.current().directory.principal('alice')?.active).toBe(false);
    expect(seen).toEqual([before, documents.current().directory.version]);

    const decision = decideNow();
    expect(decision.outcome).toBe('rejected');
    expect(JSON.stringify(decision)).toContain('OWNER_INACTIVE');
    expect(JSON.stringify(decision)).toContain(documents.current().directory.version);

    // A reload of the file (nothing changed) leaves SCIM's word in force.
    await documents.reload();
    expect(documents.current().directory.principal('alice')?.active).toBe(false);
  });

  it('reports catalog entries whose approver group SCIM took away, and applies it even so', async () => {
    const texts2 = { ...texts, [files.catalog]: (texts[files.catalog] as string).replace('- { group: data-platform-owners, min: 2 }', '- { group: scim-approvers, min: 2 }') };
    const documents = await PolicyDocuments.load(files, { read: async (file) => (file === files.catalog ? CATALOG_FIRST : (texts2[file] as string)) });
    // The catalog can name the group once SCIM has it.
    documents.applyScim({ users: [], groups: [group('scim-approvers', [])] });
    CATALOG_FIRST = texts2[files.catalog] as string;
    expect((await documents.reload()).outcome).toBe('reloaded');
    const report = documents.applyScim({ users: [], groups: [] });
    expect(report.problems).toEqual([expect.objectContaining({ document: 'catalog', message: expect.stringContaining('"scim-approvers"') })]);
    expect(documents.current().directory.hasGroup('scim-approvers')).toBe(false);
  });
});
