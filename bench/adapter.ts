/**
 * Grants per second through the PostgreSQL adapter (the kit and the PostgreSQL target), on the
 * real broker and server, without grantline: N grants signed as grantline signs them are written
 * to the grant topic at once, and the adapter (converged, waiting) provisions them; then N
 * revocations; then a second adapter starts on the same topic and a fresh database and replays
 * it all. Run by `bash bench/run.sh --adapter [--grants N]`; writes bench/results/adapter/NAME.json.
 *
 *   --grants N     grants in the burst (default 2000)
 *   --name NAME    results file name (default adapter-<N>)
 */
import { availableParallelism } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { runAdapter, type AdapterHandle } from '../adapters/kit/index.js';
import { PostgresTarget } from '../adapters/postgres/target.js';
import { createScratch, type Scratch } from '../dev/pg-scratch.js';
import { freshKey, grantTopicMessage, signedGrant, signedRevocation } from '../dev/signed-grants.js';
import { publicJwks } from '../src/custody/index.js';
import { createProducer, ensureTopics, topicNames } from '../src/kafka/index.js';
import type { Grant } from '../src/model/index.js';
import { benchKafka, follow } from './kafka.js';
import { machine, ROOT, round1, sleep } from './lib.js';

const { values } = parseArgs({ options: { grants: { type: 'string', default: '2000' }, name: { type: 'string' } } });
const N = Number(values.grants);
if (!Number.isInteger(N) || N < 10) throw new Error('--grants must be a whole number of at least 10');
const NAME = values.name ?? `adapter-${N}`;
const BROKERS = process.env.KAFKA_BROKERS ?? '';
if (BROKERS === '') throw new Error('KAFKA_BROKERS is not set: run through bench/run.sh --adapter');
const PER_ENTITLEMENT = 100;
const ENTITLEMENTS = Array.from({ length: Math.ceil(N / PER_ENTITLEMENT) }, (_, i) => `db-bench-${i}`);
const SUBJECTS = Array.from({ length: PER_ENTITLEMENT }, (_, i) => `svc-bench-${i}`);
const log = (line: string): void => console.log(`[adapter-bench] ${line}`);

async function waitCount(count: () => number, target: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (count() < target) {
    if (Date.now() > deadline) throw new Error(`timed out at ${count()} of ${target}`);
    await sleep(20);
  }
  return performance.now();
}

async function main(): Promise<void> {
  const prefix = `bench-adapter-${Date.now()}.`;
  const names = topicNames(prefix);
  const kafka = benchKafka(BROKERS, 'grantline-adapter-bench');
  const grantline = freshKey('grantline-bench');
  const scratches: Scratch[] = [];
  const adapters: AdapterHandle[] = [];
  const targets: PostgresTarget[] = [];
  const start = async (name: string): Promise<{ scratch: Scratch; adapter: AdapterHandle }> => {
    const scratch = await createScratch(ENTITLEMENTS, SUBJECTS);
    scratches.push(scratch);
    const target = await PostgresTarget.connect(scratch.targetConfig());
    targets.push(target);
    const adapter = await runAdapter({ name, channel: 'pam', brokers: BROKERS.split(','), kafka: { topicPrefix: prefix }, jwks: publicJwks(grantline.keys), signingKey: freshKey(`${name}-1`).input, target, logger: pino({ level: 'error' }) });
    adapters.push(adapter);
    return { scratch, adapter };
  };
  try {
    await ensureTopics(kafka, [names.grants('pam'), names.fulfillmentResults, names.alerts].map((topic) => ({ topic, partitions: 3 })));
    const reported = { provisioned: 0, revoked: 0 };
    const results = await follow(kafka, names.fulfillmentResults, (m) => {
      const status = (JSON.parse(m.value?.toString('utf8') ?? '{}') as { status?: string; adapter?: string }).status;
      if (status === 'provisioned') reported.provisioned++;
      if (status === 'revoked') reported.revoked++;
    });
    const live = await start('bench-live');

    const now = new Date();
    const grants: Grant[] = Array.from({ length: N }, (_, i) =>
      signedGrant(grantline.keys, { grantId: `gr_bench_${i}`, entitlementId: ENTITLEMENTS[Math.floor(i / PER_ENTITLEMENT)] as string, subjectId: SUBJECTS[i % PER_ENTITLEMENT] as string, validFrom: now, ttlSeconds: 3600 }),
    );
    const revocations = grants.map((g) => signedRevocation(grantline.keys, g, now));
    const producer = createProducer(kafka);
    await producer.connect();
    const send = async (messages: ReturnType<typeof grantTopicMessage>[]): Promise<void> => {
      for (let i = 0; i < messages.length; i += 500) await producer.send(names.grants('pam'), messages.slice(i, i + 500));
    };

    log(`${N} grants to ${ENTITLEMENTS.length} group roles x ${SUBJECTS.length} login roles, one adapter, waiting`);
    const t0 = performance.now();
    await send(grants.map(grantTopicMessage));
    const sent = performance.now();
    const t1 = await waitCount(() => reported.provisioned, N, 600_000);
    const members = (await live.scratch.memberships()).length;
    if (members !== N) throw new Error(`${members} memberships after ${N} provisioned reports`);
    const grantsPerSecond = N / ((t1 - t0) / 1000);
    log(`provisioned ${N} in ${round1((t1 - t0) / 1000)} s: ${round1(grantsPerSecond)} grants/s (publishing took ${round1((sent - t0) / 1000)} s)`);

    const r0 = performance.now();
    await send(revocations.map(grantTopicMessage));
    const r1 = await waitCount(() => reported.revoked, N, 600_000);
    if ((await live.scratch.memberships()).length !== 0) throw new Error('memberships left after every revocation');
    const revocationsPerSecond = N / ((r1 - r0) / 1000);
    log(`revoked ${N} in ${round1((r1 - r0) / 1000)} s: ${round1(revocationsPerSecond)} revocations/s`);
    await producer.disconnect();

    const c0 = performance.now();
    const replay = await start('bench-replay');
    const c1 = performance.now();
    const replayed = (await replay.scratch.memberships()).length;
    const replayPerSecond = (2 * N) / ((c1 - c0) / 1000);
    log(`a new adapter read, verified and converged on ${2 * N} messages in ${round1((c1 - c0) / 1000)} s (${round1(replayPerSecond)} messages/s), provisioning ${replayed}`);
    await results.stop();

    const out = {
      name: NAME,
      startedAt: now.toISOString(),
      grants: N,
      machine: { ...machine(), nproc: availableParallelism() },
      shape: { groupRoles: ENTITLEMENTS.length, loginRoles: SUBJECTS.length, partitions: 3, onePgTransactionPerGrant: true },
      provision: { seconds: round1((t1 - t0) / 1000), grantsPerSecond: round1(grantsPerSecond) },
      revoke: { seconds: round1((r1 - r0) / 1000), revocationsPerSecond: round1(revocationsPerSecond) },
      replayOnStart: { messages: 2 * N, seconds: round1((c1 - c0) / 1000), messagesPerSecond: round1(replayPerSecond), provisioned: replayed },
    };
    const dir = join(ROOT, 'bench/results/adapter');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${NAME}.json`), `${JSON.stringify(out, null, 2)}\n`);
    log(`wrote bench/results/adapter/${NAME}.json`);
  } finally {
    await Promise.allSettled(adapters.map((a) => a.stop()));
    await Promise.allSettled(targets.map((t) => t.close()));
    await Promise.allSettled(scratches.map((s) => s.drop()));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`[adapter-bench] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
