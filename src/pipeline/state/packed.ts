import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { TicketState } from '../../model/index.js';

/**
 * How a held ticket state is kept in memory: its JSON, deflated with a preset dictionary (the shape
 * every state shares: its field names and common values), as a one-byte string. A parsed state of an
 * active ticket takes about 1.4 KB of heap (every string and object of it on its own); packed, about
 * 220 bytes, so a process's memory follows its active grants, not the size of their JSON (issue 15:
 * under 500 bytes per active grant). Only this process reads what it packs: the format is not stored
 * anywhere and may change with the code.
 */
const DICTIONARY = Buffer.from(
  JSON.stringify({
    grants: [
      {
        grantId: 'gr_rq_',
        requestId: 'rq_',
        topic: 'grants.pam',
        source: { system: 'jira', connectorId: 'jira-main', instanceUrl: 'https://', ticketId: '1', ticketKey: '-1', url: 'https:///browse/-1' },
        subject: { type: 'service_account', id: 'svc-' },
        subjectOwnerPrincipalId: null,
        entitlementId: '-prod-readwrite',
        expiresAt: '2026-01-01T00:00:00.000Z',
        breakGlass: null,
        provisionedAt: null,
        revocation: { revocationId: 'rv_', trigger: 'ttl-expired', reason: 'the grant expired at ', actor: 'grantline/lifecycle', revokedAt: '', confirmedAt: null, failedAt: null, overdueAlerts: 0 },
        ttlSeconds: 14400,
      },
    ],
    closedAt: null,
  }).slice(1, -1) +
    JSON.stringify({
      connectorId: 'jira-main',
      ticketId: '1',
      ticketKey: '-1',
      version: 1,
      recentDeliveryIds: ['jira-main:'],
      recentCommandIds: [],
      lastDecision: { inputSha256: '', requestId: 'rq_', outcome: 'granted', decisionId: 'gr_rq_', decidedAt: '2026-01-01T00:00:00.000Z' },
      grants: [{ grantId: 'gr_rq_', requestId: 'rq_', topic: 'grants.pam', source: { system: 'jira', connectorId: 'jira-main' }, subject: { type: 'human', id: '' }, revocation: null }],
      custodyHead: { seq: 1, hash: '' },
    }),
);
const OPTIONS = { dictionary: DICTIONARY, windowBits: 12 };

export function pack(state: TicketState): string {
  return deflateRawSync(JSON.stringify(state), { ...OPTIONS, memLevel: 4 }).toString('latin1');
}

/** The state `pack` was given (a fresh object: the caller may keep it). */
export function unpack(packed: string): TicketState {
  return JSON.parse(inflateRawSync(Buffer.from(packed, 'latin1'), OPTIONS).toString('utf8')) as TicketState;
}
