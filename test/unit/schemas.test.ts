import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { Custody, CustodyEvent, FulfillmentResult, Grant, Rejection, Revocation } from '../../src/model/index.js';
import { decide } from '../../src/policy/index.js';
import { buildSchemas, renderSchema, SCHEMAS_DIR } from '../../scripts/gen-schemas.js';
import { approval, makeRequest, NOW, REPO, testCatalog, testDirectory } from '../fixtures/requests/factory.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

const FILES = ['grant.v1.json', 'rejection.v1.json', 'revocation.v1.json', 'grant-amendment.v1.json', 'custody-event.v1.json', 'fulfillment-result.v1.json', 'entitlement-request.v1.json', 'identity-lifecycle-event.v1.json', 'lifecycle-alert.v1.json', 'policy-alert.v1.json', 'adapter-alert.v1.json', 'decision-request.v1.json', 'trust-alert.v1.json'];

describe('schemas/ is generated from the zod model', () => {
  const built = buildSchemas();

  it('has exactly one file per published message type', () => {
    expect(Object.keys(built).sort()).toEqual([...FILES].sort());
    expect(readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.json')).sort()).toEqual([...FILES].sort());
  });

  it.each(FILES)('%s is up to date (run `npm run schemas` when this fails)', (file) => {
    const schema = built[file];
    if (schema === undefined) throw new Error(`no schema built for ${file}`);
    expect(readFileSync(resolve(SCHEMAS_DIR, file), 'utf8')).toBe(renderSchema(schema));
  });

  it.each(FILES)('%s declares draft 2020-12, an $id and a version', (file) => {
    expect(built[file]).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: `https://grantline.dev/schemas/${file}`,
      version: 1,
    });
  });
});

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  ajv.addKeyword('version');
  for (const file of FILES) ajv.addSchema(JSON.parse(readFileSync(resolve(SCHEMAS_DIR, file), 'utf8')) as object);
  return (file: string, value: unknown): string[] => {
    const validate = ajv.getSchema(`https://grantline.dev/schemas/${file}`);
    if (validate === undefined) throw new Error(`schema ${file} not loaded`);
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
  };
}

const HASH = (c: string) => c.repeat(64);
// Shaped like a real detached EdDSA JWS: base64url protected header, empty payload, 64-byte signature.
const SIGNATURE = `${Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: 'grantline-2026-01', b64: true })).toString('base64url')}..${Buffer.alloc(64, 7).toString('base64url')}`;

function custodyFor(decidedAt: string, seq: number): Custody {
  return {
    deliveryId: 'jira-main:0f6e1c2a-5b9d-4c1e-9a57-3d2b8e4f7a10',
    via: 'webhook',
    payloadSha256: HASH('a'),
    signatureVerified: true,
    snapshotSha256: HASH('b'),
    connectorId: 'jira-main',
    catalogVersion: testCatalog().version,
    policyVersion: 'grantline-policy/1',
    decidedAt,
    decidedBy: 'grantline/0.1.0 processor@host-1',
    chain: { seq, prevHash: seq === 0 ? null : HASH('c'), hash: HASH('d') },
  };
}

