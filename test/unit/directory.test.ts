import { describe, expect, it } from 'vitest';
import { InvalidDocumentError, parseDirectory, type Directory } from '../../src/catalog/index.js';
import type { PrincipalResolver } from '../../src/connector/contract.js';
import { exampleDirectory } from '../fixtures/requests/factory.js';

function issuesOf(yaml: string): { path: string; message: string }[] {
  try {
    parseDirectory(yaml, 'dir.yaml');
  } catch (err) {
    if (err instanceof InvalidDocumentError) return [...err.issues];
    throw err;
  }
  throw new Error('expected the directory to be refused');
}

describe('example directory', () => {
  const directory: Directory = exampleDirectory();

  it.each([
    ['jira-account-id', '90bd90594497006fc7e0f1bd', 'alice'],
    ['jira-account-id', 'a7dcc13a56eec540b8e04fe8', 'bob'],
    ['jira-username', 'carol', 'carol'],
    ['jira-username', 'CAROL', 'carol'],
    ['jira-user-key', 'JIRAUSER10103', 'dave'],
    ['servicenow-sys-id', '966edf27b67f10bc967b0af08ebf5b06', 'erin'],
    ['servicenow-sys-id', '966EDF27B67F10BC967B0AF08EBF5B06', 'erin'],
    ['email', 'Frank@Example.com', 'frank'],
    ['email', ' grace@example.com ', 'grace'],
    // Inactive people still resolve; whether they may act is the policy's question.
    ['jira-account-id', 'a1ac3041e592576cd4786562', 'mallory'],
    ['jira-account-id', '90BD90594497006FC7E0F1BD', null],
    ['jira-user-key', 'jirauser10103', null],
    ['email', 'nobody@example.com', null],
    ['jira-username', 'svc-orders', null],
  ] as const)('resolves %s %j to %j', (kind, value, expected) => {
    expect(directory.resolve({ kind, value })).toBe(expected);
  });

  it('is a PrincipalResolver connectors can be given', () => {
    const resolver: PrincipalResolver = directory;
    expect(resolver.resolve({ kind: 'jira-username', value: 'alice' })).toBe('alice');
  });

  it('knows the principals, managers, groups and NHIs of the issue', () => {
    expect(directory.principal('alice')).toMatchObject({ active: true, manager: 'dave' });
    expect(directory.managerOf('alice')).toBe('dave');
    expect(directory.managerOf('dave')).toBeNull();
    expect(directory.managerOf('nobody')).toBeNull();
    expect(directory.principal('mallory')?.active).toBe(false);
    expect(['bob', 'carol'].every((p) => directory.isMember(p, 'data-platform-owners'))).toBe(true);
    expect(directory.isMember('alice', 'data-platform-owners')).toBe(false);
    expect(directory.isMember('erin', 'security')).toBe(true);
    expect(directory.isMember('frank', 'payments-owners')).toBe(true);
    expect(directory.isMember('grace', 'platform-team')).toBe(true);
    expect(directory.isMember('grace', 'no-such-group')).toBe(false);
    expect(directory.hasGroup('security')).toBe(true);
    expect(directory.hasGroup('no-such-group')).toBe(false);
    expect(directory.nhi('svc-orders')).toMatchObject({ type: 'service_account', owner: 'alice', environment: 'prod' });
    expect(directory.nhi('svc-orphan')).toMatchObject({ type: 'service_account', owner: 'mallory', environment: 'prod' });
    expect(directory.nhi('key-payments-batch')).toMatchObject({ type: 'api_key', owner: 'frank', environment: 'prod' });
    expect(directory.nhi('ci-staging-deployer')).toMatchObject({ type: 'ci_token', owner: 'grace', environment: 'nonprod' });
    expect(directory.nhi('alice')).toBeNull();
    expect(directory.principal('svc-orders')).toBeNull();
  });

  it('has a content version', () => {
    expect(directory.version).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(exampleDirectory().version).toBe(directory.version);
  });
});

describe('directory validation', () => {
  it('refuses two people answering to one source identity (one could act as the other)', () => {
    const issues = issuesOf(`
principals:
  - { id: a, displayName: A, active: true, identities: { email: same@example.com } }
  - { id: b, displayName: B, active: true, identities: { email: SAME@example.com } }
`);
    expect(issues).toContainEqual({ path: 'principals[1].identities.email', message: 'already belongs to "a"' });
  });

  it('reports every dangling reference and bad field with its path', () => {
    const issues = issuesOf(`
principals:
  - { id: a, displayName: A, active: true, manager: ghost, identities: { servicenowSysId: XYZ } }
  - { id: a, displayName: A2, active: yes }
  - { id: c, displayName: C, active: true, manager: c }
groups:
  owners: [a, phantom]
nhis:
  - { id: svc-x, type: human, owner: a, environment: prod }
  - { id: svc-y, type: api_key, owner: nobody, environment: prod }
  - { id: c, type: api_key, owner: a, environment: prod }
`);
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'principals[0].identities.servicenowSysId',
        'principals[1].active',
        'nhis[0].type',
      ]),
    );
    // Cross-reference checks run once the shapes parse; fix the shape errors and they show.
    const refs = issuesOf(`
principals:
  - { id: a, displayName: A, active: true, manager: ghost }
  - { id: a, displayName: A2, active: true }
  - { id: c, displayName: C, active: true, manager: c }
groups:
  owners: [a, phantom]
nhis:
  - { id: svc-y, type: api_key, owner: nobody, environment: prod }
  - { id: c, type: api_key, owner: a, environment: prod }
`);
    expect(refs).toEqual(
      expect.arrayContaining([
        { path: 'principals[1].id', message: '"a" is listed twice' },
        { path: 'principals[0].manager', message: 'unknown principal "ghost"' },
        { path: 'principals[2].manager', message: 'a principal cannot be their own manager' },
        { path: 'groups.owners[1]', message: 'unknown principal "phantom"' },
        { path: 'nhis[0].owner', message: 'unknown principal "nobody"' },
        { path: 'nhis[1].id', message: '"c" is also a principal id' },
      ]),
    );
  });

  it('allows an NHI without an owner (the policy refuses every request for it)', () => {
    const directory = parseDirectory('principals: [{ id: a, displayName: A, active: true }]\nnhis: [{ id: svc-z, type: workload, owner: null, environment: prod }]');
    expect(directory.nhi('svc-z')?.owner).toBeNull();
  });
});
