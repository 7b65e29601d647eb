/**
 * PATCH and body handling of Users and Groups, with the identity providers' own requests
 * (vendored) for each of their quirks.
 */
import { describe, expect, it } from 'vitest';
import type { ScimUserRecord } from '../../src/model/index.js';
import { ScimError } from '../../src/scim/errors.js';
import { emptyGroupDraft, groupType, type GroupDraft } from '../../src/scim/group.js';
import { applyBody, applyPatch } from '../../src/scim/resource.js';
import { emptyUserDraft, userDraftOf, userType, type UserDraft } from '../../src/scim/user.js';
import { fixtureJson, httpFixture } from '../fixtures/scim/requests.js';

const alice: ScimUserRecord = {
  kind: 'user',
  id: 'u-alice',
  principalId: 'alice',
  externalId: 'ext-1',
  userName: 'alice@example.com',
  active: true,
  displayName: 'Alice Archer',
  name: { givenName: 'Alice', familyName: 'Archer' },
  emails: [{ value: 'alice@example.com', type: 'work', primary: true }],
  manager: null,
  identities: { jiraAccountId: '90bd90594497006fc7e0f1bd' },
  created: '2026-01-01T00:00:00.000Z',
  lastModified: '2026-01-01T00:00:00.000Z',
  deleted: false,
};

function patched(body: unknown, from: ScimUserRecord = alice): UserDraft {
  const draft = userDraftOf(from);
  applyPatch(userType, draft, body);
  return draft;
}

function groupPatched(body: unknown, members = ['u-1', 'u-2']): GroupDraft {
  const draft: GroupDraft = { displayName: 'Test SCIMv2', externalId: null, members: members.map((value) => ({ value })) };
  applyPatch(groupType, draft, body);
  return draft;
}

function refusal(run: () => void): ScimError {
  try {
    run();
  } catch (err) {
    if (err instanceof ScimError) return err;
    throw err;
  }
  throw new Error('accepted');
}

const patchOf = (...operations: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: operations });
const httpBody = (name: string): unknown => JSON.parse(httpFixture(name).body as string);

