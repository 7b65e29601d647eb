/**
 * Issue 11, part 4 on the real broker: the catalog and directory change while grantline runs, and
 * the next decision uses the new version, with no restart. An invalid edit is refused (the old
 * version stays in force whole) and alerted on `grantline.alerts.v1`; a catalog that adds a channel
 * gets its grant topic before it takes effect; SIGHUP reloads a running `grantline serve` without
 * killing it; a missing or inconsistent catalog or directory stops `serve` with exit 2.
 *
 * The in-process stack reloads through its file watch (the periodic re-read is set to an hour), so
 * a passing test shows that an edit is seen as it happens.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackConfig, startStack, startStubs, writeStackConfig, type Stack, type StackOptions, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket, type AccessTicket } from '../../dev/scenarios.js';
import { parseCatalog, parseDirectory } from '../../src/catalog/index.js';
import { CE_TYPES } from '../../src/pipeline/cloudevents.js';
import { runGrantline } from './helpers/grantline.js';
import { brokers, consumeAll, randomTopicSuffix, testKafka, type ConsumedMessage } from './helpers/kafka.js';
import { until } from './helpers/wait.js';

const EXAMPLES = resolve(import.meta.dirname, '../../examples');
const prefix = `reload-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-reload-reader');
const work = mkdtempSync(join(tmpdir(), 'grantline-reload-'));
const catalogFile = join(work, 'catalog.yaml');
const directoryFile = join(work, 'directory.yaml');

const topic = {
  pam: `${prefix}access.grants.pam.v1`,
  warehouse: `${prefix}access.grants.warehouse.v1`,
  rejected: `${prefix}access.requests.rejected.v1`,
  alerts: `${prefix}grantline.alerts.v1`,
};

type Doc = Record<string, unknown> & { groups: Record<string, string[]>; entitlements: Record<string, unknown>[] };

/** Rewrites a document the way an editor saves: a new file renamed over the old one would do too. */
function edit(file: string, change: (doc: Doc) => void): string {
  const doc = parseYaml(readFileSync(file, 'utf8')) as Doc;
  change(doc);
  const text = stringifyYaml(doc);
  writeFileSync(file, text);
  return text;
}

let stubs: Stubs;
let stack: Stack;

function data(m: ConsumedMessage): Record<string, unknown> {
  return JSON.parse(m.value ?? 'null') as Record<string, unknown>;
}

async function waitFor(topicName: string, match: (m: ConsumedMessage) => boolean, timeoutMs = 30_000): Promise<ConsumedMessage | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await consumeAll(kafka, topicName, { timeoutMs: 2_000 })).find(match);
    if (found !== undefined || Date.now() > deadline) return found;
  }
}

const aboutTicket = (key: string) => (m: ConsumedMessage) => (data(m).source as { ticketKey?: string } | undefined)?.ticketKey === key;

