import { describe, expect, it } from 'vitest';
import { run as aclsCli } from '../../src/cli/commands/acls.js';
import { aclRules, clientNames, normalizePrincipal, partitionTransactionalId, topicNames, type AclContext, type AclOperation, type AclResourceType, type AclRule } from '../../src/kafka/index.js';

const PREFIX = 'acme.';
const ctx: AclContext = { topicPrefix: PREFIX, serviceName: 'grantline', scimEnabled: false };
const t = topicNames(PREFIX);
const names = clientNames(PREFIX, 'grantline');

/** Whether the rules let the principal do `operation` on the named resource, as Kafka matches them (READ and WRITE imply DESCRIBE). */
function allows(rules: readonly AclRule[], type: AclResourceType, name: string, operation: AclOperation): boolean {
  return rules.some(
    (r) =>
      r.resourceType === type &&
      (r.patternType === 'LITERAL' ? r.resourceName === name : name.startsWith(r.resourceName)) &&
      (r.operation === operation || (operation === 'DESCRIBE' && (r.operation === 'READ' || r.operation === 'WRITE'))),
  );
}

const INTERNAL = [t.ticketEvents, t.ticketState, t.writeback, t.pollerState, t.directory, t.dlq, t.breakGlass];

describe('Kafka ACL sets per role', () => {
  it('every topic grantline names is written and read by some role: a new topic cannot be forgotten in the ACLs', () => {
    const all = aclRules(['ingress', 'processor', 'writeback', 'lifecycle', 'operator', 'identity-feed'], { ...ctx, scimEnabled: true });
    const adapter = aclRules(['adapter'], { ...ctx, channel: 'pam', adapterName: 'pg-orders' });
    const rules = [...all, ...adapter];
    for (const [field, name] of Object.entries(t)) {
      if (typeof name !== 'string') continue;
      expect(allows(rules, 'TOPIC', name, 'WRITE'), `${field}: ${name} written by no role`).toBe(true);
      expect(allows(rules, 'TOPIC', name, 'READ'), `${field}: ${name} read by no role`).toBe(true);
    }
  });

  it('grantline whatif (the operator role) may read the decided requests; serve may create their topic', () => {
    expect(allows(aclRules(['operator'], ctx), 'TOPIC', t.decisionRequests, 'READ')).toBe(true);
    expect(allows(aclRules(['operator'], ctx), 'TOPIC', t.decisionRequests, 'WRITE')).toBe(false);
    expect(allows(aclRules(['processor'], ctx), 'TOPIC', t.decisionRequests, 'CREATE')).toBe(true);
  });

  it('an adapter may read its own channel grant topic and report results, and touches no internal topic', () => {
    const rules = aclRules(['adapter'], { ...ctx, channel: 'pam', adapterName: 'pg-orders' });
    expect(allows(rules, 'TOPIC', t.grants('pam'), 'READ')).toBe(true);
    expect(allows(rules, 'TOPIC', t.fulfillmentResults, 'WRITE')).toBe(true);
    expect(allows(rules, 'TOPIC', t.grants('secrets'), 'READ')).toBe(false);
    expect(allows(rules, 'TOPIC', t.grants('pam'), 'WRITE')).toBe(false);
    for (const topic of INTERNAL) {
      for (const op of ['READ', 'WRITE', 'DESCRIBE', 'CREATE'] as const) expect(allows(rules, 'TOPIC', topic, op), `${op} ${topic}`).toBe(false);
    }
    expect(allows(rules, 'TOPIC', t.lifecycle, 'WRITE')).toBe(false);
    expect(rules.some((r) => r.resourceType === 'TRANSACTIONAL_ID')).toBe(false);
    // Its tails' consumer groups, and no other adapter's or grantline's.
    expect(allows(rules, 'GROUP', 'acme.grantline-adapter-pg-orders-5f1c', 'READ')).toBe(true);
    expect(allows(rules, 'GROUP', 'acme.grantline-adapter-vault-5f1c', 'READ')).toBe(false);
    expect(allows(rules, 'GROUP', names.group('processor'), 'READ')).toBe(false);
  });

  it('the processor reads ticket events in its group and writes every decision output under its transactional ids', () => {
    const rules = aclRules(['processor'], ctx);
    expect(allows(rules, 'GROUP', names.group('processor'), 'READ')).toBe(true);
    expect(allows(rules, 'TOPIC', t.ticketEvents, 'READ')).toBe(true);
    // Whatever input partition it owns, its transactional id is covered; another deployment's is not.
    expect(allows(rules, 'TRANSACTIONAL_ID', partitionTransactionalId(names.group('processor'), t.ticketEvents, 5), 'WRITE')).toBe(true);
    expect(allows(rules, 'TRANSACTIONAL_ID', partitionTransactionalId(clientNames('other.', 'grantline').group('processor'), t.ticketEvents, 5), 'WRITE')).toBe(false);
    for (const topic of [t.grants('pam'), t.grants('a-channel-added-later'), t.rejected, t.custody, t.writeback, t.dlq, t.ticketState, t.breakGlass, t.decisionRequests, t.ticketIndex]) {
      expect(allows(rules, 'TOPIC', topic, 'WRITE'), topic).toBe(true);
    }
    // Every processor reads the break-glass holdings whole, in a tail group, and may create the topic at start.
    expect(allows(rules, 'TOPIC', t.breakGlass, 'READ')).toBe(true);
    expect(allows(rules, 'TOPIC', t.breakGlass, 'CREATE')).toBe(true);
    expect(allows(rules, 'GROUP', 'grantline-tail-5f1c', 'READ')).toBe(true);
    // The write-back worker runs in the same process.
    expect(allows(rules, 'GROUP', names.group('writeback'), 'READ')).toBe(true);
    // Nothing the processor does not do: it never writes identity events or fulfillment results.
    expect(allows(rules, 'TOPIC', t.lifecycle, 'WRITE')).toBe(false);
    expect(allows(rules, 'TOPIC', t.fulfillmentResults, 'WRITE')).toBe(false);
  });

  it('ingress writes ticket events but reads none and writes no decision; SCIM rules only when SCIM is on', () => {
    const rules = aclRules(['ingress'], ctx);
    expect(allows(rules, 'TOPIC', t.ticketEvents, 'WRITE')).toBe(true);
    expect(allows(rules, 'TOPIC', t.ticketEvents, 'READ')).toBe(false);
    expect(allows(rules, 'TOPIC', t.grants('pam'), 'WRITE')).toBe(false);
    expect(allows(rules, 'TOPIC', t.ticketState, 'WRITE')).toBe(false);
    expect(allows(rules, 'TOPIC', t.lifecycle, 'WRITE')).toBe(false);
    expect(allows(rules, 'TRANSACTIONAL_ID', names.transactionalId('scim', 'h'), 'WRITE')).toBe(false);
    const scim = aclRules(['ingress'], { ...ctx, scimEnabled: true });
    expect(allows(scim, 'TOPIC', t.lifecycle, 'WRITE')).toBe(true);
    expect(allows(scim, 'TOPIC', t.directory, 'WRITE')).toBe(true);
    expect(allows(scim, 'TRANSACTIONAL_ID', names.transactionalId('scim', 'h'), 'WRITE')).toBe(true);
  });

  it('every serve role can describe and create all its topics at start, so a fresh cluster starts', () => {
    for (const role of ['ingress', 'processor', 'lifecycle'] as const) {
      const rules = aclRules([role], ctx);
      for (const topic of [...INTERNAL, t.grants('pam'), t.custody, t.rejected, t.alerts, t.lifecycle, t.fulfillmentResults]) {
        expect(allows(rules, 'TOPIC', topic, 'CREATE'), `${role} ${topic}`).toBe(true);
        expect(allows(rules, 'TOPIC', topic, 'DESCRIBE_CONFIGS'), `${role} ${topic}`).toBe(true);
      }
    }
  });

  it('lifecycle reads identity events and fulfillment results and asks the processor by command; it signs nothing itself', () => {
    const rules = aclRules(['lifecycle'], ctx);
    expect(allows(rules, 'GROUP', names.group('lifecycle'), 'READ')).toBe(true);
    expect(allows(rules, 'TOPIC', t.lifecycle, 'READ')).toBe(true);
    expect(allows(rules, 'TOPIC', t.fulfillmentResults, 'READ')).toBe(true);
    expect(allows(rules, 'TOPIC', t.ticketEvents, 'WRITE')).toBe(true);
    expect(allows(rules, 'TOPIC', t.grants('pam'), 'WRITE')).toBe(false);
    expect(allows(rules, 'TOPIC', t.ticketState, 'WRITE')).toBe(false);
  });

  it('an identity feed may only write identity lifecycle events; the operator reads evidence and sends commands', () => {
    expect(aclRules(['identity-feed'], ctx)).toEqual([{ resourceType: 'TOPIC', resourceName: t.lifecycle, patternType: 'LITERAL', operation: 'WRITE', permission: 'ALLOW' }]);
    const op = aclRules(['operator'], ctx);
    expect(allows(op, 'TOPIC', t.custody, 'READ')).toBe(true);
    expect(allows(op, 'TOPIC', t.grants('pam'), 'READ')).toBe(true);
    expect(allows(op, 'TOPIC', t.ticketEvents, 'WRITE')).toBe(true);
    expect(allows(op, 'TOPIC', t.grants('pam'), 'WRITE')).toBe(false);
    expect(allows(op, 'TOPIC', t.ticketState, 'WRITE')).toBe(false);
    expect(allows(op, 'TOPIC', t.custody, 'CREATE')).toBe(false);
  });

  it('every name but the shared tail- and restore-group prefixes carries the topic prefix; several roles merge without duplicates', () => {
    const all = aclRules(['ingress', 'processor', 'lifecycle'], ctx);
    expect(all.filter((r) => !r.resourceName.startsWith(PREFIX)).map((r) => r.resourceName)).toEqual(['grantline-restore-', 'grantline-tail-']);
    const keys = all.map((r) => `${r.resourceType}|${r.patternType}|${r.resourceName}|${r.operation}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('refuses an adapter without channel or name, and names that cannot be Kafka names', () => {
    expect(() => aclRules(['adapter'], ctx)).toThrow(/channel and its name/);
    expect(() => aclRules(['adapter'], { ...ctx, channel: 'pam', adapterName: 'a b' })).toThrow(/adapter name/);
    expect(() => aclRules(['adapter'], { ...ctx, channel: 'p/m', adapterName: 'ab' })).toThrow(/grant channel/);
    expect(normalizePrincipal('svc')).toBe('User:svc');
    expect(() => normalizePrincipal('User: spaced')).toThrow(/not a Kafka principal/);
  });
});

describe('grantline acls', () => {
  const io = (): { out: string[]; err: string[]; io: { out: (l: string) => void; err: (l: string) => void } } => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l) => out.push(l), err: (l) => err.push(l) } };
  };

  it('prints the set as JSON for the config in force', async () => {
    const c = io();
    const code = await aclsCli(['--role', 'identity-feed', '--principal', 'hr-feed', '--config', 'examples/grantline.yaml', '--json'], c.io);
    expect(code).toBe(0);
    expect(JSON.parse(c.out.join('\n'))).toEqual({
      principal: 'User:hr-feed',
      host: '*',
      roles: ['identity-feed'],
      acls: [{ resourceType: 'TOPIC', resourceName: 'identity.lifecycle.v1', patternType: 'LITERAL', operation: 'WRITE', permission: 'ALLOW' }],
    });
  });

  it('prints a table, one rule a line', async () => {
    const c = io();
    expect(await aclsCli(['--role', 'adapter', '--channel', 'pam', '--adapter-name', 'pg', '--principal', 'User:pam', '--config', 'examples/grantline.yaml'], c.io)).toBe(0);
    const lines = c.out.join('\n').split('\n');
    expect(lines[0]).toBe('principal User:pam, host *');
    expect(lines[1]).toMatch(/^RESOURCE\s+NAME\s+PATTERN\s+OPERATION\s+PERMISSION$/);
    expect(lines).toContainEqual(expect.stringMatching(/^TOPIC\s+access\.grants\.pam\.v1\s+LITERAL\s+READ\s+ALLOW$/));
    expect(lines).toHaveLength(2 + 6);
  });

  it('exits 2 on an unknown role, a missing principal, or an adapter without its channel', async () => {
    for (const args of [
      ['--role', 'root', '--principal', 'x'],
      ['--role', 'ingress'],
      ['--role', 'adapter', '--principal', 'x', '--adapter-name', 'pg'],
      ['--role', 'ingress', '--principal', 'x', '--channel', 'pam'],
    ]) {
      const c = io();
      expect(await aclsCli([...args, '--config', 'examples/grantline.yaml'], c.io), args.join(' ')).toBe(2);
      expect(c.out).toEqual([]);
      expect(c.err.join('\n')).toMatch(/grantline acls: /);
    }
  });
});
