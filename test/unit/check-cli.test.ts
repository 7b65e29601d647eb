/**
 * `grantline check` against the Jira and ServiceNow stubs: a granted, a rejected and an unmappable
 * ticket through each connector, decided as the processor decides (the same decision `grantline
 * evaluate` gives for the canonical request it prints), and not one write reaches the stubs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { stackTree, startStubs, type Stubs } from '../../dev/harness.js';
import { nhiDualApproval, seedJiraTicket, seedServiceNowTicket } from '../../dev/scenarios.js';
import { run as check } from '../../src/cli/commands/check.js';
import { run as evaluate } from '../../src/cli/commands/evaluate.js';
import type { CheckReport } from '../../src/cli/check-view.js';

const AT = '2026-06-01T12:00:00.000Z';
let stubs: Stubs;
let work: string;
let configFile: string;

async function runCheck(connector: string, ticket: string, ...more: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await check(['--connector', connector, '--ticket', ticket, '--config', configFile, '--at', AT, ...more], { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function report(connector: string, ticket: string): Promise<{ code: number; report: CheckReport }> {
  const { code, out } = await runCheck(connector, ticket, '--json');
  return { code, report: JSON.parse(out) as CheckReport };
}

/** The decision `grantline evaluate` gives for a request: the policy engine on its own. */
async function evaluated(request: unknown): Promise<unknown> {
  const file = join(work, 'request.json');
  writeFileSync(file, JSON.stringify(request));
  const out: string[] = [];
  await evaluate(['--request', file, '--config', configFile, '--at', AT], { out: (t) => out.push(t), err: () => undefined });
  return JSON.parse(out.join('\n'));
}

const writes = () => [
  ...stubs.jira.requests.filter((r) => r.method !== 'GET').map((r) => `jira ${r.method} ${r.path}`),
  ...stubs.json.requests.filter((r) => r.method !== 'GET').map((r) => `json ${r.method} ${r.path}`),
  ...stubs.servicenow.requests.filter((r) => r.method !== 'GET').map((r) => `servicenow ${r.method} ${r.url}`),
];

beforeAll(async () => {
  stubs = await startStubs();
  work = mkdtempSync(join(tmpdir(), 'grantline-check-'));
  configFile = join(work, 'grantline.yaml');
  // The broker is never contacted: check publishes nothing.
  writeFileSync(configFile, stringifyYaml(stackTree({ brokers: '127.0.0.1:1', stubs })));
});

afterAll(async () => {
  await stubs?.close();
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  stubs.jira.requests.length = 0;
  stubs.servicenow.requests.length = 0;
  stubs.json.requests.length = 0;
});

describe('grantline check through the Jira connector', { timeout: 30_000 }, () => {
  it('a ticket the owners approved: the canonical request and the grant evaluate gives for it, exit 0, nothing written', async () => {
    const issue = seedJiraTicket(stubs.jira, nhiDualApproval(), new Date(Date.parse(AT) - 60_000));
    const { code, report: r } = await report('jira-main', issue.key);
    expect(code).toBe(0);
    expect(r.request).toMatchObject({ entitlementId: 'db-orders-prod-readwrite', subject: { type: 'service_account', id: 'svc-orders' } });
    expect(r.decision?.outcome).toBe('granted');
    expect(r.requestId).toBe(r.decision?.requestId);
    expect(r.decision).toEqual(await evaluated(r.request));
    const grantId = r.decision?.outcome === 'granted' ? r.decision.grantId : '';
    expect(r.writeBack).toMatchObject({ idempotencyKey: grantId, item: { kind: 'decision', decision: r.decision } });
    // The very text the write-back would post: the marker, the grant id and its expiry.
    expect(r.writeBack?.text).toContain(`[grantline:${grantId}]`);
    expect(r.writeBack?.text).toContain(grantId);
    expect(stubs.jira.requests.length).toBeGreaterThan(0);
    expect(writes()).toEqual([]);
  });

  it('a ticket only one owner approved: every reason, readable, exit 3, nothing written', async () => {
    const issue = seedJiraTicket(stubs.jira, nhiDualApproval({ approvedBy: ['alice'] }), new Date(Date.parse(AT) - 60_000));
    const { code, out } = await runCheck('jira-main', issue.key);
    expect(code).toBe(3);
    expect(out).toContain(`jira-main ticket ${issue.key}`);
    expect(out).toMatch(/canonical request \S+:/);
    expect(out).toMatch(/REJECTED: rejection rj_\S+, \d+ reasons?:/);
    expect(out).toMatch(/- SELF_APPROVAL/);
    // Only approvals are missing: what would be written is the note for the approvers, not the rejection.
    expect(out).toMatch(/written on the ticket \(once, marked \[grantline:pending:\S+\]\):/);
    expect(out).toContain('db-orders-prod-readwrite');
    expect(out).toContain('check published nothing and wrote nothing on the ticket.');
    expect(writes()).toEqual([]);
  });

  it('a ticket with only free text: not a request, the mapping problems as reasons, exit 3, nothing written', async () => {
    const issue = seedJiraTicket(stubs.jira, { entitlement: null, requester: 'alice', description: 'need the prod db like bob has' }, new Date(Date.parse(AT) - 60_000));
    const { code, report: r } = await report('jira-main', issue.key);
    expect(code).toBe(3);
    expect(r.request).toBeNull();
    expect(r.mappingFailure?.reasons.map((x) => x.code)).toContain('FREE_TEXT_REQUEST');
    expect(r.decision?.outcome).toBe('rejected');
    expect(r.decision?.outcome === 'rejected' && r.decision.reasons).toEqual(r.mappingFailure?.reasons);
    // The rejection note, with the shared how-to-fix hint of each reason.
    expect(r.writeBack?.text).toContain('FREE_TEXT_REQUEST');
    expect(r.writeBack?.text).toMatch(/How to fix/i);
    expect(writes()).toEqual([]);
  });
});

