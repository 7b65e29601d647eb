/**
 * The least-privilege Kafka ACLs of each role: which topics, consumer groups and transactional ids
 * a principal running that role may use, and how. Derived from the names in `topics.ts` and
 * `names.ts`, so they follow the code that uses them. `grantline acls` prints and applies them;
 * docs/security.md explains them.
 */
import { adapterGroupPrefix, clientNames } from './names.js';
import { grantTopicPrefix, topicNames, type TopicNames } from './topics.js';

export type AclResourceType = 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID';
export type AclPatternType = 'LITERAL' | 'PREFIXED';
export type AclOperation = 'READ' | 'WRITE' | 'DESCRIBE' | 'DESCRIBE_CONFIGS' | 'CREATE';

/** One ALLOW rule for one principal, from any host. */
export interface AclRule {
  readonly resourceType: AclResourceType;
  readonly resourceName: string;
  readonly patternType: AclPatternType;
  readonly operation: AclOperation;
  readonly permission: 'ALLOW';
}

/** The roles `grantline acls --role` knows. `processor` includes `writeback` (one `serve --role processor` runs both). */
export const ACL_ROLES = ['ingress', 'processor', 'writeback', 'lifecycle', 'operator', 'adapter', 'identity-feed'] as const;
export type AclRole = (typeof ACL_ROLES)[number];

/** What the names of a deployment depend on: its config, and for an adapter its channel and name. */
export interface AclContext {
  readonly topicPrefix: string;
  readonly serviceName: string;
  /** `scim.enabled`: the ingress role then writes the directory and identity lifecycle topics. */
  readonly scimEnabled: boolean;
  /** For `adapter`: the grant channel it serves (`access.grants.<channel>.v1`). */
  readonly channel?: string;
  /** For `adapter`: its name (adapters/kit `name`), which names its consumer groups. */
  readonly adapterName?: string;
}

type Resource = { type: AclResourceType; name: string; pattern: AclPatternType };

const topic = (name: string): Resource => ({ type: 'TOPIC', name, pattern: 'LITERAL' });
const topicPrefixed = (name: string): Resource => ({ type: 'TOPIC', name, pattern: 'PREFIXED' });
const groupPrefixed = (name: string): Resource => ({ type: 'GROUP', name, pattern: 'PREFIXED' });
const group = (name: string): Resource => ({ type: 'GROUP', name, pattern: 'LITERAL' });
const txPrefixed = (name: string): Resource => ({ type: 'TRANSACTIONAL_ID', name, pattern: 'PREFIXED' });

/** Every grant topic of the deployment, whatever the catalog's channels are now or later. */
function grantTopics(prefix: string): Resource {
  return topicPrefixed(grantTopicPrefix(prefix));
}

/** Every topic `serve` makes sure of at start (`ensureTopics`): it describes them and creates those missing. */
function servedTopics(t: TopicNames, prefix: string): Resource[] {
  // Every named topic (`topicSpecs` creates each of them), so a topic added there is covered here.
  const fixed = Object.values(t).filter((name): name is string => typeof name === 'string');
  return [...fixed.map(topic), grantTopics(prefix)];
}

class RuleSet {
  private readonly rules = new Map<string, AclRule>();
  allow(resource: Resource, ...operations: AclOperation[]): this {
    for (const operation of operations) {
      const rule: AclRule = { resourceType: resource.type, resourceName: resource.name, patternType: resource.pattern, operation, permission: 'ALLOW' };
      this.rules.set(`${rule.resourceType}|${rule.patternType}|${rule.resourceName}|${rule.operation}`, rule);
    }
    return this;
  }
  list(): AclRule[] {
    return [...this.rules.values()].sort(
      (a, b) => a.resourceType.localeCompare(b.resourceType) || a.resourceName.localeCompare(b.resourceName) || a.patternType.localeCompare(b.patternType) || a.operation.localeCompare(b.operation),
    );
  }
}

/**
 * What every `serve` role needs: describe and (on a fresh cluster) create its topics at start, and
 * publish the policy reloader's alerts. Its idempotent producer needs no cluster ACL: since Kafka
 * 3.0 WRITE on any topic lets a principal open an idempotent producer (KIP-679).
 */
function serveBase(set: RuleSet, t: TopicNames, ctx: AclContext): void {
  for (const r of servedTopics(t, ctx.topicPrefix)) set.allow(r, 'DESCRIBE', 'DESCRIBE_CONFIGS', 'CREATE');
  set.allow(topic(t.alerts), 'WRITE');
  // Every role's readers send a message they refuse (bad MAC or signature, src/trust) to the DLQ.
  set.allow(topic(t.dlq), 'WRITE');
  if (ctx.scimEnabled) set.allow(topic(t.directory), 'READ');
}

/** A role that reads whole topics into memory (`TopicTail`) joins throwaway groups under one prefix. */
function tails(set: RuleSet, ctx: AclContext, ...topics: string[]): void {
  set.allow(groupPrefixed(clientNames(ctx.topicPrefix, ctx.serviceName).tailGroupPrefix), 'READ');
  for (const name of topics) set.allow(topic(name), 'READ');
}