describe('Entra ID quirks (its published requests)', () => {
  it('deactivates with "op": "Replace" and "value": "False" (a string), as it does without the SCIM-compliance flag', () => {
    expect(patched(fixtureJson('entra/compat.disable-user.without-flag.json')).active).toBe(false);
    expect(patched(fixtureJson('entra/compat.disable-user.with-flag.json')).active).toBe(false);
    expect(patched(fixtureJson('entra/tutorial.disable-user.json')).active).toBe(false);
  });

  it('reactivates with "True" in any case', () => {
    expect(patched(patchOf({ op: 'Replace', path: 'active', value: 'True' }), { ...alice, active: false }).active).toBe(true);
    expect(patched(patchOf({ op: 'REPLACE', path: 'active', value: 'true' }), { ...alice, active: false }).active).toBe(true);
  });

  it('replaces several attributes by path, an ignored enterprise attribute among them', () => {
    const draft = patched(fixtureJson('entra/compat.replace-multiple.without-flag.json'));
    expect(draft).toMatchObject({ displayName: 'Pvlo', externalId: 'Eqpj', name: { givenName: 'Gtfd', familyName: 'Pkqf' } });
    expect(draft.emails).toEqual([{ value: 'TestBcwqnm@test.microsoft.com', type: 'work', primary: true }]);
  });

  it('replaces with attribute paths as the keys of one value (with the flag)', () => {
    const draft = patched(fixtureJson('entra/compat.replace-multiple.with-flag.json'));
    expect(draft).toMatchObject({ displayName: 'Bjfe', name: { givenName: 'Kkom', familyName: 'Unua' } });
    expect(draft.emails).toEqual([{ value: 'TestMhvaes@test.microsoft.com', type: 'work', primary: true }]);
  });

  it('sets emails[type eq "work"].value on a user who has no work email yet', () => {
    const draft = patched(fixtureJson('entra/tutorial.update-user-multi-valued.json'), { ...alice, emails: [] });
    expect(draft.emails).toEqual([{ value: 'updatedEmail@microsoft.com', type: 'work' }]);
    expect(draft.name).toEqual({ givenName: 'Alice', familyName: 'updatedFamilyName' });
  });

  it('accepts an attribute it does not keep (nickName) and changes nothing', () => {
    expect(patched(fixtureJson('entra/compat.add-single-value.without-flag.json'))).toEqual(userDraftOf(alice));
    expect(patched(fixtureJson('entra/compat.add-single-value.with-flag.json'))).toEqual(userDraftOf(alice));
  });

  it('sets the manager by the enterprise URN path with the id as a plain string, and by "manager" with [{ $ref, value }]', () => {
    expect(patched(fixtureJson('ours:entra-manager-urn.json')).manager).toBe('00aa00aa-bb11-cc22-dd33-44ee44ee44ee');
    expect(patched(httpBody('entra/tutorial.example5-update-manager.http')).manager).toBe('00aa00aa-bb11-cc22-dd33-44ee44ee44ee');
    expect(patched(patchOf({ op: 'Replace', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager', value: { value: 'dave-id' } })).manager).toBe('dave-id');
    expect(patched(patchOf({ op: 'Remove', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager' }), { ...alice, manager: 'x' }).manager).toBeNull();
  });

  it('removes a group member listed in value (without the flag) or selected by a filter (with it)', () => {
    expect(groupPatched(fixtureJson('entra/compat.remove-member.without-flag.json'), ['u1091', 'u-2']).members).toEqual([{ value: 'u-2' }]);
    expect(groupPatched(fixtureJson('entra/compat.remove-member.with-flag.json'), ['7f4bc1a3-285e-48ae-8202-5accb43efb0e', 'u-2']).members).toEqual([{ value: 'u-2' }]);
    expect(groupPatched(fixtureJson('entra/tutorial.update-group-add-members.json'), []).members).toEqual([{ value: 'f648f8d5ea4e4cd38e9c' }]);
    expect(groupPatched(fixtureJson('entra/tutorial.update-group-remove-members.json'), ['f648f8d5ea4e4cd38e9c']).members).toEqual([]);
  });

  it('creates a user from Example 2 (top-level "manager" and "department" as null, a misspelt schema URN listed)', () => {
    const draft = emptyUserDraft();
    applyBody(userType, draft, httpBody('entra/tutorial.example2-provision-user.http'));
    expect(draft).toMatchObject({ userName: 'jyoung@testuser.com', externalId: 'jyoung', displayName: 'Joy Young', active: true, manager: null });
    expect(draft.emails).toEqual([{ type: 'work', value: 'jyoung@Contoso.com', primary: true }]);
  });
});

describe('Okta (its published requests)', () => {
  it('deactivates with a replace whose value is { active: false }', () => {
    expect(patched(httpBody('okta/06-deactivate-user-patch.http')).active).toBe(false);
  });

  it('renames a group with a replace whose value repeats the read-only id', () => {
    expect(groupPatched(httpBody('okta/11-rename-group-patch.http')).displayName).toBe('Test SCIMv2');
  });

  it('removes a member that is not there (no change) and adds one, in one PATCH', () => {
    const draft = groupPatched(httpBody('okta/12-update-group-membership-patch.http'), ['u-1']);
    expect(draft.members).toEqual([{ value: 'u-1' }, { value: '23a35c27-23d3-4c03-b4c5-6443c09e7173', display: 'test.user@okta.local' }]);
  });

  it('replaces all members', () => {
    expect(groupPatched(httpBody('okta/14-replace-group-members-patch.http')).members.map((m) => m.value)).toEqual(['23a35c27-23d3-4c03-b4c5-6443c09e7173', '89bb1940-b905-4575-9e7f-6f887cfb368e']);
  });

  it('creates a user, ignoring the password placeholder, locale and the read-only groups', () => {
    const draft = emptyUserDraft();
    applyBody(userType, draft, httpBody('okta/02-create-user.http'));
    expect(draft).toMatchObject({ userName: 'test.user@okta.local', displayName: 'Test User', externalId: '00ujl29u0le5T6Aj10h7', active: true, name: { givenName: 'Test', familyName: 'User' } });
    expect(JSON.stringify(draft)).not.toContain('1mz050nq');
  });
});

describe('grantline extension and groups', () => {
  it('takes the ticketing identities and the principal id from the grantline extension', () => {
    const draft = emptyUserDraft();
    applyBody(userType, draft, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:grantline:scim:schemas:extension:2.0:User'],
      userName: 'zoe@example.com',
      'urn:grantline:scim:schemas:extension:2.0:User': { principalId: 'zoe', jiraAccountId: 'acc-zoe', servicenowSysId: 'ABCDEF0123456789ABCDEF0123456789' },
    });
    expect(draft.principalId).toBe('zoe');
    expect(draft.identities).toEqual({ jiraAccountId: 'acc-zoe', servicenowSysId: 'ABCDEF0123456789ABCDEF0123456789' });
    const changed = userDraftOf({ ...alice, identities: {} });
    applyPatch(userType, changed, patchOf({ op: 'add', path: 'urn:grantline:scim:schemas:extension:2.0:User:jiraUsername', value: 'alice' }));
    expect(changed.identities).toEqual({ jiraUsername: 'alice' });
  });

  it('a group body needs the Group schema, and keeps members and displayName', () => {
    const draft = emptyGroupDraft();
    applyBody(groupType, draft, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Ops', members: [{ value: 'u-1', display: 'a' }] });
    expect(draft).toEqual({ displayName: 'Ops', externalId: null, members: [{ value: 'u-1', display: 'a' }] });
    expect(refusal(() => applyBody(groupType, emptyGroupDraft(), { displayName: 'Ops' })).scimType).toBe('invalidSyntax');
  });
});

describe('bad input: the right SCIM error', () => {
  it.each([
    ['an unknown attribute path', patchOf({ op: 'replace', path: 'favouriteColour', value: 'red' }), 'invalidPath'],
    ['an unknown sub-attribute', patchOf({ op: 'replace', path: 'name.nickname', value: 'x' }), 'invalidPath'],
    ['an unknown schema URN', patchOf({ op: 'replace', path: 'urn:example:params:scim:schemas:extension:custom:2.0:User:tag', value: 'x' }), 'invalidPath'],
    ['an unknown key in a value object', patchOf({ op: 'replace', value: { favouriteColour: 'red' } }), 'invalidPath'],
    ['a malformed path', patchOf({ op: 'replace', path: 'emails[type eq "work"', value: 'x' }), 'invalidPath'],
    ['remove without a path', patchOf({ op: 'remove' }), 'noTarget'],
    ['an unknown op', patchOf({ op: 'move', path: 'active', value: false }), 'invalidSyntax'],
    ['active that is not a boolean', patchOf({ op: 'replace', path: 'active', value: 'nope' }), 'invalidValue'],
    ['removing userName', patchOf({ op: 'remove', path: 'userName' }), 'mutability'],
    ['removing active', patchOf({ op: 'remove', path: 'active' }), 'mutability'],
    ['a sys_id that is not one', patchOf({ op: 'add', path: 'urn:grantline:scim:schemas:extension:2.0:User:servicenowSysId', value: 'abc' }), 'invalidValue'],
    ['no PatchOp schema', { Operations: [{ op: 'replace', path: 'active', value: false }] }, 'invalidSyntax'],
    ['no operations', patchOf(), 'invalidSyntax'],
    ['replace of a missing email selected by value', patchOf({ op: 'replace', path: 'emails[value eq "x@example.com"].value', value: 'y@example.com' }), 'noTarget'],
  ])('%s', (_what, body, scimType) => {
    const err = refusal(() => patched(body));
    expect(err.status).toBe(400);
    expect(err.scimType).toBe(scimType);
  });

  it('an unknown attribute in a body is invalidSyntax', () => {
    const err = refusal(() => applyBody(userType, emptyUserDraft(), { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'a', favouriteColour: 'red' }));
    expect(err.scimType).toBe('invalidSyntax');
    expect(err.message).toContain('favouriteColour');
  });

  it('a group members filter on anything but value is invalidPath', () => {
    expect(refusal(() => groupPatched(patchOf({ op: 'remove', path: 'members[display eq "x"]' }))).scimType).toBe('invalidPath');
  });
});
