/**
 * Who may invoke break-glass: `breakGlass.allowedGroups` on a catalog entry. A requester outside
 * those groups is refused with BREAK_GLASS_NOT_ALLOWED saying who may; the request is not then
 * judged as a normal one. How many one person may hold: break-glass-limit.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { catalogFromValue, checkCatalogAgainstDirectory, parseCatalog } from '../../src/catalog/index.js';
import type { Decision, EntitlementRequest } from '../../src/model/index.js';
import { decide } from '../../src/policy/index.js';
import { exampleCatalog, exampleDirectory, makeRequest, NOW, testDirectory } from '../fixtures/requests/factory.js';

const ENTRY = {
  id: 'fleet-root',
  kind: 'role',
  system: 'linux-hosts',
  resource: 'prod-fleet',
  environments: ['prod'],
  sensitivity: 'critical',
  subjectTypes: ['human'],
  approvers: { groups: [{ group: 'security', min: 1 }] },
  ttl: { defaultSeconds: '1h', maxSeconds: '4h' },
  channel: 'pam',
};
const catalog = catalogFromValue({
  entitlements: [
    { ...ENTRY, breakGlass: { allowed: true, maxTtlSeconds: '1h', reviewWithinSeconds: '1d', allowedGroups: ['platform-team', 'security'] } },
    { ...ENTRY, id: 'fleet-root-anyone', breakGlass: { allowed: true, maxTtlSeconds: '1h', reviewWithinSeconds: '1d' } },
  ],
});
const directory = testDirectory();

const breakGlass = (requester: string, entitlementId = 'fleet-root'): EntitlementRequest =>
  makeRequest({
    entitlementId,
    resource: 'prod-fleet',
    requester: { principalId: requester, sourceIdentity: { kind: 'jira-username', value: requester } },
    subject: { type: 'human', id: requester },
    breakGlass: true,
    ttlSeconds: undefined,
    approvals: [],
  });

const codes = (d: Decision) => (d.outcome === 'granted' ? [] : d.reasons.map((r) => r.code));

describe('catalog: breakGlass.allowedGroups', () => {
  it('is kept on the entry, and only where break-glass is allowed', () => {
    const entry = catalog.get('fleet-root');
    expect(entry?.breakGlass.allowed === true && entry.breakGlass.allowedGroups).toEqual(['platform-team', 'security']);
    expect(() => catalogFromValue({ entitlements: [{ ...ENTRY, breakGlass: { allowed: false, allowedGroups: ['security'] } }] })).toThrow(/entitlements\[0\]\.breakGlass/);
    expect(() => catalogFromValue({ entitlements: [{ ...ENTRY, breakGlass: { allowed: true, maxTtlSeconds: '1h', reviewWithinSeconds: '1d', allowedGroups: [] } }] })).toThrow(
      /entitlements\[0\]\.breakGlass\.allowedGroups/,
    );
  });

  it('must name groups the directory defines, like approver groups', () => {
    const doc = { entitlements: [{ ...ENTRY, breakGlass: { allowed: true, maxTtlSeconds: '1h', reviewWithinSeconds: '1d', allowedGroups: ['oncall-typo'] } }] };
    expect(checkCatalogAgainstDirectory(catalogFromValue(doc), directory)).toEqual([
      { path: 'entitlements[0].breakGlass.allowedGroups', message: 'entry "fleet-root" lets group "oncall-typo" invoke break-glass, which the directory does not define' },
    ]);
  });
});

describe('decide: who may invoke break-glass', () => {
  it('grants a member of an allowed group, pre-approved', () => {
    const d = decide(breakGlass('grace'), catalog, directory, NOW);
    expect(d.outcome).toBe('granted');
    expect(d.outcome === 'granted' && d.breakGlass.active).toBe(true);
  });

  it('refuses anyone else, saying who may, and does not judge it as a normal request', () => {
    const d = decide(breakGlass('alice'), catalog, directory, NOW);
    expect(codes(d)).toEqual(['BREAK_GLASS_NOT_ALLOWED']);
    const reason = d.outcome === 'rejected' ? d.reasons[0] : undefined;
    expect(reason?.field).toBe('breakGlass');
    expect(reason?.message).toMatch(/alice may not invoke break-glass for fleet-root; only members of platform-team or security may\. File a normal request with approvals/);
  });

  it('lets any active requester invoke it where the entry names no groups (as before)', () => {
    expect(decide(breakGlass('alice', 'fleet-root-anyone'), catalog, directory, NOW).outcome).toBe('granted');
  });

  it('the example catalog lets only the on-call group break glass on production hosts', () => {
    const example = exampleCatalog();
    const people = exampleDirectory();
    const request = (who: string) => breakGlass(who, 'prod-breakglass-admin');
    expect(decide(request('grace'), example, people, NOW).outcome).toBe('granted');
    expect(codes(decide(request('erin'), example, people, NOW))).toEqual(['BREAK_GLASS_NOT_ALLOWED']);
  });
});

describe('catalog: break-glass without allowedGroups still parses from YAML', () => {
  it('keeps today\'s catalogs valid', () => {
    expect(() => parseCatalog(`entitlements:\n  - ${JSON.stringify({ ...ENTRY, breakGlass: { allowed: true, maxTtlSeconds: '1h', reviewWithinSeconds: '1d' } })}`)).not.toThrow();
  });
});