async function metric(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Files a Jira ticket and delivers its webhook to `url`. */
async function file(ticket: AccessTicket, url = stack.url, secret = jiraWebhookSecret(stack.config)): Promise<string> {
  const issue = seedJiraTicket(stubs.jira, ticket);
  expect((await post(`${url}/webhooks/jira-main`, jiraDelivery(issue, secret))).status).toBe(202);
  return issue.key;
}

const analyticsForAlice: AccessTicket = { entitlement: 'analytics-readonly', requester: 'alice', subject: { type: 'human', id: 'alice' }, environment: 'prod', resource: 'analytics-warehouse', approvedBy: ['carol'] };

function stackOptions(overrides: Partial<StackOptions> = {}, files = { catalog: catalogFile, directory: directoryFile }): StackOptions {
  return {
    brokers: brokers().join(','),
    topicPrefix: prefix,
    stubs,
    // Owner checks and the periodic re-read of the files: rare, so only the file watch can explain a reload.
    pipeline: { directoryCheckMs: 3_600_000, pollIntervalMs: 0 },
    edit: (tree) => {
      tree.catalog = { path: files.catalog };
      tree.directory = { path: files.directory };
    },
    ...overrides,
  };
}

beforeAll(async () => {
  copyFileSync(join(EXAMPLES, 'catalog.yaml'), catalogFile);
  copyFileSync(join(EXAMPLES, 'directory.yaml'), directoryFile);
  stubs = await startStubs();
  stack = await startStack(stackOptions());
});

afterAll(async () => {
  await stack?.stop();
  await stubs?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('catalog and directory reloaded while running', () => {
  const service = () => stack.service;
  let directoryWithoutBob = '';

  it('rejects the next ticket bob approves once he is removed from data-platform-owners, without a restart', async () => {
    const running = service();
    const before = parseDirectory(readFileSync(directoryFile, 'utf8')).version;
    const granted = await file(nhiDualApproval());
    const grant = await waitFor(topic.pam, aboutTicket(granted));
    expect(grant && data(grant)).toMatchObject({ outcome: 'granted', policy: { directoryVersion: before } });

    directoryWithoutBob = edit(directoryFile, (doc) => {
      doc.groups['data-platform-owners'] = ['carol'];
    });
    const after = parseDirectory(directoryWithoutBob).version;
    await expect.poll(() => metric(stack.url, 'grantline_policy_reload_total', 'document="directory",outcome="reloaded"'), { timeout: 15_000 }).toBe(1);

    const refused = await file(nhiDualApproval());
    const rejection = await waitFor(topic.rejected, aboutTicket(refused));
    const value = rejection ? data(rejection) : {};
    expect((value.reasons as { code: string; message: string }[]).map((r) => r.code)).toContain('APPROVER_NOT_AUTHORIZED');
    expect(JSON.stringify(value.reasons)).toContain('bob');
    // The decision names the directory it was taken under: the new one.
    expect(value.policy).toMatchObject({ directoryVersion: after });
    expect(after).not.toBe(before);
    expect(service()).toBe(running);
    expect(running.state).toBe('running');
  });

  it('keeps the version in force when an edit is invalid, and raises an alert naming every problem', async () => {
    const inForce = parseDirectory(directoryWithoutBob).version;
    // Bob back in the group, but next to a principal nobody defined: the whole file is refused.
    edit(directoryFile, (doc) => {
      doc.groups['data-platform-owners'] = ['carol', 'bob', 'bobby'];
      doc.groups.security = ['erin', 'eve'];
    });
    const alert = await waitFor(topic.alerts, (m) => m.headers.ce_type === CE_TYPES.policyAlert);
    expect(alert).toBeDefined();
    expect(data(alert as ConsumedMessage)).toMatchObject({
      kind: 'policy.reload.failed',
      problems: [
        { document: 'directory', file: directoryFile, path: 'groups.data-platform-owners[2]', message: 'unknown principal "bobby"' },
        { document: 'directory', file: directoryFile, path: 'groups.security[1]', message: 'unknown principal "eve"' },
      ],
      inForce: { directoryVersion: inForce },
      raisedBy: 'grantline@harness',
    });
    expect(await metric(stack.url, 'grantline_policy_document_valid', 'document="directory"')).toBe(0);
    expect(await metric(stack.url, 'grantline_policy_reload_total', 'document="directory",outcome="invalid"')).toBe(1);

    // Bob is still not an approver: the invalid file was not applied, not even in part.
    const key = await file(nhiDualApproval());
    const rejection = await waitFor(topic.rejected, aboutTicket(key));
    const value = rejection ? data(rejection) : {};
    expect((value.reasons as { code: string }[]).map((r) => r.code)).toContain('APPROVER_NOT_AUTHORIZED');
    expect(value.policy).toMatchObject({ directoryVersion: inForce });

    // Fixed again: valid, and the same version as the one in force.
    writeFileSync(directoryFile, directoryWithoutBob);
    await expect.poll(() => metric(stack.url, 'grantline_policy_document_valid', 'document="directory"'), { timeout: 15_000 }).toBe(1);
  });

  it('creates the grant topic of a channel a new catalog adds before the catalog takes effect', async () => {
    const text = edit(catalogFile, (doc) => {
      const entry = doc.entitlements.find((e) => e.id === 'analytics-readonly') as Record<string, unknown>;
      entry.channel = 'warehouse';
    });
    await expect.poll(() => metric(stack.url, 'grantline_policy_reload_total', 'document="catalog",outcome="reloaded"'), { timeout: 15_000 }).toBe(1);
    const key = await file(analyticsForAlice);
    const grant = await waitFor(topic.warehouse, aboutTicket(key));
    expect(grant && data(grant)).toMatchObject({ outcome: 'granted', entitlementId: 'analytics-readonly', custody: { catalogVersion: parseCatalog(text).version } });
  });

  it('refuses a catalog naming an approver group the directory lacks, and alerts', async () => {
    const inForce = parseCatalog(readFileSync(catalogFile, 'utf8')).version;
    edit(catalogFile, (doc) => {
      const entry = doc.entitlements.find((e) => e.id === 'analytics-readonly') as Record<string, unknown>;
      entry.approvers = { pool: ['finance-approvers'], minDistinct: 1 };
    });
    const alert = await waitFor(topic.alerts, (m) => m.headers.ce_type === CE_TYPES.policyAlert && JSON.stringify(data(m).problems).includes('finance-approvers'));
    expect(alert && data(alert)).toMatchObject({
      problems: [{ document: 'catalog', file: catalogFile, path: 'entitlements[3].approvers', message: 'entry "analytics-readonly" names approver group "finance-approvers", which the directory does not define' }],
      inForce: { catalogVersion: inForce },
    });
    // Carol still approves analytics for alice under the catalog in force.
    const key = await file(analyticsForAlice);
    const grant = await waitFor(topic.warehouse, aboutTicket(key));
    expect(grant && data(grant)).toMatchObject({ outcome: 'granted', custody: { catalogVersion: inForce } });
  });
});

describe('grantline serve as a process', () => {
  const children: ChildProcess[] = [];

  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  function serve(configPath: string) {
    const env = { ...process.env };
    delete env.KAFKA_BROKERS; // the config names the broker
    const run = runGrantline(['serve', '--config', configPath], env);
    children.push(run.child);
    return run;
  }

  it('reloads on SIGHUP and keeps running (Node would exit on SIGHUP by default)', { timeout: 120_000 }, async () => {
    // Its own copies: the in-process stack's catalog is invalid on disk by now.
    const files = { catalog: join(work, 'hup-catalog.yaml'), directory: join(work, 'hup-directory.yaml') };
    copyFileSync(join(EXAMPLES, 'catalog.yaml'), files.catalog);
    copyFileSync(join(EXAMPLES, 'directory.yaml'), files.directory);
    const options = stackOptions({ topicPrefix: `${prefix}hup.`, logLevel: 'info', instanceId: 'hup' }, files);
    const configPath = join(work, 'serve.yaml');
    writeStackConfig(options, configPath);
    const run = serve(configPath);
    expect(await until(() => run.lines().some((l) => l.msg === 'http listening') || run.child.exitCode !== null, 60_000)).toBe(true);
    const url = String(run.lines().find((l) => l.msg === 'http listening')?.url);
    const pid = run.child.pid;

    run.child.kill('SIGHUP');
    expect(await until(() => run.lines().some((l) => l.trigger === 'signal' && l.component === 'policy-documents'), 15_000)).toBe(true);
    expect(run.lines().find((l) => l.trigger === 'signal')).toMatchObject({ outcome: 'unchanged', msg: 'catalog and directory reloaded: nothing changed' });
    expect(run.child.exitCode).toBeNull();
    expect(run.child.signalCode).toBeNull();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // Whatever sees the edit first (the watch or the signal), this process decides by it: same pid.
    writeFileSync(files.directory, directoryWithBobOnlyInSecurity());
    run.child.kill('SIGHUP');
    expect(await until(() => run.lines().some((l) => l.msg === 'catalog and directory reloaded: the new version decides from now on'), 15_000)).toBe(true);
    const key = await file(nhiDualApproval(), url, jiraWebhookSecret(stackConfig(options)));
    const rejection = await waitFor(`${prefix}hup.access.requests.rejected.v1`, aboutTicket(key));
    expect(rejection && (data(rejection).reasons as { code: string }[]).map((r) => r.code)).toContain('APPROVER_NOT_AUTHORIZED');
    expect(run.child.pid).toBe(pid);
    expect(run.child.exitCode).toBeNull();

    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });

  it('exits 2 naming catalog.path when the catalog file does not exist', async () => {
    const missing = join(work, 'no-such-catalog.yaml');
    const configPath = join(work, 'missing.yaml');
    writeStackConfig(stackOptions({}, { catalog: missing, directory: join(EXAMPLES, 'directory.yaml') }), configPath);
    const run = serve(configPath);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain(`invalid config ${configPath} (1 problem):`);
    expect(run.stderr()).toContain(`catalog.path: ${missing}: cannot read the file (ENOENT)`);
  });

  it('exits 2 listing every catalog entry that names a group the directory lacks', async () => {
    const lacking = join(work, 'directory-lacking.yaml');
    copyFileSync(join(EXAMPLES, 'directory.yaml'), lacking);
    edit(lacking, (doc) => {
      delete doc.groups['data-platform-owners'];
      delete doc.groups['payments-owners'];
    });
    const configPath = join(work, 'lacking.yaml');
    writeStackConfig(stackOptions({}, { catalog: join(EXAMPLES, 'catalog.yaml'), directory: lacking }), configPath);
    const run = serve(configPath);
    expect(await run.exit).toBe(2);
    const stderr = run.stderr();
    expect(stderr).toContain('(3 problems):');
    for (const [index, entry, group] of [
      [0, 'db-orders-prod-readwrite', 'data-platform-owners'],
      [1, 'payments-api-key', 'payments-owners'],
      [3, 'analytics-readonly', 'data-platform-owners'],
    ] as const) {
      expect(stderr).toContain(`catalog.path: ${join(EXAMPLES, 'catalog.yaml')}: entitlements[${index}].approvers: entry "${entry}" names approver group "${group}", which the directory does not define`);
    }
  });
});

/** The example directory with bob only in `security`: he may no longer approve orders-db access. */
function directoryWithBobOnlyInSecurity(): string {
  const doc = parseYaml(readFileSync(join(EXAMPLES, 'directory.yaml'), 'utf8')) as Doc;
  doc.groups['data-platform-owners'] = ['carol'];
  doc.groups.security = ['erin', 'bob'];
  return stringifyYaml(doc);
}