function samples() {
  const catalog = testCatalog();
  const directory = testDirectory();
  const grantDecision = decide(makeRequest(), catalog, directory, NOW);
  const breakGlassDecision = decide(
    makeRequest({ subject: { type: 'human', id: 'alice' }, entitlementId: 'prod-breakglass-admin', resource: 'prod-fleet', breakGlass: true, ttlSeconds: undefined, approvals: [] }),
    catalog,
    directory,
    NOW,
  );
  const rejectionDecision = decide(makeRequest({ entitlementId: null, resource: null, approvals: [approval('bob')] }), catalog, directory, NOW);
  if (grantDecision.outcome !== 'granted' || breakGlassDecision.outcome !== 'granted' || rejectionDecision.outcome !== 'rejected') {
    throw new Error('sample decisions did not come out as expected');
  }
  const grant: Grant = { ...grantDecision, custody: custodyFor(grantDecision.decidedAt, 3), signature: SIGNATURE };
  const breakGlassGrant: Grant = { ...breakGlassDecision, custody: custodyFor(breakGlassDecision.decidedAt, 0), signature: SIGNATURE };
  const rejection: Rejection = { ...rejectionDecision, custody: custodyFor(rejectionDecision.decidedAt, 2), signature: SIGNATURE };
  const revocation: Revocation = {
    outcome: 'revoked',
    revocationId: 'rv_1',
    grantId: grant.grantId,
    requestId: grant.requestId,
    source: grant.source,
    subject: grant.subject,
    entitlementId: grant.entitlementId,
    trigger: 'ttl-expired',
    reason: 'The grant reached its expiry time.',
    actor: 'grantline/lifecycle',
    revokedAt: grant.expiresAt,
    custody: { ...custodyFor(grant.expiresAt, 5), via: 'lifecycle' },
    signature: SIGNATURE,
  };
  const custodyEvent: CustodyEvent = {
    eventId: 'ce_1',
    kind: 'decision.granted',
    ticket: { connectorId: 'jira-main', ticketId: grant.source.ticketId, ticketKey: grant.source.ticketKey },
    requestId: grant.requestId,
    grantId: grant.grantId,
    at: grant.decidedAt,
    actor: 'grantline/0.1.0 processor@host-1',
    data: { catalogVersion: grant.entitlement.catalogVersion, approvals: ['12', '13'] },
    seq: 3,
    prevHash: HASH('c'),
    hash: HASH('d'),
  };
  const fulfillment: FulfillmentResult = {
    grantId: grant.grantId,
    action: 'provision',
    status: 'provisioned',
    adapter: 'cyberark-pam',
    reference: 'acct-88412',
    at: '2025-03-06T10:00:04Z',
  };
  return { grant, breakGlassGrant, rejectionDecision, rejection, revocation, custodyEvent, fulfillment };
}

