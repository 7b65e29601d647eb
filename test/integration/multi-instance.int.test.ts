/**
 * Issue 15's proof: several `grantline serve` processes share the work by partition, on a broker of
 * this test's own (it kills processes; the shared broker is never touched). Three processes on 6
 * partitions take 2,000 tickets; one is SIGKILLed mid-run and a fourth starts. At the end every
 * ticket has exactly one grant, every short-TTL grant exactly one revocation, every ticket exactly
 * one decision note, and each live process holds the state of exactly the partitions the group
 * coordinator assigned it (disjoint, covering all six).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackConfig, startStubs, writeStackConfig, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket } from '../../dev/scenarios.js';
import type { StubIssue } from '../../dev/stubs/jira-stub.js';
import { clientNames, createConsumer, createKafka, topicNames, type Consumer } from '../../src/kafka/index.js';
import { groupAssignment } from './helpers/group.js';
import { spawnGrantline } from './helpers/grantline.js';
import { randomTopicSuffix, testLogger } from './helpers/kafka.js';
import { until } from './helpers/wait.js';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
/** This test's own broker and HTTP ports (the range given to it), never the shared broker's. */
const BROKER_PORT = Number(process.env.GRANTLINE_MULTI_BROKER_PORT ?? 19500);
const HTTP_PORTS = [19510, 19511, 19512, 19513];
const TICKETS = 2_000;
const SHORT_TTL_EVERY = 5; // every fifth ticket asks for ~14 s of access
const PARTITIONS = 6;

const work = mkdtempSync(join(tmpdir(), 'grantline-multi-'));
const data = join(work, 'kafka');
const brokers = `127.0.0.1:${BROKER_PORT}`;
const prefix = `multi-${randomTopicSuffix()}.`;

let stubs: Stubs;

function configFor(i: number): string {
  const file = join(work, `grantline-${i}.yaml`);
  writeStackConfig(
    {
      brokers,
      topicPrefix: prefix,
      stubs,
      httpPort: HTTP_PORTS[i] as number,
      instanceId: `multi-${i}`,
      logLevel: 'error',
      pipeline: { pollIntervalMs: 0, lifecycleTickMs: 500 },
      edit: (tree) => {
        (tree.kafka as Record<string, unknown>).partitions = PARTITIONS;
        // One client id per process, so the group coordinator's members can be told apart.
        (tree.kafka as Record<string, unknown>).clientId = clientIdOf(i);
      },
    },
    file,
  );
  return file;
}

function clientIdOf(i: number): string {
  return `multi-${i}`;
}

function serve(i: number): ChildProcess {
  const env = { ...process.env };
  delete env.KAFKA_BROKERS; // the config's brokers (this test's own) win
  return spawnGrantline(['serve', '--config', configFor(i), '--role', 'all'], { env });
}

