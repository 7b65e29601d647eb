import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkCatalogAgainstDirectory, formatDuration, InvalidDocumentError, parseCatalog, parseDirectory, parseDuration } from '../../src/catalog/index.js';
import { EXAMPLE_CATALOG_PATH, exampleCatalog, exampleDirectory } from '../fixtures/requests/factory.js';

const ENTRY = `
  - id: x-role
    kind: role
    system: postgres
    resource: x-db
    environments: [prod]
    sensitivity: high
    subjectTypes: [service_account]
    approvers: { groups: [{ group: owners, min: 2 }] }
    ttl: { defaultSeconds: 4h, maxSeconds: 8h }
    channel: pam
`;

function issuesOf(yaml: string): { path: string; message: string }[] {
  try {
    parseCatalog(yaml, 'test.yaml');
  } catch (err) {
    if (err instanceof InvalidDocumentError) return [...err.issues];
    throw err;
  }
  throw new Error('expected the catalog to be refused');
}

describe('example catalog', () => {
  const catalog = exampleCatalog();

  it.each([
    ['db-orders-prod-readwrite', { kind: 'role', subjectTypes: ['service_account'], environments: ['prod'], approvers: { kind: 'groups', groups: [{ group: 'data-platform-owners', min: 2 }] }, requesterMayApprove: false, subjectOwnerMayApprove: false, managerMayApprove: false, ttl: { defaultSeconds: 14_400, maxSeconds: 28_800 }, channel: 'pam' }],
    ['payments-api-key', { kind: 'secret_class', subjectTypes: ['api_key'], environments: ['prod'], approvers: { kind: 'groups', groups: [{ group: 'payments-owners', min: 1 }, { group: 'security', min: 1 }] }, ttl: { maxSeconds: 604_800 }, channel: 'secrets' }],
    ['ci-deploy-token-staging', { kind: 'scope', subjectTypes: ['ci_token'], environments: ['nonprod'], approvers: { kind: 'groups', groups: [{ group: 'platform-team', min: 1 }] }, ttl: { maxSeconds: 86_400 }, channel: 'secrets' }],
    ['analytics-readonly', { kind: 'role', subjectTypes: ['human'], environments: ['nonprod', 'prod'], approvers: { kind: 'pool', minDistinct: 1 }, managerMayApprove: true, ttl: { maxSeconds: 30 * 86_400 }, channel: 'pam' }],
    ['prod-breakglass-admin', { kind: 'role', subjectTypes: ['human', 'service_account'], environments: ['prod'], breakGlass: { allowed: true, maxTtlSeconds: 3600, reviewWithinSeconds: 86_400 }, channel: 'pam' }],
  ])('has %s as the issue specifies', (id, expected) => {
    expect(catalog.get(id)).toMatchObject(expected);
  });

  it('names only groups the example directory has', () => {
    expect(checkCatalogAgainstDirectory(catalog, exampleDirectory())).toEqual([]);
  });

  it('answers null for an unknown id, and defaults NHI production approvers to two', () => {
    expect(catalog.get('nope')).toBeNull();
    expect(catalog.get('payments-api-key')?.nhiProdMinApprovers).toBe(2);
    expect(catalog.isProduction('prod')).toBe(true);
    expect(catalog.isProduction('nonprod')).toBe(false);
  });

  it('cannot be changed through what get() returns', () => {
    const entry = catalog.get('db-orders-prod-readwrite');
    expect(() => {
      (entry as { ttl: { maxSeconds: number } }).ttl.maxSeconds = 1e9;
    }).toThrow(TypeError);
  });
});

describe('catalog version', () => {
  const text = readFileSync(EXAMPLE_CATALOG_PATH, 'utf8');

  it('is a sha256 content hash that ignores comments, formatting and duration spelling', () => {
    const version = parseCatalog(text).version;
    expect(version).toMatch(/^sha256:[0-9a-f]{64}$/);
    const reformatted = `# another comment\n${text.replace('ttl: { defaultSeconds: 4h, maxSeconds: 8h }', 'ttl:\n      maxSeconds: 28800\n      defaultSeconds: 240m')}`;
    expect(reformatted).not.toBe(text);
    expect(parseCatalog(reformatted).version).toBe(version);
  });

  it('changes with any change of meaning', () => {
    const version = parseCatalog(text).version;
    expect(parseCatalog(text.replace('ttl: { defaultSeconds: 4h, maxSeconds: 8h }', 'ttl: { defaultSeconds: 4h, maxSeconds: 9h }')).version).not.toBe(version);
  });
});