describe('the published JSON Schemas validate real messages (ajv, draft 2020-12)', () => {
  const check = validator();
  const s = samples();
  const examples = readdirSync(resolve(REPO, 'examples', 'requests')).filter((f) => f.endsWith('.json'));

  it.each([
    ['grant.v1.json', 'grant', s.grant],
    ['grant.v1.json', 'break-glass grant', s.breakGlassGrant],
    ['rejection.v1.json', 'published rejection', s.rejection],
    ['revocation.v1.json', 'revocation', s.revocation],
    ['custody-event.v1.json', 'custody event', s.custodyEvent],
    ['fulfillment-result.v1.json', 'fulfillment result', s.fulfillment],
    ['fulfillment-result.v1.json', "fulfillment result with the adapter's signature", { ...s.fulfillment, signature: SIGNATURE }],
    [
      'adapter-alert.v1.json',
      'adapter drift alert',
      {
        alertId: 'adapter:pg:drift:1',
        kind: 'adapter.drift',
        adapter: 'postgres-orders',
        topic: 'access.grants.pam.v1',
        subject: '["orders_rw","svc_orders"]',
        grantId: null,
        privilege: { key: '["orders_rw","svc_orders"]', description: 'svc_orders is a member of orders_rw' },
        action: 'reported',
        message: 'no active grant explains it',
        raisedAt: '2026-11-29T12:00:00.000Z',
      },
    ],
    ['identity-lifecycle-event.v1.json', 'offboarding event', { type: 'principal.offboarded', principalId: 'alice', at: '2026-11-29T12:00:00.000Z', source: 'workday' }],
    [
      'lifecycle-alert.v1.json',
      'overdue revocation alert',
      { alertId: 'revocation.overdue:gr_1:1', kind: 'revocation.overdue', grantId: 'gr_1', ticket: { connectorId: 'jira-main', ticketId: '1', ticketKey: 'ACC-1' }, message: 'not confirmed', raisedAt: '2026-11-29T12:00:00.000Z' },
    ],
    [
      'policy-alert.v1.json',
      'refused directory reload',
      {
        alertId: 'policy.reload.failed:0123abcd',
        kind: 'policy.reload.failed',
        problems: [{ document: 'directory', file: '/etc/grantline/directory.yaml', path: 'groups.data-platform-owners[2]', message: 'unknown principal "bobby"' }],
        inForce: { catalogVersion: `sha256:${HASH('c')}`, directoryVersion: `sha256:${HASH('d')}` },
        raisedBy: 'grantline@host-1',
        message: 'a new version of the directory was refused',
        raisedAt: '2026-11-29T12:00:00.000Z',
      },
    ],
  ])('%s accepts a %s', (file, _name, message) => {
    expect(check(file, JSON.parse(JSON.stringify(message)))).toEqual([]);
  });

  it.each(examples)('entitlement-request.v1.json accepts examples/requests/%s', (file) => {
    expect(check('entitlement-request.v1.json', JSON.parse(readFileSync(resolve(REPO, 'examples', 'requests', file), 'utf8')))).toEqual([]);
  });

  it.each([
    ['an offboarding event without a principal', 'identity-lifecycle-event.v1.json', () => ({ type: 'principal.offboarded', at: '2026-11-29T12:00:00.000Z', source: 'workday' }), /must have required property 'principalId'/],
    ['a grant without its signature', 'grant.v1.json', () => ({ ...s.grant, signature: undefined }), /must have required property 'signature'/],
    ['a grant without custody', 'grant.v1.json', () => ({ ...s.grant, custody: undefined }), /must have required property 'custody'/],
    ['a grant with an attached (non-detached) JWS', 'grant.v1.json', () => ({ ...s.grant, signature: 'aaa.bbb.ccc' }), /\/signature must match pattern/],
    ['a grant with a negative TTL', 'grant.v1.json', () => ({ ...s.grant, ttlSeconds: -1 }), /\/ttlSeconds must be > 0/],
    ['a grant whose expiry is not a timestamp', 'grant.v1.json', () => ({ ...s.grant, expiresAt: 'tomorrow' }), /\/expiresAt must match format "date-time"/],
    ['a rejection without its signature', 'rejection.v1.json', () => ({ ...s.rejection, signature: undefined }), /must have required property 'signature'/],
    ['a rejection without custody', 'rejection.v1.json', () => ({ ...s.rejection, custody: undefined }), /must have required property 'custody'/],
    ['an unsigned rejection as decide() returns it', 'rejection.v1.json', () => s.rejectionDecision, /must have required property 'signature'/],
    ['a rejection without reasons', 'rejection.v1.json', () => ({ ...s.rejection, reasons: [] }), /\/reasons must NOT have fewer than 1 items/],
    ['a rejection with an unknown reason code', 'rejection.v1.json', () => ({ ...s.rejection, reasons: [{ code: 'LOOKS_FINE', message: 'x' }] }), /\/reasons\/0\/code must be equal to one of the allowed values/],
    ['a revocation with an unknown trigger', 'revocation.v1.json', () => ({ ...s.revocation, trigger: 'whim' }), /\/trigger must be equal to one of the allowed values/],
    ['a custody event with a short hash', 'custody-event.v1.json', () => ({ ...s.custodyEvent, hash: 'abc' }), /\/hash must match pattern/],
    ['a policy alert without problems', 'policy-alert.v1.json', () => ({ alertId: 'x', kind: 'policy.reload.failed', problems: [], inForce: { catalogVersion: 'a', directoryVersion: 'b' }, raisedBy: 'g@h', message: 'm', raisedAt: '2026-11-29T12:00:00.000Z' }), /\/problems must NOT have fewer than 1 items/],
    ['a fulfillment result with an unknown status', 'fulfillment-result.v1.json', () => ({ ...s.fulfillment, status: 'maybe' }), /\/status must be equal to one of the allowed values/],
  ])('refuses %s', (_name, file, make, error) => {
    expect(check(file, JSON.parse(JSON.stringify(make()))).join('\n')).toMatch(error);
  });

  it('lets a v1 consumer accept a field added later (adding optional fields is not breaking)', () => {
    expect(check('grant.v1.json', { ...JSON.parse(JSON.stringify(s.grant)), addedInV1_1: { note: 'x' } })).toEqual([]);
  });
});