describe('grantline check through the ServiceNow connector', { timeout: 30_000 }, () => {
  const ritm = (t: Parameters<typeof seedServiceNowTicket>[1]) => seedServiceNowTicket(stubs.servicenow, t).sys_id as string;
  const granted = { item: 'db-orders-prod-readwrite', requester: 'alice', subject: { type: 'service_account', id: 'svc-orders' }, environment: 'prod', resource: 'orders-db', ttlHours: 2, justification: 'month-end close', approvedBy: ['bob', 'carol'] } as const;

  it('an approved RITM: granted as evaluate grants its canonical request, exit 0, nothing written', async () => {
    const { code, report: r } = await report('servicenow-main', ritm({ ...granted, subject: { ...granted.subject }, approvedBy: [...granted.approvedBy] }));
    expect(code).toBe(0);
    expect(r.decision?.outcome).toBe('granted');
    expect(r.decision).toEqual(await evaluated(r.request));
    expect(stubs.servicenow.requests.length).toBeGreaterThan(0);
    expect(writes()).toEqual([]);
  });

  it('a RITM an owner rejected: rejected with the reason, exit 3, nothing written', async () => {
    const { code, out } = await runCheck('servicenow-main', ritm({ ...granted, subject: { ...granted.subject }, approvedBy: ['bob'], rejectedBy: ['carol'] }));
    expect(code).toBe(3);
    expect(out).toMatch(/- APPROVAL_REJECTED/);
    expect(writes()).toEqual([]);
  });

  it('a free-text RITM: not a request, exit 3, nothing written', async () => {
    const { code, report: r } = await report('servicenow-main', ritm({ item: 'other-access', requester: 'alice', shortDescription: 'need access to the prod db pls', description: 'whatever bob has' }));
    expect(code).toBe(3);
    expect(r.request).toBeNull();
    expect(r.mappingFailure?.reasons.map((x) => x.code)).toContain('FREE_TEXT_REQUEST');
    expect(writes()).toEqual([]);
  });
});

describe('grantline check through the json-webhook connector of the example config', () => {
  it('a ticket of the generic JSON source, approved by an owner: granted as evaluate grants it, nothing written', async () => {
    const decided = new Date(Date.parse(AT) - 600_000).toISOString();
    stubs.json.put({
      id: 'REQ-1',
      status: 'open',
      createdAt: new Date(Date.parse(AT) - 3_600_000).toISOString(),
      updatedAt: decided,
      requester: { email: 'alice@example.com' },
      request: { entitlement: 'analytics-readonly', environment: 'prod', resource: 'analytics-warehouse', justification: 'quarterly report' },
      approvals: [{ id: 'ap-1', approver: { email: 'bob@example.com' }, decision: 'approved', decidedAt: decided }],
    });
    const { code, report: r } = await report('json-main', 'REQ-1');
    expect(code, JSON.stringify(r.decision)).toBe(0);
    expect(r.request).toMatchObject({ entitlementId: 'analytics-readonly', subject: { type: 'human', id: 'alice' }, approvals: [{ approverPrincipalId: 'bob', evidence: { kind: 'source-approval', recordId: 'ap-1' } }] });
    expect(r.decision).toEqual(await evaluated(r.request));
    expect(stubs.json.requests.length).toBeGreaterThan(0);
    expect(writes()).toEqual([]);
  });
});

describe('grantline check, bad input', () => {
  it('an unknown connector id names the configured ones, exit 2', async () => {
    const { code, err } = await runCheck('jira-nope', 'ACC-1');
    expect(code).toBe(2);
    expect(err).toContain('no connector "jira-nope" in the config (configured: jira-main, json-main, servicenow-main');
  });

  it('a ticket the source does not have: exit 1, one line naming it', async () => {
    const { code, err } = await runCheck('jira-main', 'NOPE-404');
    expect(code).toBe(1);
    expect(err).toContain('cannot read NOPE-404 from jira-main');
  });
});
