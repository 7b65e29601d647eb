import { GROUP_SCHEMA } from './group.js';
import { ENTERPRISE_USER_SCHEMA, GRANTLINE_USER_SCHEMA, USER_SCHEMA } from './user.js';

/** Most resources one list answer holds (`count` above it is lowered to it). */
export const MAX_RESULTS = 200;

const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/** RFC 7644 §3.4.2 ListResponse. */
export function listResponse(resources: readonly unknown[], total: number, startIndex: number): Record<string, unknown> {
  return { schemas: [LIST_RESPONSE], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}

/** RFC 7643 §5: what this service provider supports. */
export function serviceProviderConfig(): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: 'https://github.com/grantline/grantline#connect-your-idp',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      { type: 'oauthbearertoken', name: 'Bearer token', description: 'The token of scim.bearerToken in the grantline config, as `Authorization: Bearer <token>`.', primary: true },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: '/scim/v2/ServiceProviderConfig' },
  };
}

/** RFC 7643 §6: the resource types. */
export function resourceTypes(): Record<string, unknown>[] {
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'A person; grantline keeps what its decisions need.',
      schema: USER_SCHEMA,
      schemaExtensions: [
        { schema: ENTERPRISE_USER_SCHEMA, required: false },
        { schema: GRANTLINE_USER_SCHEMA, required: false },
      ],
      meta: { resourceType: 'ResourceType', location: '/scim/v2/ResourceTypes/User' },
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'A group of people; its members may approve what the catalog names the group for.',
      schema: GROUP_SCHEMA,
      meta: { resourceType: 'ResourceType', location: '/scim/v2/ResourceTypes/Group' },
    },
  ];
}

interface AttributeOptions {
  readonly type?: 'string' | 'boolean' | 'complex' | 'reference';
  readonly multiValued?: boolean;
  readonly required?: boolean;
  readonly caseExact?: boolean;
  readonly mutability?: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  readonly uniqueness?: 'none' | 'server' | 'global';
  readonly subAttributes?: readonly Record<string, unknown>[];
  readonly referenceTypes?: readonly string[];
}

function attribute(name: string, description: string, o: AttributeOptions = {}): Record<string, unknown> {
  return {
    name,
    type: o.type ?? 'string',
    multiValued: o.multiValued ?? false,
    description,
    required: o.required ?? false,
    caseExact: o.caseExact ?? false,
    mutability: o.mutability ?? 'readWrite',
    returned: 'default',
    uniqueness: o.uniqueness ?? 'none',
    ...(o.subAttributes === undefined ? {} : { subAttributes: o.subAttributes }),
    ...(o.referenceTypes === undefined ? {} : { referenceTypes: o.referenceTypes }),
  };
}

function schema(id: string, name: string, description: string, attributes: Record<string, unknown>[]): Record<string, unknown> {
  return { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'], id, name, description, attributes, meta: { resourceType: 'Schema', location: `/scim/v2/Schemas/${id}` } };
}

const NAME_SUBS = ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map((n) => attribute(n, `name.${n}`));

/**
 * RFC 7643 §7: the attributes grantline keeps. Other attributes of the core and enterprise User
 * schemas are accepted and not kept (an IdP's default mappings send them).
 */
export function schemaDefinitions(): Record<string, unknown>[] {
  return [
    schema(USER_SCHEMA, 'User', 'User Account', [
      attribute('userName', 'Unique identifier of the user at the IdP; an email address when it names a principal of the directory file.', { required: true, uniqueness: 'server' }),
      attribute('name', 'The parts of the name.', { type: 'complex', subAttributes: NAME_SUBS }),
      attribute('displayName', 'The name grantline shows.'),
      attribute('active', 'false deactivates the person: their grants, and those of the NHIs they own, are revoked.', { type: 'boolean' }),
      attribute('emails', 'Email addresses; the primary one is matched to the ticketing systems\' users.', {
        type: 'complex',
        multiValued: true,
        subAttributes: [attribute('value', 'The address.'), attribute('type', 'work, home or other.'), attribute('primary', 'The primary address.', { type: 'boolean' }), attribute('display', 'Display value.')],
      }),
      attribute('externalId', 'The IdP\'s own id of the user.', { caseExact: true }),
    ]),
    schema(ENTERPRISE_USER_SCHEMA, 'EnterpriseUser', 'Enterprise User', [
      attribute('manager', 'The user\'s manager: may approve their requests where the catalog allows it.', {
        type: 'complex',
        subAttributes: [attribute('value', 'The id of the manager\'s User.', { caseExact: true }), attribute('$ref', 'The URI of the manager\'s User.', { type: 'reference', referenceTypes: ['User'] })],
      }),
    ]),
    schema(GRANTLINE_USER_SCHEMA, 'GrantlineUser', 'How grantline and the ticketing systems know the person', [
      attribute('principalId', 'The grantline principal id (lower case). Set it at creation, or grantline binds the user to the directory file\'s principal with this userName or email, else to the lower-cased userName.', { mutability: 'immutable', caseExact: true, uniqueness: 'server' }),
      attribute('jiraAccountId', 'Jira Cloud accountId.', { caseExact: true, uniqueness: 'server' }),
      attribute('jiraUsername', 'Jira Data Center username.', { uniqueness: 'server' }),
      attribute('jiraUserKey', 'Jira Data Center user key.', { caseExact: true, uniqueness: 'server' }),
      attribute('servicenowSysId', 'ServiceNow sys_user sys_id (32 hex characters).', { uniqueness: 'server' }),
    ]),
    schema(GROUP_SCHEMA, 'Group', 'Group', [
      attribute('displayName', 'The group\'s name; as a grantline group name, characters other than letters, digits, ".", "_" and "-" become "-".', { required: true, uniqueness: 'server' }),
      attribute('members', 'The users in the group.', {
        type: 'complex',
        multiValued: true,
        subAttributes: [attribute('value', 'The id of the member\'s User.', { caseExact: true }), attribute('display', 'Display value.'), attribute('$ref', 'The URI of the member.', { type: 'reference', referenceTypes: ['User'] })],
      }),
      attribute('externalId', 'The IdP\'s own id of the group.', { caseExact: true }),
    ]),
  ];
}
