/**
 * The adapter kit's pure parts: the desired set and the plan (level-triggered: what should be
 * against what is), and the verification of each message of the grant topic.
 */
import { describe, expect, it } from 'vitest';
import { GrantBook } from '../../adapters/kit/book.js';
import type { ActualPrivilege, Privilege } from '../../adapters/kit/contract.js';
import { intake, type RawMessage } from '../../adapters/kit/intake.js';
import { jwksSource } from '../../adapters/kit/jwks.js';
import { Ledger } from '../../adapters/kit/ledger.js';
import { createAdapterMetrics } from '../../adapters/kit/metrics.js';
import { plan } from '../../adapters/kit/plan.js';
import { reconcile } from '../../adapters/kit/reconcile.js';
import { Registry } from 'prom-client';
import { publicJwks } from '../../src/custody/index.js';
import type { Grant, Revocation } from '../../src/model/index.js';
import { freshKey, grantTopicMessage, signedGrant, signedRevocation } from '../../dev/signed-grants.js';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const grantline = freshKey('grantline-test');

function grant(grantId: string, subjectId = 'svc-a', ttlMinutes = 60, entitlementId = 'db-rw'): Grant {
  return signedGrant(grantline.keys, { grantId, entitlementId, subjectId, validFrom: T0, ttlSeconds: ttlMinutes * 60 });
}

/** A target that maps entitlement `db-rw` to role `rw` and any `svc-*` subject to itself. */
const target = {
  privilegeOf: (g: Grant): Privilege | { unfulfillable: string } | null =>
    g.entitlementId === 'db-rw'
      ? g.subject.id === 'svc-nobody'
        ? { unfulfillable: `no login role for ${g.subject.id}` }
        : { key: `rw:${g.subject.id}`, description: `${g.subject.id} in rw` }
      : null,
};

function held(key: string, grantIds: string[] = [], revocable?: boolean): ActualPrivilege {
  return { privilege: { key, description: key }, grantIds, ...(revocable === undefined ? {} : { revocable }) };
}

describe('the plan', () => {
  it('provisions grants in force that the target has not recorded, and confirms those it has', () => {
    const book = new GrantBook();
    book.addGrant(grant('g1', 'svc-a'));
    book.addGrant(grant('g2', 'svc-b'));
    const p = plan(book, [held('rw:svc-b', ['g2'])], target, at(1));
    expect(p.provision.map((x) => x.grant.grantId)).toEqual(['g1']);
    expect(p.inForce.map((x) => x.grant.grantId)).toEqual(['g2']);
    expect(p.revoke).toEqual([]);
    expect(p.drift).toEqual([]);
  });

  it('never provisions a grant whose revocation is known, whichever came first on the topic', () => {
    const g = grant('g1');
    const revocation = signedRevocation(grantline.keys, g, at(5));
    for (const order of [['grant', 'revocation'], ['revocation', 'grant']]) {
      const book = new GrantBook();
      for (const step of order) {
        if (step === 'grant') book.addGrant(g);
        else book.addRevocation(revocation);
      }
      const p = plan(book, [], target, at(10));
      expect(p.provision).toEqual([]);
      expect(p.settled.map((s) => s.ended.revocation?.revocationId)).toEqual([revocation.revocationId]);
    }
  });

  it('revokes at expiry by itself (no revocation needed), and keeps a privilege another grant in force still gives', () => {
    const book = new GrantBook();
    book.addGrant(grant('short', 'svc-a', 10));
    book.addGrant(grant('long', 'svc-a', 120));
    book.addGrant(grant('alone', 'svc-b', 10));
    const actual = [held('rw:svc-a', ['short', 'long']), held('rw:svc-b', ['alone'])];
    expect(plan(book, actual, target, at(9)).revoke).toEqual([]);
    const p = plan(book, actual, target, at(10));
    expect(p.revoke.map((r) => [r.privilege.key, r.ended.map((e) => [e.grant.grantId, e.revocation])])).toEqual([['rw:svc-b', [['alone', null]]]]);
    expect(p.settled.map((s) => [s.ended.grant.grantId, s.keptFor])).toEqual([['short', 'long']]);
    expect(book.nextExpiry(at(10))).toBe(at(120).getTime());
  });

  it('calls a privilege drift when no grant explains it: hand-granted, or recorded for grants not on the topic', () => {
    const book = new GrantBook();
    book.addGrant(grant('g1', 'svc-a'));
    const p = plan(book, [held('rw:svc-a', ['g1']), held('rw:svc-x'), held('rw:svc-y', ['gone']), held('rw:alice', [], false)], target, at(1));
    expect(p.drift.map((d) => [d.actual.privilege.key, d.reason])).toEqual([
      ['rw:svc-x', 'no grant explains it: it was not provisioned through grantline'],
      ['rw:svc-y', 'the grants recorded for it (gone) are not on the grant topic'],
      ['rw:alice', 'no grant explains it: it was not provisioned through grantline'],
    ]);
    expect(p.drift[2]?.actual.revocable).toBe(false);
  });

  it('names what the target cannot fulfil, and leaves alone what is not for it (another adapter on the channel serves it)', () => {
    const book = new GrantBook();
    book.addGrant(grant('g1', 'svc-nobody'));
    book.addGrant(grant('g2', 'svc-a', 60, 'vault-root'));
    book.addGrant(grant('g3', 'svc-a', 1, 'vault-root'));
    const p = plan(book, [], target, at(2));
    expect(p.unfulfillable).toEqual([{ grant: expect.objectContaining({ grantId: 'g1' }), reason: 'no login role for svc-nobody' }]);
    expect([...p.provision, ...p.inForce, ...p.revoke, ...p.drift, ...p.settled]).toEqual([]);
  });
});

