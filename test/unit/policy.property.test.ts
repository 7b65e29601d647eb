import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../src/catalog/index.js';
import { isNhi, RequestField, type Approval, type EntitlementRequest, type FieldChange, type SubjectType } from '../../src/model/index.js';
import { decide } from '../../src/policy/index.js';
import { makeRequest, testCatalog, testDirectory } from '../fixtures/requests/factory.js';

const catalog = testCatalog();
const directory = testDirectory();
const NOW = new Date('2025-03-06T10:00:00Z');
const LAST_MODIFIED = '2025-03-06T09:00:00Z';

/** Changes of these make an earlier approval stale (the list); the justification does not. */
const APPROVAL_BINDS: readonly string[] = ['requester', 'subject', 'entitlementId', 'resource', 'environment', 'ttlSeconds', 'breakGlass'];
const PEOPLE = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'mallory'] as const;
const SUBJECTS: { type: SubjectType; id: string }[] = [
  { type: 'human', id: 'alice' },
  { type: 'human', id: 'carol' },
  { type: 'human', id: 'mallory' },
  { type: 'human', id: 'nobody' },
  { type: 'service_account', id: 'svc-orders' },
  { type: 'service_account', id: 'svc-deployer' },
  { type: 'service_account', id: 'svc-orphan' },
  { type: 'service_account', id: 'svc-unowned' },
  { type: 'api_key', id: 'key-payments-batch' },
  { type: 'ci_token', id: 'ci-staging-deployer' },
  { type: 'api_key', id: 'svc-orders' },
];
/** Subjects the directory knows, with active owners: the ones that can be granted. */
const GOOD_SUBJECTS = SUBJECTS.filter((s) => ['alice', 'carol', 'svc-orders', 'svc-deployer', 'key-payments-batch', 'ci-staging-deployer'].includes(s.id) && !(s.type === 'api_key' && s.id === 'svc-orders'));
const ENTRY_IDS = catalog.entries().map((e) => e.id);

const approvalArb: fc.Arbitrary<Approval> = fc.record({
  approverPrincipalId: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...PEOPLE) }, { weight: 1, arbitrary: fc.constant(null) }),
  approverSource: fc.constant({ kind: 'email' as const, value: 'someone@example.com' }),
  decision: fc.oneof({ weight: 9, arbitrary: fc.constant('approved' as const) }, { weight: 1, arbitrary: fc.constant('rejected' as const) }),
  // Mostly after the last change, sometimes before it (stale), sometimes exactly at it.
  decidedAt: fc.constantFrom('2025-03-06T09:30:00Z', '2025-03-06T09:45:00Z', '2025-03-06T09:00:00Z', '2025-03-06T08:59:59Z'),
  evidence: fc.record({
    kind: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('jsm-approval' as const, 'sysapproval_approver' as const, 'workflow-transition' as const) },
      { weight: 1, arbitrary: fc.constant('comment' as const) },
    ),
    recordId: fc.stringMatching(/^[0-9]{1,6}$/),
  }),
});

/** Field changes: mostly before every approval, sometimes after some (09:40) or all of them (09:50), of any field. */
const changesArb: fc.Arbitrary<FieldChange[]> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<FieldChange[]>([{ field: 'ttlSeconds', at: LAST_MODIFIED }]) },
  {
    weight: 2,
    arbitrary: fc.array(fc.record({ field: fc.constantFrom(...RequestField.options), at: fc.constantFrom('2025-03-06T08:00:00Z', LAST_MODIFIED, '2025-03-06T09:40:00Z', '2025-03-06T09:50:00Z') }), { maxLength: 3 }),
  },
);

