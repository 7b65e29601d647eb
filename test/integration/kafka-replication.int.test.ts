/**
 * `kafka.replicationFactor` and `kafka.minInsyncReplicas` against the real single-broker cluster:
 * topics are created with them, and `serve` refuses existing topics that fall short, naming the
 * topic and the numbers. One broker is enough to show both refusals: it can only hold one replica.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { describeTopicConfig, ensureTopics, grantlineTopicSpecs, topicNames, TopicConfigMismatchError, type Kafka } from '../../src/kafka/index.js';
import { randomTopicSuffix, testKafka, uniqueTopic } from './helpers/kafka.js';
import { secure, serve, type ServeRun } from './helpers/secure.js';

const repo = resolve(import.meta.dirname, '../..');
let kafka: Kafka;
let dir: string;
const runs: ServeRun[] = [];

beforeAll(() => {
  kafka = testKafka('grantline-it-replication');
  dir = mkdtempSync(join(tmpdir(), 'grantline-replication-'));
});

afterEach(() => {
  for (const run of runs.splice(0)) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
});

describe('replication of the topics grantline creates', () => {
  it('serve refuses existing topics with fewer replicas than kafka.replicationFactor, naming the topic and both numbers', async () => {
    const prefix = `it-rf-${randomTopicSuffix()}.`;
    // Every topic serve needs exists already, with the single broker's one replica.
    await ensureTopics(kafka, grantlineTopicSpecs(topicNames(prefix), ['pam', 'secrets'], 1));
    const config = join(dir, 'rf2.yaml');
    writeFileSync(
      config,
      stringifyYaml({
        kafka: { brokers: [secure.plaintextBroker()], topicPrefix: prefix, partitions: 1, replicationFactor: 2 },
        http: { host: '127.0.0.1', port: 0 },
        catalog: { path: join(repo, 'examples/catalog.yaml') },
        directory: { path: join(repo, 'examples/directory.yaml') },
        signing: { activeKid: 'dev-example-1', keys: [{ kid: 'dev-example-1', privateKeyPem: `\${file:${join(repo, 'examples/keys/dev-signing-key.pem')}}` }] },
        trust: { internal: { activeKid: 'i1', keys: [{ kid: 'i1', secret: 'dGVzdC1pbnRlcm5hbC1tYWMta2V5LTMyLWJ5dGVzLSE=' }] } },
        policy: { version: 'it' },
      }),
    );
    const run = serve(config);
    runs.push(run);
    expect(await run.exitWithin(60_000), run.stderr()).toBe(1);
    const lines = run.stderr().split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^grantline serve: failed to start \\(kafka-topics\\): topic ${prefix.replaceAll('.', '\\.')}[a-z.-]+\\.v1: has 1 replica, fewer than kafka\\.replicationFactor 2 \\(add replicas with kafka-reassign-partitions, or lower kafka\\.replicationFactor\\)$`,
      ),
    );
  });

  it('creating a topic with more replicas than the cluster has brokers fails with a clear error', async () => {
    const topic = uniqueTopic('rf2-create');
    const attempt = ensureTopics(kafka, [{ topic, partitions: 1 }], { replicationFactor: 2 });
    await expect(attempt).rejects.toBeInstanceOf(TopicConfigMismatchError);
    await expect(attempt).rejects.toThrow(`topic ${topic}: cannot be created with kafka.replicationFactor 2: the cluster has 1 broker`);
  });

  it('creates topics with replicationFactor and min.insync.replicas, and accepts them on the next start', async () => {
    const topic = uniqueTopic('rf1-minisr1');
    const first = await ensureTopics(kafka, [{ topic, partitions: 1 }], { replicationFactor: 1, minInsyncReplicas: 1 });
    expect(first.created).toEqual([topic]);
    expect((await describeTopicConfig(kafka, topic))['min.insync.replicas']).toBe('1');
    expect((await ensureTopics(kafka, [{ topic, partitions: 1 }], { replicationFactor: 1, minInsyncReplicas: 1 })).existing).toEqual([topic]);
  });

  it('refuses an existing topic whose min.insync.replicas is below kafka.minInsyncReplicas, or above its replicas', async () => {
    const topic = uniqueTopic('minisr');
    await ensureTopics(kafka, [{ topic, partitions: 1 }]);
    await expect(ensureTopics(kafka, [{ topic, partitions: 1 }], { minInsyncReplicas: 2 })).rejects.toThrow(`topic ${topic}: min.insync.replicas is 1, below kafka.minInsyncReplicas 2`);

    // Created with a minimum its single replica can never meet: no acks=all write would succeed.
    const unwritable = uniqueTopic('minisr-unwritable');
    await expect(ensureTopics(kafka, [{ topic: unwritable, partitions: 1 }], { minInsyncReplicas: 2 })).rejects.toThrow(
      `topic ${unwritable}: min.insync.replicas is 2 but it has 1 replica: no write could be acknowledged`,
    );
  });
});