function raw(message: Grant | Revocation | Record<string, unknown>, edit: { key?: string; type?: string } = {}): RawMessage {
  const encoded = grantTopicMessage(message as Grant);
  const headers: Record<string, unknown> = { ...encoded.headers, ...(edit.type === undefined ? {} : { ce_type: edit.type }) };
  for (const [k, v] of Object.entries(headers)) headers[k] = Buffer.from(String(v));
  return { partition: 0, offset: '7', key: Buffer.from(edit.key ?? encoded.key), value: Buffer.from(JSON.stringify(message)), headers };
}

describe('intake: every message verified before the kit acts on it', () => {
  const jwks = jwksSource(publicJwks(grantline.keys));
  const g = grant('g1');

  it('accepts a genuine grant and revocation, and a genuine grant that has expired (it is needed to know what must not be held)', async () => {
    expect((await intake(raw(g), jwks, 'pam', at(1))).kind).toBe('grant');
    expect((await intake(raw(signedRevocation(grantline.keys, g, at(2))), jwks, 'pam', at(3))).kind).toBe('revocation');
    expect((await intake(raw(g), jwks, 'pam', at(61))).kind).toBe('grant');
  });

  it.each([
    ['a grant with its TTL edited', () => raw({ ...g, ttlSeconds: 86_400, expiresAt: at(24 * 60).toISOString() }), ['signature-valid']],
    ['a grant signed by a key grantline does not have', () => raw(signedGrant(freshKey('grantline-test').keys, { grantId: 'g9', entitlementId: 'db-rw', subjectId: 'svc-a', validFrom: T0, ttlSeconds: 600 })), ['signature-valid']],
    ['a genuine grant moved to another key', () => raw(g, { key: 'g2' }), ['kafka-key']],
    ['a genuine grant labelled as a revocation', () => raw(g, { type: 'dev.grantline.grant.revoked.v1' }), ['ce-type']],
    ['a genuine grant of another channel', () => raw(signedGrant(grantline.keys, { grantId: 'g3', entitlementId: 'db-rw', subjectId: 'svc-a', validFrom: T0, ttlSeconds: 600, channel: 'secrets' })), ['channel']],
  ])('refuses %s', async (_name, make, checks) => {
    const result = await intake(make(), jwks, 'pam', at(1));
    expect(result.kind).toBe('refused');
    expect(result.kind === 'refused' && result.failed.map((f) => f.name)).toEqual(checks);
  });

  it('refuses a value that is not a CloudEvent, and skips a ce_type it does not know', async () => {
    const notCe = { partition: 0, offset: '1', key: null, value: Buffer.from('{}'), headers: {} };
    expect(await intake(notCe, jwks, 'pam', at(1))).toMatchObject({ kind: 'refused', failed: [{ name: 'cloudevent' }] });
    expect(await intake(raw(g, { type: 'dev.grantline.grant.extended.v9' }), jwks, 'pam', at(1))).toMatchObject({ kind: 'ignored' });
  });

  it('reads the JWKS again when a kid is unknown (grantline rotated), and waits when it cannot be read', async () => {
    const rotated = freshKey('grantline-next');
    let served = publicJwks(grantline.keys);
    let reads = 0;
    const source = jwksSource(
      async () => {
        reads++;
        if (served === null) throw new Error('connection refused');
        return served;
      },
      { minRefreshMs: 0 },
    );
    const later = signedGrant(rotated.keys, { grantId: 'g4', entitlementId: 'db-rw', subjectId: 'svc-a', validFrom: T0, ttlSeconds: 600 });
    expect((await intake(raw(g), source, 'pam', at(1))).kind).toBe('grant');
    served = { keys: [...publicJwks(grantline.keys).keys, ...publicJwks(rotated.keys).keys] };
    expect((await intake(raw(later), source, 'pam', at(1))).kind).toBe('grant');
    expect(reads).toBe(2);
    served = null as unknown as typeof served;
    const other = signedGrant(freshKey('grantline-third').keys, { grantId: 'g5', entitlementId: 'db-rw', subjectId: 'svc-a', validFrom: T0, ttlSeconds: 600 });
    expect(await intake(raw(other), source, 'pam', at(1))).toMatchObject({ kind: 'unavailable', reason: 'connection refused' });
  });
});

