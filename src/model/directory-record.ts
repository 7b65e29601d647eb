import { z } from 'zod';
import { IsoDateTime } from './common.js';

/**
 * What the identity provider told grantline about people and groups, as kept on the compacted
 * topic `grantline.directory.v1` (internal: only grantline reads it). The SCIM endpoint writes
 * these records; every role reads them into a view and merges them over the directory file. Each
 * record is the whole current state of one user or group: the latest record of a key wins.
 */

/** An email of a SCIM user, as the IdP sent it. */
export const ScimEmail = z.object({
  value: z.string().min(1),
  type: z.string().min(1).optional(),
  primary: z.boolean().optional(),
  display: z.string().optional(),
});
export type ScimEmail = z.infer<typeof ScimEmail>;

/** RFC 7643 §4.1.1 `name`: every sub-attribute optional. */
export const ScimName = z.object({
  formatted: z.string().optional(),
  familyName: z.string().optional(),
  givenName: z.string().optional(),
  middleName: z.string().optional(),
  honorificPrefix: z.string().optional(),
  honorificSuffix: z.string().optional(),
});
export type ScimName = z.infer<typeof ScimName>;

/**
 * The person's accounts in the ticketing systems, from grantline's SCIM extension schema
 * (`urn:grantline:scim:schemas:extension:2.0:User`), which an IdP admin maps as custom attributes.
 */
export const ScimTicketingIdentities = z.object({
  jiraAccountId: z.string().min(1).optional(),
  jiraUsername: z.string().min(1).optional(),
  jiraUserKey: z.string().min(1).optional(),
  servicenowSysId: z.string().min(1).optional(),
});
export type ScimTicketingIdentities = z.infer<typeof ScimTicketingIdentities>;

/** A SCIM user: one person, bound at creation to one grantline principal id for good. */
export const ScimUserRecord = z.object({
  kind: z.literal('user'),
  /** The SCIM `id` grantline assigned (a UUID); stable, never reassigned. */
  id: z.string().min(1),
  /** The directory principal this user is; fixed when the user is created. */
  principalId: z.string().min(1),
  externalId: z.string().nullable(),
  userName: z.string().min(1),
  active: z.boolean(),
  displayName: z.string().nullable(),
  name: ScimName.nullable(),
  emails: z.array(ScimEmail),
  /** Enterprise extension `manager.value`: the SCIM id of the manager (or a principal id), or null. */
  manager: z.string().nullable(),
  identities: ScimTicketingIdentities,
  created: IsoDateTime,
  lastModified: IsoDateTime,
  /**
   * Set by `DELETE`: the user is gone from the SCIM API, and stays on the topic as an inactive
   * principal, so the directory file cannot bring them back as active.
   */
  deleted: z.boolean(),
});
export type ScimUserRecord = z.infer<typeof ScimUserRecord>;

/** A member of a SCIM group: the SCIM id of a user. */
export const ScimMember = z.object({
  value: z.string().min(1),
  display: z.string().optional(),
});
export type ScimMember = z.infer<typeof ScimMember>;

/** A SCIM group. Its grantline group name comes from `displayName` (see `groupNameOf`). */
export const ScimGroupRecord = z.object({
  kind: z.literal('group'),
  id: z.string().min(1),
  externalId: z.string().nullable(),
  displayName: z.string().min(1),
  members: z.array(ScimMember),
  created: IsoDateTime,
  lastModified: IsoDateTime,
  /** Set by `DELETE`: the group stays known, with no members, so the file's group of that name does not come back. */
  deleted: z.boolean(),
});
export type ScimGroupRecord = z.infer<typeof ScimGroupRecord>;

/** One record of `grantline.directory.v1`. */
export const DirectoryRecord = z.discriminatedUnion('kind', [ScimUserRecord, ScimGroupRecord]);
export type DirectoryRecord = z.infer<typeof DirectoryRecord>;

/** The Kafka key of a record: `user:<principalId>` or `group:<SCIM id>`. */
export function directoryRecordKey(record: DirectoryRecord): string {
  return record.kind === 'user' ? `user:${record.principalId}` : `group:${record.id}`;
}

/**
 * The grantline group name of a SCIM group: its `displayName` with every run of characters a
 * group name cannot hold (anything but letters, digits, `.`, `_` and `-`) replaced by one `-`, and
 * leading ones dropped. Okta's "Data Platform Owners" is `Data-Platform-Owners`.
 */
export function groupNameOf(displayName: string): string {
  return displayName.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
}
