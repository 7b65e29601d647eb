import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Jwks, verifyMessage } from '../../src/custody/index.js';

// A grant, its JWKS and its custody log, signed once and committed; the private key was thrown away.
// If canonicalization, hashing or the JWS format ever changes, grants already on the topics would stop
// verifying, and this test says so first.
const golden = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/custody/golden/${name}`, import.meta.url)), 'utf8');
const jwks = Jwks.parse(JSON.parse(golden('jwks.json')));
const grantText = golden('grant.json');
const custody = golden('custody.jsonl').trim().split('\n').map((l) => JSON.parse(l) as unknown);
const now = new Date('2025-03-01T10:00:00Z');

describe('a grant signed by an earlier build', () => {
  it('still verifies, signature and custody chain included', () => {
    const report = verifyMessage(JSON.parse(grantText), jwks, { now, custodyEvents: custody });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.checks).toHaveLength(11);
  });

  it('fails when one digit of ttlSeconds is changed in the stored text', () => {
    const altered = grantText.replace('"ttlSeconds": 14400', '"ttlSeconds": 14401');
    expect(altered).not.toBe(grantText);
    const failed = verifyMessage(JSON.parse(altered), jwks, { now, custodyEvents: custody }).checks.filter((c) => !c.ok).map((c) => c.name);
    expect(failed).toEqual(['signature-valid', 'custody-event', 'ttl-consistent']);
  });
});
