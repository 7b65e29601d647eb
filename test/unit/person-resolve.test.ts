/**
 * The email fallback for a person a ticketing system names: the source identity first, then the
 * email the system gave when exactly one principal (active or not) has it; a shared email resolves
 * nobody and says which principals share it and what the IdP admin should map.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MergedDirectory, parseDirectory } from '../../src/catalog/index.js';
import type { ScimUserRecord } from '../../src/model/index.js';
import { EXAMPLE_DIRECTORY_PATH } from '../fixtures/requests/factory.js';
import { scimUser } from '../fixtures/scim/records.js';

const FILE = parseDirectory(readFileSync(EXAMPLE_DIRECTORY_PATH, 'utf8'));

/** A SCIM user known by `email`, with a userName that is not an email. */
const user = (principalId: string, email: string, over: Partial<ScimUserRecord> = {}): ScimUserRecord =>
  scimUser(principalId, { userName: principalId, emails: [{ value: email, type: 'work', primary: true }], ...over });

const merged = (...users: ScimUserRecord[]) => new MergedDirectory(FILE.document, { users, groups: [] });
const UNKNOWN_ACCOUNT = { kind: 'jira-account-id', value: 'acc-nobody-knows' } as const;

describe('resolvePerson: the email fallback', () => {
  it('resolves by the source identity first, whatever the email', () => {
    const dir = merged(user('erin', 'erin@example.com'));
    expect(dir.resolvePerson({ kind: 'jira-account-id', value: '90bd90594497006fc7e0f1bd' }, 'erin@example.com')).toEqual({ principalId: 'alice', by: 'identity' });
  });

  it('falls back to a unique email, case-insensitively, active or not', () => {
    const dir = merged(user('erin', 'Erin.Example@Example.com', { active: false }));
    expect(dir.resolve(UNKNOWN_ACCOUNT)).toBeNull();
    expect(dir.resolvePerson(UNKNOWN_ACCOUNT, 'erin.example@EXAMPLE.com')).toEqual({ principalId: 'erin', by: 'email' });
    // The file alone (emails unique by validation) falls back the same way.
    expect(FILE.resolvePerson({ kind: 'servicenow-sys-id', value: 'f'.repeat(32) }, 'BOB@example.com')).toEqual({ principalId: 'bob', by: 'email' });
  });

  it('resolves nobody without an email, or with an email nobody has', () => {
    const dir = merged(user('erin', 'erin@example.com'));
    expect(dir.resolvePerson(UNKNOWN_ACCOUNT)).toEqual({ principalId: null, ambiguous: null });
    expect(dir.resolvePerson(UNKNOWN_ACCOUNT, null)).toEqual({ principalId: null, ambiguous: null });
    expect(dir.resolvePerson(UNKNOWN_ACCOUNT, '  ')).toEqual({ principalId: null, ambiguous: null });
    expect(dir.resolvePerson(UNKNOWN_ACCOUNT, 'zoe@example.com')).toEqual({ principalId: null, ambiguous: null });
  });

  it('resolves nobody when several principals share the email, naming them and the attribute to map', () => {
    // Two SCIM users, and a SCIM user against the file's alice: the merge keeps the email for one
    // holder only, but for the fallback it is still shared.
    const dir = merged(user('erin', 'shared@example.com'), user('frank', 'SHARED@example.com'), user('alice2', 'alice@example.com'));
    const shared = dir.resolvePerson(UNKNOWN_ACCOUNT, 'shared@example.com');
    expect(shared.principalId).toBeNull();
    expect(shared).toMatchObject({ ambiguous: { email: 'shared@example.com', principals: ['erin', 'frank'] } });
    const text = shared.principalId === null ? (shared.ambiguous?.explanation ?? '') : '';
    expect(text).toContain('shared@example.com matches several (erin, frank)');
    expect(text).toContain('urn:grantline:scim:schemas:extension:2.0:User:jiraAccountId');
    expect(text).toContain('IdP admin');
    const withFile = dir.resolvePerson({ kind: 'servicenow-sys-id', value: 'f'.repeat(32) }, 'alice@example.com');
    expect(withFile).toMatchObject({ principalId: null, ambiguous: { principals: ['alice', 'alice2'] } });
    expect(withFile.principalId === null ? withFile.ambiguous?.explanation : '').toContain('servicenowSysId');
  });
});