function writeback(set: RuleSet, t: TopicNames, ctx: AclContext): void {
  const names = clientNames(ctx.topicPrefix, ctx.serviceName);
  set.allow(group(names.group('writeback')), 'READ');
  set.allow(topic(t.writeback), 'READ');
  // Records what it wrote back as a command to the ticket's processor; failures go to the DLQ.
  set.allow(topic(t.ticketEvents), 'WRITE');
  set.allow(topic(t.dlq), 'WRITE');
}

const builders: Record<AclRole, (set: RuleSet, t: TopicNames, ctx: AclContext) => void> = {
  ingress: (set, t, ctx) => {
    serveBase(set, t, ctx);
    set.allow(topic(t.ticketEvents), 'WRITE');
    // The reconciliation pollers keep their watermarks on a compacted topic and read it back.
    set.allow(topic(t.pollerState), 'WRITE');
    tails(set, ctx, t.pollerState);
    if (ctx.scimEnabled) {
      const names = clientNames(ctx.topicPrefix, ctx.serviceName);
      set.allow(txPrefixed(names.transactionalIdPrefix('scim')), 'WRITE', 'DESCRIBE');
      set.allow(topic(t.directory), 'WRITE');
      set.allow(topic(t.lifecycle), 'WRITE');
      tails(set, ctx, t.directory);
    }
  },
  processor: (set, t, ctx) => {
    serveBase(set, t, ctx);
    const names = clientNames(ctx.topicPrefix, ctx.serviceName);
    set.allow(group(names.group('processor')), 'READ');
    set.allow(topic(t.ticketEvents), 'READ');
    set.allow(txPrefixed(names.transactionalIdPrefix('processor')), 'WRITE', 'DESCRIBE');
    // Everything one decision writes, in one transaction.
    set.allow(grantTopics(ctx.topicPrefix), 'WRITE');
    for (const name of [t.rejected, t.custody, t.writeback, t.dlq, t.ticketState, t.breakGlass, t.decisionRequests, t.ticketIndex]) set.allow(topic(name), 'WRITE');
    // Restores the state of each partition it is assigned; reads every active break-glass holding.
    set.allow(groupPrefixed(names.restoreGroupPrefix), 'READ');
    set.allow(topic(t.ticketState), 'READ');
    tails(set, ctx, t.breakGlass);
    writeback(set, t, ctx);
  },
  writeback: (set, t, ctx) => {
    serveBase(set, t, ctx);
    writeback(set, t, ctx);
  },
  lifecycle: (set, t, ctx) => {
    serveBase(set, t, ctx);
    const names = clientNames(ctx.topicPrefix, ctx.serviceName);
    set.allow(group(names.group('lifecycle')), 'READ');
    set.allow(topic(t.lifecycle), 'READ');
    set.allow(topic(t.fulfillmentResults), 'READ');
    // Revocations and fulfillment records go through the ticket's processor, as commands.
    set.allow(topic(t.ticketEvents), 'WRITE');
    set.allow(topic(t.dlq), 'WRITE');
    tails(set, ctx, t.ticketState);
  },
  operator: (set, t, ctx) => {
    // `revoke`: finds the grant in the ticket index, writes a revoke command and reads the grant's
    // topic for its revocation; `evidence`: reads the index, then custody, grants and rejections at
    // the offsets it names; `directory show`: reads the SCIM directory; `tail`: also custody, alerts
    // and the DLQ; `whatif`: the decided requests. `verify` needs no Kafka.
    set.allow(topic(t.ticketEvents), 'WRITE');
    tails(set, ctx, t.ticketIndex, t.custody, t.rejected, t.directory, t.alerts, t.dlq, t.decisionRequests);
    set.allow(grantTopics(ctx.topicPrefix), 'READ');
  },
  adapter: (set, t, ctx) => {
    const channel = ctx.channel;
    const name = ctx.adapterName;
    if (channel === undefined || name === undefined) throw new Error('the adapter role needs its channel and its name');
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`adapter name may only hold letters, digits, ".", "_" and "-": ${JSON.stringify(name)}`);
    set.allow(topic(t.grants(channel)), 'READ');
    // Its own reports and refusal alerts, and everyone's, which it reads back to know what was reported.
    set.allow(topic(t.fulfillmentResults), 'READ', 'WRITE');
    set.allow(topic(t.alerts), 'READ', 'WRITE');
    set.allow(groupPrefixed(`${adapterGroupPrefix(ctx.topicPrefix, name)}-`), 'READ');
  },
  'identity-feed': (set, t) => {
    set.allow(topic(t.lifecycle), 'WRITE');
  },
};

/** The ACL rules of one or more roles (a process may run several), without duplicates, sorted. */
export function aclRules(roles: readonly AclRole[], ctx: AclContext): AclRule[] {
  const t = topicNames(ctx.topicPrefix);
  const set = new RuleSet();
  for (const role of roles) builders[role](set, t, ctx);
  return set.list();
}

/** Kafka's principal form `User:<name>`; a bare name gets `User:`. */
export function normalizePrincipal(principal: string): string {
  const value = principal.includes(':') ? principal : `User:${principal}`;
  if (!/^[A-Za-z]+:[^\s]+$/.test(value)) throw new Error(`not a Kafka principal: ${JSON.stringify(principal)} (expected User:NAME)`);
  return value;
}
