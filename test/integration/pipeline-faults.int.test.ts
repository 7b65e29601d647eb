import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InternalKeyring, MAC_HEADER } from '../../src/trust/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer, createProducer, type Consumer } from '../../src/kafka/index.js';
import { startStack, startStubs, writeStackConfig, type Stack, type StackOptions, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket } from '../../dev/scenarios.js';
import { brokers, randomTopicSuffix, startBroker, stopBroker, testKafka } from './helpers/kafka.js';
import { spawnGrantline } from './helpers/grantline.js';
import { until } from './helpers/wait.js';

const kafka = testKafka('grantline-faults-reader');


/** Counts committed grants on a topic as they arrive (read_committed), by grant id; `ticketKey` narrows to one ticket. */
async function countGrants(topic: string, ticketKey?: string): Promise<{ consumer: Consumer; total: () => number; ids: Map<string, number> }> {
  const ids = new Map<string, number>();
  let total = 0;
  const consumer = createConsumer(kafka, { groupId: `it-count-${randomTopicSuffix()}`, readCommitted: true, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const value = JSON.parse(message.value?.toString('utf8') ?? '{}') as { grantId?: string; outcome?: string; source?: { ticketKey?: string } };
      if (value.outcome !== 'granted' || !value.grantId) return;
      // The stubs are shared by this file's tests, so the pollers also find the other tests' tickets.
      if (ticketKey !== undefined && value.source?.ticketKey !== ticketKey) return;
      total += 1;
      ids.set(value.grantId, (ids.get(value.grantId) ?? 0) + 1);
    },
  });
  return { consumer, total: () => total, ids };
}


