/**
 * `level: error` in grantline's log means something is wrong: a clean run (serve with every role,
 * tickets granted and rejected with their write-backs, a second processor joining the group as a
 * scale-out does, graceful stops) writes no error line, though kafkajs meets its routine retried
 * conditions (rebalances, CONCURRENT_TRANSACTIONS, coordinators loading or moving) on the way.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStubs, writeStackConfig, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, nhiDualApproval, post, seedJiraTicket, seedServiceNowTicket, serviceNowDelivery } from '../../dev/scenarios.js';
import { brokers } from './helpers/kafka.js';
import { runGrantline, type GrantlineRun } from './helpers/grantline.js';
import { until } from './helpers/wait.js';

// The example config's dev-only webhook secrets (examples/grantline.yaml defaults).
const JIRA_SECRET = 'dev-only-jira-webhook-secret';
const SN_HMAC = 'tX4I3DEYCxE1u87BFtTgn2h8LUY51olZdVfJ+MDOngg=';

let stubs: Stubs;
let run: GrantlineRun | undefined;
let second: GrantlineRun | undefined;

beforeAll(async () => {
  stubs = await startStubs();
});

afterAll(async () => {
  for (const r of [run, second]) if (r && r.child.exitCode === null) r.child.kill('SIGKILL');
  await stubs?.close();
});

async function readyUrl(r: GrantlineRun): Promise<string> {
  let url: string | undefined;
  await until(() => {
    url = r.lines().find((l) => l.msg === 'http listening')?.url as string | undefined;
    return url !== undefined || r.child.exitCode !== null;
  }, 60_000);
  if (url === undefined) throw new Error(`serve did not listen:\n${r.stderr()}\n${r.stdout()}`);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await fetch(`${url}/readyz`).then((res) => res.status, () => 0)) !== 200) await new Promise((res) => setTimeout(res, 200));
  return url;
}

describe('a clean run', () => {
  it('writes no error-level line: routine kafkajs retries are logged lower', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'grantline-clean-run-'));
    const topicPrefix = `clean-${randomBytes(4).toString('hex')}.`;
    const env = { ...process.env, JIRA_WEBHOOK_SECRET: JIRA_SECRET, SERVICENOW_WEBHOOK_HMAC: SN_HMAC };
    // Two partitions, so a second processor gets some of them.
    const options = { brokers: brokers().join(','), topicPrefix, stubs, logLevel: 'info', edit: (tree: Record<string, unknown>) => void Object.assign(tree.kafka as object, { partitions: 2 }) };
    writeStackConfig({ ...options, instanceId: 'clean-a' }, join(dir, 'a.yaml'));
    writeStackConfig({ ...options, instanceId: 'clean-b' }, join(dir, 'b.yaml'));
    run = runGrantline(['serve', '--config', join(dir, 'a.yaml')], env);
    const url = await readyUrl(run);

    // Several tickets at once, as the demo files them, before and after a second processor joins.
    const issues = Array.from({ length: 6 }, (_, i) => seedJiraTicket(stubs.jira, nhiDualApproval({ ttlHours: 1 + i })));
    const ritm = seedServiceNowTicket(stubs.servicenow, { item: 'other-access', requester: 'alice', shortDescription: 'need prod db', description: 'free text' });
    const deliver = (list: typeof issues): Promise<{ status: number }[]> => Promise.all(list.map((issue) => post(`${url}/webhooks/jira-main`, jiraDelivery(issue, JIRA_SECRET))));
    const first = await Promise.all([...(await deliver(issues.slice(0, 3))), await post(`${url}/webhooks/servicenow-main`, serviceNowDelivery(ritm, SN_HMAC))]);
    second = runGrantline(['serve', '--config', join(dir, 'b.yaml'), '--role', 'processor'], env);
    await readyUrl(second);
    const later = await deliver(issues.slice(3));
    expect([...first, ...later].map((a) => a.status)).toEqual([...first, ...later].map(() => 202));
    // Every one decided and written back on its ticket.
    const written = await until(
      () =>
        issues.every((issue) => stubs.jira.state.comments(issue.id).some((c) => c.text.includes('Access granted'))) &&
        stubs.servicenow.state.journal(String(ritm.sys_id)).some((j) => String(j.value).includes('FREE_TEXT_REQUEST')),
      60_000,
    );
    expect(written, run.stdout().slice(-4000)).toBe(true);

    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    const lines = [...run.lines(), ...second.lines()];
    // The log was captured, kafkajs included, and the group did rebalance.
    expect(lines.some((l) => l.component === 'kafkajs')).toBe(true);
    expect(second.lines().some((l) => l.msg === 'Consumer has joined the group')).toBe(true);
    expect(lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
  });
});
