/**
 * `grantline whatif` against real decisions: a running grantline decides Jira tickets on the shared
 * broker (its own topic prefix), keeping each decision's canonical request; the command reads them
 * back and re-decides them under a changed catalog.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as whatif } from '../../src/cli/commands/whatif.js';
import { jsonSha256 } from '../../src/custody/index.js';
import { DecisionRequestRecord } from '../../src/model/index.js';
import { startStack, startStubs, writeStackConfig, type Stack, type StackOptions, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket } from '../../dev/scenarios.js';
import { captureCli } from '../fixtures/cli.js';
import { EXAMPLE_CATALOG_PATH } from '../fixtures/requests/factory.js';
import { brokers, consumeAll, randomTopicSuffix, testKafka } from './helpers/kafka.js';

const prefix = `whatif-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-whatif-reader');
const dir = mkdtempSync(join(tmpdir(), 'grantline-whatif-'));
const configPath = join(dir, 'grantline.yaml');
let stubs: Stubs;
let stack: Stack;
const keys: Record<'six' | 'two' | 'pending', string> = { six: '', two: '', pending: '' };

/** The example catalog with the orders entry capped at four hours. */
function writeCappedCatalog(): string {
  const doc = parseYaml(readFileSync(EXAMPLE_CATALOG_PATH, 'utf8')) as { entitlements: { id: string; ttl: Record<string, unknown> }[] };
  const entry = doc.entitlements.find((e) => e.id === 'db-orders-prod-readwrite');
  if (entry === undefined) throw new Error('example catalog changed');
  entry.ttl = { defaultSeconds: '4h', maxSeconds: '4h' };
  const path = join(dir, 'catalog-4h.yaml');
  writeFileSync(path, stringifyYaml(doc));
  return path;
}

async function records(): Promise<DecisionRequestRecord[]> {
  return (await consumeAll(kafka, `${prefix}grantline.decision-requests.v1`, { timeoutMs: 2_000 })).map((m) => DecisionRequestRecord.parse(JSON.parse(m.value ?? 'null')));
}

beforeAll(async () => {
  stubs = await startStubs();
  const options: StackOptions = { brokers: brokers().join(','), topicPrefix: prefix, stubs, roles: ['ingress', 'processor'] };
  writeStackConfig(options, configPath);
  stack = await startStack(options);
  const secret = jiraWebhookSecret(stack.config);
  const six = seedJiraTicket(stubs.jira, nhiDualApproval({ ttlHours: 6 }));
  const two = seedJiraTicket(stubs.jira, nhiDualApproval({ ttlHours: 2 }));
  const pending = seedJiraTicket(stubs.jira, nhiDualApproval({ approvedBy: [] }));
  Object.assign(keys, { six: six.key, two: two.key, pending: pending.key });
  for (const issue of [six, two, pending]) expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, secret))).status).toBe(202);
  const deadline = Date.now() + 60_000;
  while ((await records()).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await stubs?.close();
});

describe('grantline whatif on real published decisions', () => {
  it('the processor kept the canonical request of each decision, matching its custody event', async () => {
    const kept = await records();
    expect(kept.map((r) => [r.ticket.ticketKey, r.outcome]).sort()).toEqual(
      [
        [keys.six, 'granted'],
        [keys.two, 'granted'],
        [keys.pending, 'rejected'],
      ].sort(),
    );
    const custody = (await consumeAll(kafka, `${prefix}access.custody.v1`, { timeoutMs: 2_000 })).map((m) => JSON.parse(m.value ?? 'null') as { eventId: string; data: { requestSha256?: string } });
    for (const r of kept) {
      expect(r.requestSha256).toBe(jsonSha256(r.request));
      expect(custody.find((e) => e.eventId === r.custody.eventId)?.data.requestSha256).toBe(r.requestSha256);
    }
  });

  it('under a four-hour cap, the six-hour grant would be refused; the others are unchanged (JSON, exit 1)', async () => {
    const catalog = writeCappedCatalog();
    const out = await captureCli(whatif, ['--catalog', catalog, '--config', configPath, '--json', '--since', '1d']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(1);
    const report = JSON.parse(out.stdout) as { decided: number; unchanged: number; counts: Record<string, number>; differences: { change: string; ticket: { ticketKey: string }; after: { reasons: { code: string; message: string }[] } }[] };
    expect(report.decided).toBe(3);
    expect(report.unchanged).toBe(2);
    expect(report.counts['granted-to-rejected']).toBe(1);
    expect(report.differences.map((d) => [d.change, d.ticket.ticketKey, d.after.reasons.map((r) => r.code)])).toEqual([['granted-to-rejected', keys.six, ['TTL_EXCEEDS_MAX']]]);

    const table = await captureCli(whatif, ['--catalog', catalog, '--config', configPath]);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/re-decided 3 decisions/);
    expect(table.stdout).toMatch(new RegExp(`${keys.six}\\s+\\S+\\s+db-orders-prod-readwrite\\s+granted → rejected\\s+TTL_EXCEEDS_MAX: .*at most 4h; the ticket asks for 6h`));
  });

  it('under the catalog in force nothing would change (exit 0); a bad catalog is a clear error (exit 2)', async () => {
    const same = await captureCli(whatif, ['--catalog', EXAMPLE_CATALOG_PATH, '--config', configPath]);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/nothing would change/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'entitlements: [{ id: x }]\n');
    const refused = await captureCli(whatif, ['--catalog', bad, '--config', configPath]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/bad\.yaml is invalid/);
  });
});