function serveProcess(configFile: string, role: string): ChildProcess {
  return spawnGrantline(['serve', '--config', configFile, '--role', role]);
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('faults on the real broker', () => {
  let stubs: Stubs;
  beforeAll(async () => {
    stubs = await startStubs();
  });
  afterAll(async () => {
    await stubs?.close();
  });

  it('a processor killed mid-batch and restarted loses nothing and duplicates nothing', async () => {
    const prefix = `kill-${randomTopicSuffix()}.`;
    const options: StackOptions = { brokers: brokers().join(','), topicPrefix: prefix, stubs, roles: ['ingress'], instanceId: 'kill-test' };
    const ingress = await startStack(options);
    const configFile = join(mkdtempSync(join(tmpdir(), 'grantline-kill-')), 'grantline.yaml');
    writeStackConfig({ ...options, instanceId: 'kill-test-processor', logLevel: 'error' }, configFile);
    const counter = await countGrants(`${prefix}access.grants.pam.v1`);
    const children: ChildProcess[] = [];
    try {
      const N = 600;
      const secret = jiraWebhookSecret(ingress.config);
      for (let i = 0; i < N; i += 1) {
        const issue = seedJiraTicket(stubs.jira, nhiDualApproval());
        const res = await post(`${ingress.url}/webhooks/jira-main`, jiraDelivery(issue, secret));
        expect(res.status).toBe(202);
      }
      // The backlog is durable in Kafka; now a processor starts on it and is killed after its
      // first committed transaction, while the next batches are in flight.
      const first = serveProcess(configFile, 'processor');
      children.push(first);
      expect(await until(() => counter.total() > 0, 90_000)).toBe(true);
      first.kill('SIGKILL');
      await exited(first);
      const beforeRestart = counter.total();

      const second = serveProcess(configFile, 'processor');
      children.push(second);
      expect(await until(() => counter.total() >= N, 120_000)).toBe(true);
      // Anything duplicated would arrive now; give it time to show.
      await new Promise((r) => setTimeout(r, 5_000));
      const duplicates = [...counter.ids.values()].filter((n) => n > 1).length;
      process.stdout.write(`kill-and-restart: ${N} tickets, ${beforeRestart} grants committed before SIGKILL, ${counter.total()} grant messages after restart, ${counter.ids.size} distinct, ${duplicates} duplicated\n`);
      expect(beforeRestart).toBeLessThan(N);
      expect(counter.total()).toBe(N);
      expect(counter.ids.size).toBe(N);
      expect(duplicates).toBe(0);
      second.kill('SIGTERM');
      expect(await exited(second)).toBe(0);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await counter.consumer.disconnect();
      await ingress.stop();
    }
  }, 300_000);

  it('pauses at a ticket its source cannot serve in the middle of a backlog, then grants every ticket once and counts a poison event once', async () => {
    // Own stubs: the shared ones hold the other tests' tickets, which a poller would find.
    const own = await startStubs();
    const prefix = `pause-${randomTopicSuffix()}.`;
    const options: StackOptions = { brokers: brokers().join(','), topicPrefix: prefix, stubs: own, roles: ['ingress'], instanceId: 'pause-test' };
    const ingress = await startStack(options);
    const counter = await countGrants(`${prefix}access.grants.pam.v1`);
    let processor: Stack | undefined;
    try {
      const N = 60;
      const secret = jiraWebhookSecret(ingress.config);
      const issues = [];
      const internal = ingress.config.trust.internal;
      if (internal === undefined) throw new Error('the test config has trust.internal');
      const keyring = InternalKeyring.load(internal);
      const producer = createProducer(kafka);
      await producer.connect();
      for (let i = 0; i < N; i += 1) {
        const issue = seedJiraTicket(own.jira, nhiDualApproval());
        expect((await post(`${ingress.url}/webhooks/jira-main`, jiraDelivery(issue, secret))).status).toBe(202);
        issues.push(issue);
        // A poison event right behind the middle ticket on its partition: parsed before the pause
        // and read again after it. Sealed with grantline's own key, so it passes the MAC check and
        // is refused by the parser (an unsealed one is refused earlier, as trust-internal shows).
        if (i === N / 2) {
          const topic = `${prefix}grantline.ticket-events.v1`;
          const key = `jira-main|${issue.id}`;
          const value = JSON.stringify({ not: 'a ticket event' });
          await producer.send(topic, [{ key, value, headers: { [MAC_HEADER]: keyring.seal(topic, key, value) } }]);
        }
      }
      await producer.disconnect();
      // One ticket in the middle of the backlog is unavailable for its first three reads. Batches of
      // 4: the chunks before it commit, the ones after it (already fetched ahead) are read again.
      const sick = issues[N / 2];
      if (sick === undefined) throw new Error('no ticket in the middle');
      const sickReads = () => own.jira.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/issue/${sick.id}`)).length;
      own.jira.failWhen((r) => r.method === 'GET' && r.path.endsWith(`/issue/${sick.id}`), 503, 3);
      processor = await startStack({ ...options, roles: ['processor'], instanceId: 'pause-test-processor', pipeline: { batchSize: 4 } });
      expect(await until(() => counter.total() >= N, 90_000)).toBe(true);
      // Anything duplicated would arrive now; give it time to show.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(counter.total()).toBe(N);
      expect(counter.ids.size).toBe(N);
      expect(sickReads()).toBeGreaterThanOrEqual(4);
      // Metrics count what was committed: the re-read poison event is counted once.
      const metrics = await (await fetch(`${processor.url}/metrics`)).text();
      expect(metrics).toMatch(/^grantline_dlq_total\{stage="processor\.parse"\} 1$/m);
      expect(metrics).toMatch(/^grantline_decisions_total\{connector="jira-main",outcome="granted"\} 60$/m);
    } finally {
      await processor?.stop();
      await counter.consumer.disconnect();
      await ingress.stop();
      await own.close();
    }
  }, 180_000);

  describe('with the broker stopped', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ brokers: brokers().join(','), topicPrefix: `down-${randomTopicSuffix()}.`, stubs, pipeline: { produceTimeoutMs: 5_000 } });
    });
    afterAll(async () => {
      await stack?.stop();
    });

    it('answers 504 pending (or 503 not stored) while Kafka is down, writes the delivery once it is back, and processes it once', async () => {
      const issue = seedJiraTicket(stubs.jira, nhiDualApproval());
      const delivery = jiraDelivery(issue, jiraWebhookSecret(stack.config), { deliveryId: `retry-${issue.id}` });
      const prefix = stack.config.kafka.topicPrefix;
      const t0 = Date.now();
      const mark = (what: string) => process.stdout.write(`broker-down: ${what} at +${Date.now() - t0} ms\n`);
      await stopBroker();
      mark('broker stopped');
      let down: Awaited<ReturnType<typeof post>>;
      try {
        down = await post(`${stack.url}/webhooks/jira-main`, delivery);
        mark(`webhook answered ${down.status}`);
      } finally {
        await startBroker();
        mark('broker started');
      }
      // Either answer keeps the guarantee, and which one comes depends on when the producer noticed the
      // broker was gone: handed to Kafka, 504 `pending` (sent again until Kafka takes it, written once);
      // still queued when its time was up, 503 `no` (taken out of the queue, never written). Never 202,
      // never 503 `unknown`. Either way the retries below end with exactly one grant.
      expect([503, 504]).toContain(down.status);
      expect(down.body).toMatchObject(down.status === 504 ? { error: { code: 'pending' }, stored: 'pending' } : { error: { code: 'unavailable' }, stored: 'no' });

      // The source retries the same delivery until it is answered 202 (a duplicate of that write).
      let status = 0;
      const deadline = Date.now() + 180_000;
      while (status !== 202 && Date.now() < deadline) {
        status = (await post(`${stack.url}/webhooks/jira-main`, delivery)).status;
        if (status !== 202) await new Promise((r) => setTimeout(r, 1_000));
      }
      mark('retried delivery accepted');
      expect(status).toBe(202);
      const counter = await countGrants(`${prefix}access.grants.pam.v1`, issue.key);
      try {
        expect(await until(() => counter.total() === 1, 180_000)).toBe(true);
      } finally {
        await counter.consumer.disconnect();
      }
    }, 420_000);
  });
});