/** A fresh broker loads its group coordinator on first use, and three processes start at once on a small machine. */
async function ready(i: number): Promise<boolean> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${HTTP_PORTS[i]}/readyz`).then((r) => r.ok).catch(() => false);
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** The partitions whose ticket state a process holds, read from its `grantline_state_tickets` metric. */
async function heldPartitions(i: number): Promise<number[]> {
  const text = await fetch(`http://127.0.0.1:${HTTP_PORTS[i]}/metrics`).then((r) => r.text());
  return [...text.matchAll(/^grantline_state_tickets\{partition="(\d+)"\} \d+/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

describe('several grantline processes share the partitions', () => {
  beforeAll(async () => {
    await run('bash', [join(repo, 'dev/kafka/start.sh'), '--port', String(BROKER_PORT), '--data', data], { timeout: 120_000 });
    stubs = await startStubs();
  }, 180_000);

  afterAll(async () => {
    await stubs?.close();
    await run('bash', [join(repo, 'dev/kafka/stop.sh'), '--port', String(BROKER_PORT), '--data', data], { timeout: 120_000 }).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('three processes, one SIGKILLed and a fourth started: one grant, one revocation per short grant, one note per ticket; state only of owned partitions', async () => {
    const kafka = createKafka({ brokers: [brokers], clientId: 'multi-reader', topicPrefix: '', partitions: 1 }, testLogger());
    const secret = jiraWebhookSecret(stackConfig({ brokers, stubs }));
    const children: (ChildProcess | null)[] = [serve(0), serve(1), serve(2), null];
    const grants = new Map<string, number>();
    const revoked = new Map<string, number>();
    let consumer: Consumer | null = null;
    try {
      for (const i of [0, 1, 2]) expect(await ready(i)).toBe(true);
      consumer = createConsumer(kafka, { groupId: `multi-count-${randomTopicSuffix()}`, readCommitted: true, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topics: [`${prefix}access.grants.pam.v1`], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const v = JSON.parse(message.value?.toString('utf8') ?? '{}') as { outcome?: string; grantId?: string; revocationId?: string; source?: { ticketKey?: string } };
          const type = message.headers?.ce_type?.toString();
          if (type === 'dev.grantline.grant.revoked.v1' && v.grantId) revoked.set(v.grantId, (revoked.get(v.grantId) ?? 0) + 1);
          else if (v.outcome === 'granted' && v.source?.ticketKey) grants.set(v.source.ticketKey, (grants.get(v.source.ticketKey) ?? 0) + 1);
        },
      });

      const issues: StubIssue[] = [];
      const shortKeys = new Set<string>();
      for (let n = 0; n < TICKETS; n++) {
        const short = n % SHORT_TTL_EVERY === 0;
        const issue = seedJiraTicket(stubs.jira, nhiDualApproval(short ? { ttlHours: 0.004 } : {}));
        issues.push(issue);
        if (short) shortKeys.add(issue.key);
      }
      const live = [0, 1, 2];
      let posted = 0;
      const postAll = async (from: number, to: number): Promise<void> => {
        for (let n = from; n < to; n++) {
          const target = live[n % live.length] as number;
          const res = await post(`http://127.0.0.1:${HTTP_PORTS[target]}/webhooks/jira-main`, jiraDelivery(issues[n] as StubIssue, secret));
          expect(res.status).toBe(202);
          posted++;
        }
      };
      await postAll(0, TICKETS / 2);
      // Mid-run: some tickets decided, many still queued on every partition.
      expect(await until(() => grants.size >= TICKETS / 10, 60_000)).toBe(true);
      (children[1] as ChildProcess).kill('SIGKILL');
      await exited(children[1] as ChildProcess);
      live.splice(live.indexOf(1), 1);
      children[3] = serve(3);
      await postAll(TICKETS / 2, TICKETS);
      expect(posted).toBe(TICKETS);
      expect(await ready(3)).toBe(true);
      live.push(3);

      expect(await until(() => grants.size >= TICKETS, 120_000)).toBe(true);
      const shortGrantIds = (): string[] => [...shortKeys].flatMap((key) => stubs.jira.state.comments(issues.find((i) => i.key === key)?.id ?? '').map((c) => /^\[grantline:(gr_[^\]]+)\]/.exec(c.text)?.[1]).filter((g): g is string => g !== undefined));
      expect(await until(() => revoked.size >= shortKeys.size, 90_000)).toBe(true);
      const decisionNote = (issue: StubIssue): number => stubs.jira.state.comments(issue.id).filter((c) => /^\[grantline:gr_[^\]]+\]/.test(c.text)).length;
      expect(await until(() => issues.every((i) => decisionNote(i) >= 1), 60_000)).toBe(true);
      // Anything duplicated would show now.
      await new Promise((r) => setTimeout(r, 3_000));

      expect(grants.size).toBe(TICKETS);
      expect([...grants.values()].filter((n) => n !== 1)).toEqual([]);
      expect(revoked.size).toBe(shortKeys.size);
      expect([...revoked.values()].filter((n) => n !== 1)).toEqual([]);
      expect(new Set(shortGrantIds())).toEqual(new Set(revoked.keys()));
      expect(issues.filter((i) => decisionNote(i) !== 1).map((i) => i.key)).toEqual([]);

      // Every partition's state is held by exactly one live process (the metric of each), and each
      // holds exactly the partitions the group coordinator assigned it: no state of a partition it
      // does not own, and none missing.
      const group = clientNames(prefix, 'grantline').group('processor');
      const topic = topicNames(prefix).ticketEvents;
      let held: number[][] = [];
      let assigned: number[][] = [];
      const ownsWhatItHolds = async (): Promise<boolean> => {
        held = await Promise.all(live.map((i) => heldPartitions(i)));
        const { state, members } = await groupAssignment(kafka, group, topic);
        assigned = live.map((i) => members.filter((m) => m.clientId === clientIdOf(i)).flatMap((m) => m.partitions).sort((a, b) => a - b));
        const all = held.flat().sort((a, b) => a - b);
        return state === 'Stable' && all.length === PARTITIONS && all.every((p, k) => p === k) && JSON.stringify(held) === JSON.stringify(assigned);
      };
      const deadline = Date.now() + 30_000;
      while (!(await ownsWhatItHolds()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      process.stdout.write(`multi-instance: ${TICKETS} tickets, ${shortKeys.size} short grants revoked; partitions held by live processes: ${JSON.stringify(held)}, assigned by the group: ${JSON.stringify(assigned)}\n`);
      expect(held.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(held.every((h) => h.length > 0)).toBe(true);
      expect(held).toEqual(assigned);
    } finally {
      await consumer?.disconnect();
      for (const c of children) if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      await Promise.all(children.map((c) => (c ? exited(c) : undefined)));
    }
  }, 400_000);
});
