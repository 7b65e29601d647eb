/**
 * Genuine, signed grants and revocations made without a running grantline, for adapter tests and
 * the adapter benchmark: the same sealing (custody link, digest) and signing grantline does, with
 * a key the caller holds, written as grantline writes them (CloudEvents, keyed by grant id).
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { loadSigningKeys, sealGrant, sealRevocation, type SigningKeys } from '../src/custody/index.js';
import type { Grant, Revocation } from '../src/model/index.js';
import { CE_TYPES, encodeCloudEvent, type EncodedMessage } from '../src/pipeline/cloudevents.js';

/** A fresh Ed25519 key as config gives it (`{ activeKid, keys }`), and the loaded `SigningKeys`. */
export function freshKey(kid: string): { input: { activeKid: string; keys: { kid: string; privateKeyPem: string }[] }; keys: SigningKeys } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const input = { activeKid: kid, keys: [{ kid, privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }] };
  return { input, keys: loadSigningKeys(input) };
}

export interface GrantSpec {
  readonly grantId: string;
  readonly entitlementId: string;
  readonly subjectId: string;
  readonly validFrom: Date;
  readonly ttlSeconds: number;
  readonly channel?: string;
  readonly ticketKey?: string;
}

const ORIGIN = {
  deliveryId: 'dlv-signed-grants',
  via: 'webhook' as const,
  payloadSha256: 'a'.repeat(64),
  signatureVerified: true,
  snapshotSha256: 'b'.repeat(64),
  connectorId: 'jira-main',
  catalogVersion: 'cat-test',
  policyVersion: 'pol-test',
  decidedBy: 'grantline/test processor@dev',
};

function source(spec: GrantSpec) {
  const key = spec.ticketKey ?? `ACC-${spec.grantId}`;
  return { system: 'jira', connectorId: 'jira-main', instanceUrl: 'https://jira.example.test', ticketId: key, ticketKey: key, url: `https://jira.example.test/browse/${key}` };
}

/** A signed grant, sealed as the first custody event of its own ticket. */
export function signedGrant(keys: SigningKeys, spec: GrantSpec): Grant {
  const at = spec.validFrom.toISOString();
  const decision = {
    outcome: 'granted' as const,
    grantId: spec.grantId,
    requestId: `rq_${spec.grantId}`,
    source: source(spec),
    requester: { principalId: 'alice', sourceIdentity: { kind: 'email' as const, value: 'alice@example.com' } },
    subject: { type: 'service_account' as const, id: spec.subjectId },
    subjectOwnerPrincipalId: 'alice',
    entitlementId: spec.entitlementId,
    entitlement: { id: spec.entitlementId, kind: 'role' as const, system: 'postgres', resource: 'orders-db', sensitivity: 'high', channel: spec.channel ?? 'pam', catalogVersion: 'cat-test' },
    resource: 'orders-db',
    environment: 'prod',
    justification: { text: 'adapter test' },
    approvals: [],
    validFrom: at,
    expiresAt: new Date(spec.validFrom.getTime() + spec.ttlSeconds * 1000).toISOString(),
    ttlSeconds: spec.ttlSeconds,
    ttlSource: 'requested' as const,
    breakGlass: { active: false, reviewDueAt: null },
    revocation: { triggers: ['ttl-expired' as const, 'manual' as const] },
    policy: { version: 'pol-test', catalogVersion: 'cat-test', directoryVersion: 'dir-test' },
    decidedAt: at,
  };
  return sealGrant({ ...decision, custody: { ...ORIGIN, decidedAt: at } }, null, { eventId: `ce_${spec.grantId}_0`, at, actor: 'grantline/test' }, keys).message;
}

/** A signed revocation of `grant` at `at`. */
export function signedRevocation(keys: SigningKeys, grant: Grant, at: Date, trigger: Revocation['trigger'] = 'manual'): Revocation {
  const iso = at.toISOString();
  return sealRevocation(
    {
      outcome: 'revoked',
      revocationId: `rv_${grant.grantId}`,
      grantId: grant.grantId,
      requestId: grant.requestId,
      source: grant.source,
      subject: grant.subject,
      entitlementId: grant.entitlementId,
      trigger,
      reason: 'revoked by the test',
      actor: 'erin',
      revokedAt: iso,
      custody: { ...ORIGIN, via: 'cli', decidedAt: iso },
    },
    null,
    { eventId: `ce_${grant.grantId}_rv`, at: iso, actor: 'erin' },
    keys,
  ).message;
}

/** A grant or revocation as grantline writes it on the grant topic. */
export function grantTopicMessage(message: Grant | Revocation): EncodedMessage {
  const revoked = message.outcome === 'revoked';
  const time = revoked ? message.revokedAt : message.decidedAt;
  return encodeCloudEvent(
    message.grantId,
    { id: revoked ? message.revocationId : message.grantId, source: 'urn:grantline:jira-main', type: revoked ? CE_TYPES.grantRevoked : CE_TYPES.grantIssued, time, subject: message.grantId },
    message,
  );
}

/** The `trust.adapters` entry that registers an adapter's key (its public half) for `channel` in grantline's config. */
export function adapterTrust(channel: string, key: { input: { activeKid: string; keys: { kid: string; privateKeyPem: string }[] } }): { channel: string; kid: string; publicKeyPem: string } {
  const active = key.input.keys.find((k) => k.kid === key.input.activeKid);
  if (active === undefined) throw new Error(`no key ${key.input.activeKid}`);
  return { channel, kid: active.kid, publicKeyPem: createPublicKey(active.privateKeyPem).export({ format: 'pem', type: 'spki' }).toString() };
}
