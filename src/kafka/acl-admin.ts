import { createRequire } from 'node:module';
import type { AclEntry, Kafka } from 'kafkajs';
import type * as KafkaJs from 'kafkajs';
import type { AclRule } from './acls.js';

// kafkajs is CommonJS; its enums are runtime values Node's ESM loader cannot name (see topics.ts).
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = createRequire(import.meta.url)('kafkajs') as typeof KafkaJs;

/** One rule for one principal, in the admin API's terms (any host). */
export function aclEntry(rule: AclRule, principal: string): AclEntry {
  return {
    principal,
    host: '*',
    resourceType: AclResourceTypes[rule.resourceType],
    resourceName: rule.resourceName,
    resourcePatternType: ResourcePatternTypes[rule.patternType],
    operation: AclOperationTypes[rule.operation],
    permissionType: AclPermissionTypes[rule.permission],
  };
}

/**
 * Creates the rules for `principal` with the admin API. The broker keeps an ACL that exists already
 * once, so applying a set again changes nothing. Needs a principal allowed to ALTER the cluster
 * (a super user). Nothing is removed: ACLs a principal had before stay.
 */
export async function applyAcls(kafka: Kafka, principal: string, rules: readonly AclRule[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createAcls({ acl: rules.map((r) => aclEntry(r, principal)) });
  } finally {
    await admin.disconnect();
  }
}
