import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run as keygen } from '../../src/cli/commands/keygen.js';
import type { RevokeCommand } from '../../src/model/index.js';
import { InternalKeyring, MAC_HEADER, OperatorKeys, signOperatorCommand, ticketEventOpener } from '../../src/trust/index.js';

const TOPIC = 'p.grantline.ticket-events.v1';
const erin = generateKeyPairSync('ed25519');
const mallory = generateKeyPairSync('ed25519');
const pem = (k: typeof erin) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const operators = OperatorKeys.load([{ id: 'erin', publicKeyPem: pem(erin) }, { id: 'henry', publicKeyPem: pem(mallory) }]);
const keyring = InternalKeyring.load({ activeKid: 'i', keys: [{ kid: 'i', secret: randomBytes(32).toString('base64') }] });
const active = (id: string) => (id === 'henry' ? '"henry" is not active in the directory' : null);
const open = ticketEventOpener(keyring, operators, active);

const command = (over: Partial<RevokeCommand> = {}): RevokeCommand => ({
  kind: 'revoke', commandId: 'manual:g1:1', connectorId: 'jira', ticketId: '1', grantId: 'g1', trigger: 'manual', reason: 'done', actor: 'erin', requestedAt: '2026-01-01T00:00:00.000Z', ...over,
});
const message = (value: unknown, headers: Record<string, string> = {}) => ({ key: 'jira|1', value: Buffer.from(JSON.stringify(value)), headers });

describe('operator-signed manual revokes', () => {
  it('accepts a command its operator signed in their own name, while active', () => {
    const signed = signOperatorCommand(TOPIC, command(), 'erin', erin.privateKey);
    expect(open(TOPIC, message(signed))).toMatchObject({ ok: true, value: signed, kid: 'operator:erin' });
  });

  it.each([
    ['unsigned', () => command(), 'unsigned'],
    ['signed by a key not configured for the operator', () => signOperatorCommand(TOPIC, command(), 'erin', mallory.privateKey), 'bad-signature'],
    ['signed by an operator not configured', () => signOperatorCommand(TOPIC, command({ actor: 'zoe' }), 'zoe', mallory.privateKey), 'unknown-key'],
    ['changed after signing', () => ({ ...signOperatorCommand(TOPIC, command(), 'erin', erin.privateKey), grantId: 'g2' }), 'bad-signature'],
    ['signed for another deployment\'s topic', () => signOperatorCommand('other.grantline.ticket-events.v1', command(), 'erin', erin.privateKey), 'bad-signature'],
    ['signed in someone else\'s name', () => signOperatorCommand(TOPIC, command({ actor: 'alice' }), 'erin', erin.privateKey), 'not-authorized'],
    ['signed by an operator who is no longer active', () => signOperatorCommand(TOPIC, command({ actor: 'henry' }), 'henry', mallory.privateKey), 'not-authorized'],
  ])('refuses one %s', (_name, make, reason) => {
    expect(open(TOPIC, message(make()))).toMatchObject({ ok: false, reason });
  });

  it('needs the operator even when the manual revoke carries grantline\'s MAC: the internal key cannot revoke in a person\'s name', () => {
    const value = JSON.stringify(command());
    expect(open(TOPIC, { key: 'jira|1', value: Buffer.from(value), headers: { [MAC_HEADER]: keyring.seal(TOPIC, 'jira|1', value) } })).toMatchObject({ ok: false, reason: 'unsigned' });
  });

  it('opens other ticket events by their MAC only', () => {
    const lifecycle = JSON.stringify(command({ trigger: 'ttl-expired', actor: 'grantline/lifecycle' }));
    expect(open(TOPIC, { key: 'jira|1', value: Buffer.from(lifecycle), headers: { [MAC_HEADER]: keyring.seal(TOPIC, 'jira|1', lifecycle) } }).ok).toBe(true);
    expect(open(TOPIC, { key: 'jira|1', value: Buffer.from(lifecycle), headers: {} })).toMatchObject({ ok: false, reason: 'unsealed' });
  });

  it('keygen --operator writes a key whose printed public half is what the config lists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'grantline-op-'));
    try {
      const out: string[] = [];
      expect(await keygen(['--operator', '--kid', 'erin', '--out', dir], { out: (l) => out.push(l), err: () => {} })).toBe(0);
      const printed = out.join('\n');
      expect(printed).not.toContain('PRIVATE KEY');
      const publicPem = printed.slice(printed.indexOf('-----BEGIN PUBLIC KEY-----')).split('\n').map((l) => l.trim()).join('\n');
      const listed = OperatorKeys.load([{ id: 'erin', publicKeyPem: publicPem }]);
      const key = createPrivateKey(readFileSync(join(dir, 'erin.pem'), 'utf8'));
      expect(listed.check(TOPIC, signOperatorCommand(TOPIC, command(), 'erin', key), () => null).ok).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