describe('catalog validation', () => {
  it('accepts a minimal entry and fills the defaults', () => {
    const entry = parseCatalog(`entitlements:${ENTRY}`).get('x-role');
    expect(entry).toMatchObject({
      requesterMayApprove: false,
      subjectOwnerMayApprove: false,
      managerMayApprove: false,
      nhiProdMinApprovers: 2,
      breakGlass: { allowed: false },
      ttl: { required: false },
      revocationTriggers: ['ttl-expired', 'ticket-cancelled', 'owner-offboarded'],
    });
  });

  it('reports every bad field with its path in one error', () => {
    const yaml = `entitlements:${ENTRY}
  - id: Bad Id
    kind: group
    system: ''
    resource: r
    environments: []
    sensitivity: extreme
    subjectTypes: [robot]
    approvers: { groups: [{ group: owners, min: 0 }] }
    ttl: { defaultSeconds: 9h, maxSeconds: 8h }
    breakGlass: { allowed: true, maxTtlSeconds: 1h }
    channel: PAM!
    colour: blue
`;
    const paths = issuesOf(yaml).map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'entitlements[1].id',
        'entitlements[1].kind',
        'entitlements[1].system',
        'entitlements[1].environments',
        'entitlements[1].sensitivity',
        'entitlements[1].subjectTypes[0]',
        'entitlements[1].approvers.groups[0].min',
        'entitlements[1].breakGlass.reviewWithinSeconds',
        'entitlements[1].channel',
        'entitlements[1]',
      ]),
    );
    expect(paths.length).toBeGreaterThanOrEqual(10);
    expect(() => parseCatalog(yaml, 'test.yaml')).toThrow(/test\.yaml is invalid \(\d+ issues\):\n {2}- entitlements\[1\]\.id: /);
  });

  it.each([
    ['a TTL default above its maximum', 'ttl: { defaultSeconds: 4h, maxSeconds: 8h }', 'ttl: { defaultSeconds: 9h, maxSeconds: 8h }', 'entitlements[0].ttl.defaultSeconds', /exceeds maxSeconds \(28800\)/],
    ['an unreadable duration', 'ttl: { defaultSeconds: 4h, maxSeconds: 8h }', 'ttl: { defaultSeconds: 4 hours, maxSeconds: 8h }', 'entitlements[0].ttl.defaultSeconds', /expected a positive duration/],
    ['no default without required', 'ttl: { defaultSeconds: 4h, maxSeconds: 8h }', 'ttl: { maxSeconds: 8h }', 'entitlements[0].ttl.defaultSeconds', /needed unless "required: true"/],
    ['both approver forms', 'approvers: { groups: [{ group: owners, min: 2 }] }', 'approvers: { groups: [{ group: owners }], pool: [owners], minDistinct: 2 }', 'entitlements[0].approvers', /either "groups" or "pool"/],
    ['a pool without minDistinct', 'approvers: { groups: [{ group: owners, min: 2 }] }', 'approvers: { pool: [owners] }', 'entitlements[0].approvers.minDistinct', /needs "minDistinct"/],
    ['no approvers at all', 'approvers: { groups: [{ group: owners, min: 2 }] }', 'approvers: {}', 'entitlements[0].approvers', /name the approvers/],
    ['a revocation list without TTL expiry', 'channel: pam', 'channel: pam\n    revocationTriggers: [manual]', 'entitlements[0].revocationTriggers', /must include "ttl-expired"/],
    ['an unknown revocation trigger', 'channel: pam', 'channel: pam\n    revocationTriggers: [ttl-expired, moon-phase]', 'entitlements[0].revocationTriggers[1]', /./],
    ['a break-glass cap above the TTL maximum', 'channel: pam', 'channel: pam\n    breakGlass: { allowed: true, maxTtlSeconds: 9h, reviewWithinSeconds: 1d }', 'entitlements[0].breakGlass.maxTtlSeconds', /exceeds ttl\.maxSeconds/],
  ])('refuses %s', (_name, from, to, path, message) => {
    const issues = issuesOf(`entitlements:${ENTRY.replace(from, to)}`);
    expect(issues).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it('refuses a duplicate id, naming the first', () => {
    expect(issuesOf(`entitlements:${ENTRY}${ENTRY}`)).toContainEqual({ path: 'entitlements[1].id', message: '"x-role" is already used by entitlements[0]' });
  });

  it('refuses YAML that does not parse, and an empty catalog', () => {
    expect(issuesOf('entitlements: [\n')[0]?.message).toMatch(/not valid YAML/);
    expect(issuesOf('entitlements: []')).toContainEqual({ path: 'entitlements', message: expect.any(String) });
  });

  it('flags approver groups the directory lacks', () => {
    const catalog = parseCatalog(`entitlements:${ENTRY}`);
    const directory = parseDirectory('principals: [{ id: a, displayName: A, active: true }]\ngroups: { other: [a] }');
    expect(checkCatalogAgainstDirectory(catalog, directory)).toEqual([{ path: 'entitlements[0].approvers', message: 'entry "x-role" names approver group "owners", which the directory does not define' }]);
  });
});

describe('durations', () => {
  it.each([
    [3600, 3600],
    ['3600', 3600],
    ['90s', 90],
    ['30m', 1800],
    ['4h', 14_400],
    ['7d', 604_800],
    ['2w', 1_209_600],
    ['0h', null],
    [0, null],
    [-5, null],
    [1.5, null],
    ['4 hours', null],
    ['h', null],
    ['1y', null],
  ] as const)('parses %j as %j', (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it.each([
    [3600, '1h'],
    [28_800, '8h'],
    [604_800, '7d'],
    [93_600, '1d 2h'],
    [45, '45s'],
  ])('writes %d seconds as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
