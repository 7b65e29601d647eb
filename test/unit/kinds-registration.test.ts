/**
 * The identity and evidence kinds come from the connector types a process runs with, put in force
 * once by the service's wiring (`src/service/connector-types.ts`). Before that a lookup throws: it
 * must never answer from empty tables (every approval would then be "not structured" and every
 * source identity unknown, without saying why).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { connectorTypes } from '../../connectors/registry.js';
import type { ConnectorType } from '../../src/connector/contract.js';
import type * as KindsModule from '../../src/connector/kinds.js';

/** A fresh copy of the module, with nothing registered (the setup file registered the shared one). */
let kinds: typeof KindsModule;
beforeEach(async () => {
  vi.resetModules();
  kinds = await import('../../src/connector/kinds.js');
});

function typeWith(type: string, declared: ConnectorType['kinds']): ConnectorType {
  return {
    type,
    configSchema: z.looseObject({}),
    kinds: declared,
    create: () => {
      throw new Error('not used');
    },
  } as unknown as ConnectorType;
}

describe('connector kinds in force', () => {
  it('throws on a lookup before the wiring registered any, naming where they come from', () => {
    const notRegistered = /no connector kinds are registered: .*src\/service\/connector-types\.ts/;
    expect(() => kinds.isStructuredEvidence('jsm-approval')).toThrow(notRegistered);
    expect(() => kinds.directoryFieldOf('jira-account-id')).toThrow(notRegistered);
    expect(() => kinds.registeredKinds()).toThrow(notRegistered);
  });

  it('holds the core kinds and those of the types it was given, and only those', () => {
    kinds.registerConnectorKinds({ servicenow: connectorTypes.servicenow });
    expect(kinds.isStructuredEvidence('sysapproval_approver')).toBe(true);
    expect(kinds.isStructuredEvidence('comment')).toBe(false);
    expect(kinds.directoryFieldOf('email')).toBe('email');
    expect(kinds.directoryFieldOf('servicenow-sys-id')).toBe('servicenowSysId');
    // Jira was not given: its kinds are unknown here.
    expect(kinds.isStructuredEvidence('jsm-approval')).toBe(false);
    expect(kinds.directoryFieldOf('jira-account-id')).toBeUndefined();
  });

  it('sees every registered connector type of the build after the wiring', () => {
    kinds.registerConnectorKinds(connectorTypes);
    expect(kinds.isStructuredEvidence('jsm-approval')).toBe(true);
    expect(kinds.isStructuredEvidence('workflow-transition')).toBe(true);
    expect(kinds.directoryFieldOf('jira-username')).toBe('jiraUsername');
    expect(kinds.registeredKinds().evidence.map((e) => e.kind)).toContain('sysapproval_approver');
  });

  it('registers once: the same types again change nothing, other types are refused', () => {
    kinds.registerConnectorKinds(connectorTypes);
    expect(() => kinds.registerConnectorKinds({ ...connectorTypes })).not.toThrow();
    expect(() => kinds.registerConnectorKinds({ jira: connectorTypes.jira })).toThrow(
      'connector kinds are registered already, from connector types jira, json-webhook, servicenow; they cannot be replaced by those of jira',
    );
    expect(kinds.directoryFieldOf('servicenow-sys-id')).toBe('servicenowSysId');
  });

  it('refuses a type whose declaration clashes with another, and registers nothing then', () => {
    const clash = typeWith('clash', { identities: [], evidence: [{ kind: 'jsm-approval', structured: false }] });
    expect(() => kinds.registerConnectorKinds({ ...connectorTypes, clash })).toThrow(
      'connector type clash: evidence kind "jsm-approval" is already registered by connector type jira with another meaning',
    );
    expect(() => kinds.isStructuredEvidence('jsm-approval')).toThrow(/no connector kinds are registered/);
  });

  it('checks declarations against the types given for config load, without anything in force', () => {
    const known = kinds.collectKinds(connectorTypes);
    const clash = typeWith('clash', { identities: [{ kind: 'email', directoryField: 'jiraUsername' }], evidence: [{ kind: 'jsm-approval', structured: false }] });
    expect(kinds.kindProblems(known, 'connector type clash', clash.kinds)).toEqual([
      'identity kind "email" is already registered by grantline with another meaning',
      'evidence kind "jsm-approval" is already registered by connector type jira with another meaning',
    ]);
    // Without Jira among the types, the same declaration is fine.
    expect(kinds.kindProblems(kinds.collectKinds({}), 'connector type clash', { identities: [], evidence: clash.kinds.evidence })).toEqual([]);
    expect(() => kinds.isStructuredEvidence('jsm-approval')).toThrow(/no connector kinds are registered/);
  });
});