/** Requests that are mostly coherent with the catalog, so that grants are common, plus every kind of noise. */
const requestArb: fc.Arbitrary<EntitlementRequest> = fc
  .record({
    requestId: fc.stringMatching(/^rq_[A-Za-z0-9]{4,12}$/),
    entitlementId: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...ENTRY_IDS) }, { weight: 1, arbitrary: fc.constantFrom(null, 'not-in-catalog') }),
    subjectPick: fc.nat(),
    subjectMatchesEntry: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    environmentPick: fc.oneof({ weight: 8, arbitrary: fc.constant('entry') }, { weight: 1, arbitrary: fc.constantFrom('prod', 'nonprod', 'dev', null) }),
    resourceMatches: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    ttlSeconds: fc.option(fc.oneof(fc.constantFrom(1800, 3600, 4 * 3600, 8 * 3600, 8 * 3600 + 1, 86_400, 7 * 86_400, 30 * 86_400), fc.integer({ min: 1, max: 60 * 86_400 })), { nil: undefined, freq: 2 }),
    breakGlass: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    requester: fc.oneof({ weight: 9, arbitrary: fc.constantFrom('alice', 'bob', 'carol', 'erin', 'grace', 'frank') }, { weight: 1, arbitrary: fc.constantFrom(null, 'mallory') }),
    goodApprovers: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
    noise: fc.array(approvalArb, { maxLength: 2 }),
    comments: fc.boolean(),
    actionable: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    changes: changesArb,
  })
  .map((g) => {
    const entry = g.entitlementId === null ? null : catalog.get(g.entitlementId);
    const fitting = entry === null ? SUBJECTS : GOOD_SUBJECTS.filter((s) => entry.subjectTypes.includes(s.type));
    const pool = g.subjectMatchesEntry && fitting.length > 0 ? fitting : SUBJECTS;
    const subject = pool[g.subjectPick % pool.length] ?? null;
    const nhiEnv = subject !== null && isNhi(subject.type) ? directory.nhi(subject.id)?.environment : undefined;
    const environment = g.environmentPick === 'entry' ? (nhiEnv ?? entry?.environments[0] ?? 'prod') : g.environmentPick;
    // Mostly people from the entry's own approver groups, so that grants are common; noise on top.
    const groups = entry === null ? [] : entry.approvers.kind === 'groups' ? entry.approvers.groups.map((x) => x.group) : entry.approvers.pool;
    const members = PEOPLE.filter((p) => groups.some((group) => directory.isMember(p, group)));
    const good: Approval[] = members.length === 0 ? [] : g.goodApprovers.map((i, n) => ({
      approverPrincipalId: members[i % members.length] ?? null,
      approverSource: { kind: 'email' as const, value: 'approver@example.com' },
      decision: 'approved' as const,
      decidedAt: '2025-03-06T09:30:00Z',
      evidence: { kind: 'jsm-approval' as const, recordId: String(n + 1) },
    }));
    return makeRequest({
      requestId: g.requestId,
      requester: { principalId: g.requester, sourceIdentity: { kind: 'jira-username', value: g.requester ?? 'ghost' } },
      subject,
      entitlementId: g.entitlementId,
      resource: entry !== null && g.resourceMatches ? entry.resource : 'some-other-resource',
      environment,
      ttlSeconds: g.ttlSeconds,
      breakGlass: g.breakGlass,
      approvals: [...good, ...g.noise],
      approvalLikeComments: g.comments ? [{ authorSource: { kind: 'email', value: 'bob@example.com' }, commentId: '9', at: '2025-03-06T09:40:00Z' }] : [],
      status: { name: g.actionable ? 'Waiting for approval' : 'Done', actionable: g.actionable },
      changes: g.changes,
    });
  });

/**
 * An independent reading of the approval rules: which people may count for this request. Written
 * from the rules, not from the engine, so the engine is checked against the specification.
 */
function countablePeople(request: EntitlementRequest, entry: CatalogEntry): Set<string> {
  const subject = request.subject;
  const owner = subject !== null && isNhi(subject.type) ? (directory.nhi(subject.id)?.owner ?? null) : null;
  const groups = entry.approvers.kind === 'groups' ? entry.approvers.groups.map((g) => g.group) : entry.approvers.pool;
  const people = new Set<string>();
  for (const a of request.approvals) {
    const p = a.approverPrincipalId;
    if (p === null || a.decision !== 'approved' || a.evidence.kind === 'comment') continue;
    // An approval covers what it approved: who asks, for whom, what, where, how long, break-glass.
    if (request.changes.some((c) => APPROVAL_BINDS.includes(c.field) && Date.parse(c.at) > Date.parse(a.decidedAt))) continue;
    if (directory.principal(p)?.active !== true) continue;
    if (!entry.requesterMayApprove && (p === request.requester.principalId || (subject?.type === 'human' && subject.id === p))) continue;
    if (!entry.subjectOwnerMayApprove && p === owner) continue;
    if (isEligibleManager(request, entry, p) || groups.some((g) => directory.isMember(p, g))) people.add(p);
  }
  return people;
}

function isEligibleManager(request: EntitlementRequest, entry: CatalogEntry, p: string): boolean {
  return entry.managerMayApprove && request.subject?.type === 'human' && directory.managerOf(request.subject.id) === p;
}

/** Brute force: can each slot get its own person who fits it? Small enough to try every seating. */
function canSeat(people: readonly string[], slots: readonly string[], fits: (p: string, slot: string) => boolean): boolean {
  const [slot, ...rest] = slots;
  if (slot === undefined) return true;
  return people.some((p, i) => fits(p, slot) && canSeat(people.filter((_, j) => j !== i), rest, fits));
}

