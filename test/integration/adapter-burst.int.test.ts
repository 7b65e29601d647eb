/**
 * Issue 14: the kit with the PostgreSQL target under a burst, and on its own (no grantline
 * running): grants signed with a test key (the same sealing and signing grantline does) written
 * straight to the grant topic. 1,000 grants and 500 revocations in a burst must leave exactly the
 * 500 memberships in force; a grant whose revocation never comes must end at its expiry anyway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdapter, type AdapterHandle } from '../../adapters/kit/index.js';
import { PostgresTarget } from '../../adapters/postgres/target.js';
import { freshKey, grantTopicMessage, signedGrant, signedRevocation } from '../../dev/signed-grants.js';
import { publicJwks } from '../../src/custody/index.js';
import { createProducer, ensureTopics, topicNames } from '../../src/kafka/index.js';
import type { Grant } from '../../src/model/index.js';
import { follow, type Follower } from './helpers/follow.js';
import { brokers, randomTopicSuffix, testKafka, testLogger } from './helpers/kafka.js';
import { createScratch, eventually, type Scratch } from '../../dev/pg-scratch.js';

const prefix = `pgbu-${randomTopicSuffix()}.`;
const names = topicNames(prefix);
const kafka = testKafka('grantline-pg-burst-it');
const grantline = freshKey('grantline-burst');
const ENTITLEMENTS = Array.from({ length: 10 }, (_, i) => `db-e${i}`);
const SUBJECTS = Array.from({ length: 100 }, (_, i) => `svc-s${String(i).padStart(3, '0')}`);

let offsetMs = 0;
const clock = (): Date => new Date(Date.now() + offsetMs);

let scratch: Scratch;
let target: PostgresTarget;
let adapter: AdapterHandle;
let results: Follower;

async function publish(messages: { key: string; value: string; headers: Record<string, string> }[]): Promise<void> {
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 250) await producer.send(names.grants('pam'), messages.slice(i, i + 250));
  } finally {
    await producer.disconnect();
  }
}

beforeAll(async () => {
  scratch = await createScratch([...ENTITLEMENTS, 'db-solo'], [...SUBJECTS, 'svc-solo']);
  await ensureTopics(kafka, [names.grants('pam'), names.fulfillmentResults, names.alerts].map((topic) => ({ topic, partitions: 3 })));
  results = await follow(kafka, names.fulfillmentResults);
  target = await PostgresTarget.connect(scratch.targetConfig());
  adapter = await runAdapter({
    name: 'postgres-burst',
    channel: 'pam',
    brokers: brokers(),
    kafka: { topicPrefix: prefix },
    jwks: publicJwks(grantline.keys),
    signingKey: freshKey('pg-burst-1').input,
    target,
    clock,
    reconcileIntervalMs: 500,
    logger: testLogger(),
  });
}, 120_000);

afterAll(async () => {
  await adapter?.stop();
  await target?.close();
  await results?.stop();
  await scratch?.drop();
});

describe('the kit with the PostgreSQL target, without grantline', () => {
  it('converges 1,000 grants and 500 revocations in a burst to exactly the memberships in force', async () => {
    const now = clock();
    const grants: Grant[] = [];
    for (let i = 0; i < 1000; i++) {
      const entitlementId = ENTITLEMENTS[i % 10] as string;
      const subjectId = SUBJECTS[Math.floor(i / 10)] as string;
      grants.push(signedGrant(grantline.keys, { grantId: `gr_burst_${i}`, entitlementId, subjectId, validFrom: now, ttlSeconds: 3600 }));
    }
    // Each revocation follows its grant on the topic (same key), some right after it, some at the end.
    const messages = [];
    for (const [i, g] of grants.entries()) {
      messages.push(grantTopicMessage(g));
      if (i % 4 === 0) messages.push(grantTopicMessage(signedRevocation(grantline.keys, g, now)));
    }
    for (const [i, g] of grants.entries()) if (i % 4 === 2) messages.push(grantTopicMessage(signedRevocation(grantline.keys, g, now)));
    expect(messages).toHaveLength(1500);
    await publish(messages);

    const expected = grants
      .filter((_, i) => i % 2 === 1)
      .map((g) => `${scratch.subjects[g.subject.id]}>${scratch.entitlements[g.entitlementId]}`)
      .sort();
    let last: string[] = [];
    const converged = await eventually(async () => {
      last = await scratch.memberships();
      return JSON.stringify(last) === JSON.stringify(expected);
    }, 180_000);
    expect(converged, `${last.length} memberships, expected ${expected.length}`).toBe(true);
    // Stable: another reconcile changes nothing, and the bookkeeping agrees grant by grant.
    await adapter.reconcileNow();
    expect(await scratch.memberships()).toEqual(expected);
    const open = await scratch.admin.query<{ grant_id: string }>('SELECT grant_id FROM grantline_adapter.memberships WHERE revoked_at IS NULL ORDER BY grant_id');
    expect(open.rows.map((r) => r.grant_id)).toEqual(grants.filter((_, i) => i % 2 === 1).map((g) => g.grantId).sort());
    // Every grant in force reported provisioned, exactly once.
    const provisioned = await results.wait((m) => m.value.status === 'provisioned', 500, 60_000);
    expect(new Set(provisioned.map((m) => m.value.grantId)).size).toBe(provisioned.length);
    expect(provisioned.filter((m) => Number(String(m.value.grantId).split('_')[2]) % 2 === 1)).toHaveLength(500);
  }, 240_000);

  it('ends a grant at its expiry by itself when no revocation ever comes (fail closed)', async () => {
    const grant = signedGrant(grantline.keys, { grantId: 'gr_solo', entitlementId: 'db-solo', subjectId: 'svc-solo', validFrom: clock(), ttlSeconds: 60 });
    await publish([grantTopicMessage(grant)]);
    expect(await eventually(() => scratch.isMember('svc-solo', 'db-solo'))).toBe(true);
    offsetMs += 61_000;
    expect(await eventually(async () => !(await scratch.isMember('svc-solo', 'db-solo')))).toBe(true);
    const [ended] = await results.wait((m) => m.value.grantId === 'gr_solo' && m.value.action === 'revoke');
    expect(ended?.value).toMatchObject({ status: 'revoked', reference: 'expired' });
    expect(String(ended?.value.detail)).toContain("without waiting for grantline's revocation");
  });

  it("decides nothing while grantline's keys cannot be read (no grant, no refusal, no drift revoked), and converges once they can", async () => {
    const prefix2 = `pgbu2-${randomTopicSuffix()}.`;
    const names2 = topicNames(prefix2);
    await ensureTopics(kafka, [names2.grants('pam'), names2.fulfillmentResults, names2.alerts].map((topic) => ({ topic, partitions: 1 })));
    const alerts = await follow(kafka, names2.alerts);
    const blind = await createScratch(['db-solo'], ['svc-solo', 'svc-other']);
    const group = blind.entitlements['db-solo'] as string;
    await blind.admin.query(`GRANT "${group}" TO "${blind.subjects['svc-other']}"`);
    const grant = signedGrant(grantline.keys, { grantId: 'gr_wait', entitlementId: 'db-solo', subjectId: 'svc-solo', validFrom: clock(), ttlSeconds: 3600 });
    const producer = createProducer(kafka);
    await producer.connect();
    await producer.send(names2.grants('pam'), [grantTopicMessage(grant)]);
    await producer.disconnect();
    let reachable = false;
    const blindTarget = await PostgresTarget.connect(blind.targetConfig());
    const waiting = await runAdapter({
      name: 'postgres-blind',
      channel: 'pam',
      brokers: brokers(),
      kafka: { topicPrefix: prefix2 },
      jwks: async () => {
        if (!reachable) throw new Error('grantline is down');
        return publicJwks(grantline.keys);
      },
      signingKey: freshKey('pg-blind-1').input,
      target: blindTarget,
      onDrift: 'revoke',
      clock,
      reconcileIntervalMs: 500,
      logger: testLogger(),
    });
    try {
      await waiting.reconcileNow();
      expect(waiting.ready()).toBe(false);
      expect(await blind.memberships()).toEqual([`${blind.subjects['svc-other']}>${group}`]);
      expect(alerts.messages).toEqual([]);

      reachable = true;
      expect(await eventually(async () => waiting.ready() && (await blind.memberships()).join() === `${blind.subjects['svc-solo']}>${group}`)).toBe(true);
      expect((await alerts.wait((m) => m.value.kind === 'adapter.drift')).map((m) => m.value.action)).toEqual(['revoked']);
    } finally {
      await waiting.stop();
      await blindTarget.close();
      await alerts.stop();
      await blind.drop();
    }
  });
});
