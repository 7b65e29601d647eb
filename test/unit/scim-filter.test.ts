import { describe, expect, it } from 'vitest';
import type { ScimUserRecord } from '../../src/model/index.js';
import { ScimError } from '../../src/scim/errors.js';
import { matches, parseFilter } from '../../src/scim/filter.js';
import { USER_SCHEMA, USER_FILTER } from '../../src/scim/user.js';

const user = (over: Partial<ScimUserRecord> = {}): ScimUserRecord => ({
  kind: 'user',
  id: 'u-1',
  principalId: 'alice',
  externalId: '00ujl29u0le5T6Aj10h7',
  userName: 'Alice@Example.com',
  active: true,
  displayName: 'Alice Archer',
  name: null,
  emails: [],
  manager: null,
  identities: {},
  created: '2026-01-01T00:00:00.000Z',
  lastModified: '2026-01-01T00:00:00.000Z',
  deleted: false,
  ...over,
});

const parse = (text: string) => parseFilter(text, USER_FILTER, USER_SCHEMA);

function refusal(text: string): ScimError {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof ScimError) return err;
    throw err;
  }
  throw new Error(`filter ${text} was accepted`);
}

describe('SCIM filter', () => {
  it.each([
    ['userName eq "alice@example.com"', true],
    ['username EQ "ALICE@EXAMPLE.COM"', true],
    [`${USER_SCHEMA}:userName eq "alice@example.com"`, true],
    ['externalId eq "00ujl29u0le5T6Aj10h7"', true],
    ['externalId eq "00UJL29U0LE5T6AJ10H7"', false],
    ['displayName eq "alice archer"', true],
    ['userName eq "alice@example.com" and externalId eq "00ujl29u0le5T6Aj10h7"', true],
    ['userName eq "alice@example.com" AND displayName eq "Bob"', false],
    ['  userName   eq   "alice@example.com"  ', true],
    ['userName eq "bob@example.com"', false],
    ['', true],
  ])('%s selects the user: %s', (text, expected) => {
    expect(matches(user(), parse(text))).toBe(expected);
  });

  it('reads the value as a JSON string, escapes included', () => {
    expect(matches(user({ displayName: 'Say "hi"\\' }), parse('displayName eq "Say \\"hi\\"\\\\"'))).toBe(true);
  });

  it('a user without the attribute does not match', () => {
    expect(matches(user({ externalId: null }), parse('externalId eq "x"'))).toBe(false);
  });

  it.each([
    ['userName eq "a" or userName eq "b"', '`or` is not supported'],
    ['not userName eq "a"', '`not` is not supported'],
    ['(userName eq "a")', 'parentheses'],
    ['emails[type eq "work"].value eq "a@example.com"', 'value filters'],
    ['userName co "a"', 'the operator "co" is not supported'],
    ['userName pr', 'the operator "pr" is not supported'],
    ['userName eq a@example.com', 'expected a quoted string value'],
    ['userName eq true', 'expected a quoted string value'],
    ['nickName eq "Babs"', 'unknown attribute "nickName"'],
    ['userName eq "open', 'the string value is not closed'],
    ['userName eq "a" userName eq "b"', 'expected `and` or the end'],
    ['userName eq "a" and', 'expected an attribute name'],
    ['userName eq"a"', 'expected a space'],
  ])('refuses %s with 400 invalidFilter (%s)', (text, detail) => {
    const err = refusal(text);
    expect(err.status).toBe(400);
    expect(err.scimType).toBe('invalidFilter');
    expect(err.message).toContain(detail);
    expect(err.body()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidFilter' });
  });
});
