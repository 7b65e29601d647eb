/**
 * `level: error` in grantline's log means something is wrong: a clean run (serve with every role,
 * a granted and a rejected ticket, their write-backs, a graceful stop) writes no error line, though
 * kafkajs meets its routine retried conditions (CONCURRENT_TRANSACTIONS, coordinators loading or
 * moving, rebalances) on the way.
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

beforeAll(async () => {
  stubs = await startStubs();
});

afterAll(async () => {
  if (run && run.child.exitCode === null) run.child.kill('SIGKILL');
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
    const config = join(dir, 'grantline.yaml');
    writeStackConfig({ brokers: brokers().join(','), topicPrefix: `clean-${randomBytes(4).toString('hex')}.`, stubs, logLevel: 'info' }, config);
    run = runGrantline(['serve', '--config', config], { ...process.env, JIRA_WEBHOOK_SECRET: JIRA_SECRET, SERVICENOW_WEBHOOK_HMAC: SN_HMAC });
    const url = await readyUrl(run);

    // Several tickets at once, as the demo files them: transactions follow each other closely.
    const issues = Array.from({ length: 6 }, (_, i) => seedJiraTicket(stubs.jira, nhiDualApproval({ ttlHours: 1 + i })));
    const ritm = seedServiceNowTicket(stubs.servicenow, { item: 'other-access', requester: 'alice', shortDescription: 'need prod db', description: 'free text' });
    const answers = await Promise.all([
      ...issues.map((issue) => post(`${url}/webhooks/jira-main`, jiraDelivery(issue, JIRA_SECRET))),
      post(`${url}/webhooks/servicenow-main`, serviceNowDelivery(ritm, SN_HMAC)),
    ]);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    // Every one decided and written back on its ticket.
    const written = await until(
      () =>
        issues.every((issue) => stubs.jira.state.comments(issue.id).some((c) => c.text.includes('Access granted'))) &&
        stubs.servicenow.state.journal(String(ritm.sys_id)).some((j) => String(j.value).includes('FREE_TEXT_REQUEST')),
      45_000,
    );
    expect(written, run.stdout().slice(-4000)).toBe(true);

    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    const lines = run.lines();
    // The log was captured, kafkajs included.
    expect(lines.some((l) => l.component === 'kafkajs')).toBe(true);
    expect(lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
  });
});