function requiredCount(request: EntitlementRequest, entry: CatalogEntry): number {
  const base = entry.approvers.kind === 'groups' ? entry.approvers.groups.reduce((n, g) => n + g.min, 0) : entry.approvers.minDistinct;
  const nhiProd = request.subject !== null && isNhi(request.subject.type) && request.environment !== null && catalog.isProduction(request.environment);
  return nhiProd ? Math.max(base, entry.nhiProdMinApprovers) : base;
}

describe('policy invariants (property-based)', () => {
  it('never grants with fewer distinct authorized approvals than required, nor counts a forbidden self-approval', () => {
    let grants = 0;
    fc.assert(
      fc.property(requestArb, (request) => {
        const decision = decide(request, catalog, directory, NOW);
        if (decision.outcome !== 'granted') return;
        grants += 1;
        const entry = catalog.get(decision.entitlementId);
        expect(entry).not.toBeNull();
        if (entry === null) return;
        const countable = countablePeople(request, entry);
        if (!request.breakGlass) {
          expect(countable.size).toBeGreaterThanOrEqual(requiredCount(request, entry));
          if (entry.approvers.kind === 'groups') {
            // Every group's minimum is met by distinct people (the entry's manager may stand in).
            const slots = entry.approvers.groups.flatMap((g) => Array.from({ length: g.min }, () => g.group));
            const fits = (p: string, group: string): boolean => directory.isMember(p, group) || isEligibleManager(request, entry, p);
            expect(canSeat([...countable], slots, fits)).toBe(true);
          }
        }
        for (const a of decision.approvals) {
          expect(a.approverPrincipalId !== null && countable.has(a.approverPrincipalId)).toBe(true);
          if (!entry.requesterMayApprove) expect(a.approverPrincipalId).not.toBe(decision.requester.principalId);
          if (!entry.subjectOwnerMayApprove) expect(a.approverPrincipalId).not.toBe(decision.subjectOwnerPrincipalId);
        }
      }),
      { numRuns: 1000 },
    );
    // The generator must reach the interesting case, or the property says nothing.
    expect(grants).toBeGreaterThan(100);
  });

  it('never grants a TTL above the maximum (or the break-glass cap), and expiry matches the TTL', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        const decision = decide(request, catalog, directory, NOW);
        if (decision.outcome !== 'granted') return;
        const entry = catalog.get(decision.entitlementId);
        if (entry === null) throw new Error('granted an entitlement the catalog lacks');
        expect(decision.ttlSeconds).toBeLessThanOrEqual(entry.ttl.maxSeconds);
        if (request.breakGlass) {
          expect(entry.breakGlass.allowed).toBe(true);
          if (entry.breakGlass.allowed) expect(decision.ttlSeconds).toBeLessThanOrEqual(entry.breakGlass.maxTtlSeconds);
        }
        if (request.ttlSeconds !== undefined) expect(decision.ttlSeconds).toBe(request.ttlSeconds);
        expect(Date.parse(decision.expiresAt) - Date.parse(decision.validFrom)).toBe(decision.ttlSeconds * 1000);
      }),
      { numRuns: 1000 },
    );
  });

  it('never grants an unmapped or free-text request, and a rejection always says why', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        const decision = decide(request, catalog, directory, NOW);
        if (request.entitlementId === null || catalog.get(request.entitlementId) === null) {
          expect(decision.outcome).toBe('rejected');
          if (decision.outcome === 'rejected') {
            expect(decision.reasons.map((r) => r.code)).toContain(request.entitlementId === null ? 'FREE_TEXT_REQUEST' : 'UNMAPPED_ENTITLEMENT');
          }
        }
        if (decision.outcome === 'rejected') {
          expect(decision.reasons.length).toBeGreaterThan(0);
          for (const r of decision.reasons) expect(r.message.length).toBeGreaterThan(20);
        } else {
          expect(decision.entitlementId).toBe(request.entitlementId);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('gives an identical decision for identical input', () => {
    // Fresh instances built from the same files: nothing may depend on object identity or state.
    const catalog2 = testCatalog();
    const directory2 = testDirectory();
    fc.assert(
      fc.property(requestArb, (request) => {
        const first = decide(request, catalog, directory, NOW);
        const second = decide(structuredClone(request), catalog2, directory2, new Date(NOW.getTime()));
        expect(second).toEqual(first);
      }),
      { numRuns: 300 },
    );
  });
});