describe('reconcile: reports once, and catches up a report a crash lost', () => {
  it('reports a grant the target already recorded (provisioned before a crash, never reported), then never again', async () => {
    const adapterKey = freshKey('adapter-unit');
    const book = new GrantBook();
    book.addGrant(grant('g1', 'svc-a'));
    const calls: string[] = [];
    const published: string[][] = [];
    const ledger = new Ledger('unit-adapter', adapterKey.keys);
    const ctx = {
      adapter: 'unit-adapter',
      topic: 'access.grants.pam.v1',
      target: {
        ...target,
        provision: async (g: Grant) => (calls.push(`provision ${g.grantId}`), 'ref'),
        revoke: async (p: Privilege) => (calls.push(`revoke ${p.key}`), 'ref'),
        listActual: async () => [held('rw:svc-a', ['g1'])],
      },
      book,
      ledger,
      keys: adapterKey.keys,
      onDrift: 'alert' as const,
      metrics: createAdapterMetrics(new Registry()),
      driftSeen: new Map<string, string>(),
      publish: async (results: readonly { value: string }[]) => void published.push(results.map((r) => r.value)),
      emit: () => undefined,
    };
    await reconcile(ctx, at(1));
    await reconcile(ctx, at(2));
    expect(calls).toEqual([]);
    expect(published.map((batch) => batch.map((v) => (JSON.parse(v) as { grantId: string; status: string }).status))).toEqual([['provisioned'], []]);
    // What a restart reads back from the results topic counts too: this adapter's own signed result only.
    const restarted = new Ledger('unit-adapter', adapterKey.keys);
    const [sent] = published[0] ?? [];
    restarted.readResult(Buffer.from(sent ?? ''));
    expect(restarted.touched('g1')).toBe(true);
    const forged = new Ledger('unit-adapter', freshKey('adapter-unit').keys);
    forged.readResult(Buffer.from(sent ?? ''));
    expect(forged.touched('g1')).toBe(false);
  });
});
