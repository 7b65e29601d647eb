import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { TicketState } from '../../model/index.js';

/**
 * How a held ticket state is kept in memory: its JSON, deflated with a preset dictionary (the shape
 * every state shares: its field names and common values), as a one-byte string. A parsed state of an
 * active ticket takes about 1.4 KB of heap (every string and object of it on its own); packed, about
 * 250-330 bytes (more with more ids in its recent windows), so a process's memory follows its active grants, not the size of their JSON (issue 15:
 * under 500 bytes per active grant). Only this process reads what it packs: the format is not stored
 * anywhere and may change with the code.
 */
function sample(grant: Record<string, unknown>, extra: Record<string, unknown>): string {
  return JSON.stringify({
    connectorId: 'jira-main',
    ticketId: '10',
    ticketKey: 'ACC-1',
    version: 1,
    // grantline's own id forms: a poll sighting, a write-back's record command, an adapter's report.
    recentDeliveryIds: ['jira-main:', 'poll:10:2026-01-01T00:00:00.000Z'],
    recentCommandIds: ['ticket.written-back:wb_', 'fulfillment:0:1'],
    lastDecision: { inputSha256: '', requestId: 'rq_', outcome: 'granted', decisionId: 'gr_rq_', decidedAt: '2026-01-01T00:00:00.000Z' },
    grants: [
      {
        grantId: 'gr_rq_',
        requestId: 'rq_',
        topic: 'grants.pam',
        source: { system: 'jira', connectorId: 'jira-main', instanceUrl: 'https://', ticketId: '10', ticketKey: 'ACC-1', url: 'https:///browse/ACC-1' },
        subject: { type: 'service_account', id: 'svc-' },
        subjectOwnerPrincipalId: 'a',
        entitlementId: 'db--prod-readwrite',
        expiresAt: '2026-01-01T00:00:00.000Z',
        breakGlass: null,
        provisionedAt: null,
        ...grant,
        ttlSeconds: 14400,
      },
    ],
    custodyHead: { seq: 1, hash: '' },
    ...extra,
  });
}

/** The shape of a closed ticket's state (revoked grant), then of an active one: the latter, most common, nearest the end. */
const DICTIONARY = Buffer.from(
  sample(
    { revocation: { revocationId: 'rv_', trigger: 'ticket-cancelled', reason: 'the source ticket was cancelled', actor: 'grantline/lifecycle', revokedAt: '2026-01-01T00:00:00.000Z', confirmedAt: null, failedAt: null, overdueAlerts: 0, signed: '' } },
    { closedAt: '2026-01-01T00:00:00.000Z' },
  ) + sample({ revocation: null }, {}),
);
const OPTIONS = { dictionary: DICTIONARY, windowBits: 12 };

export function pack(state: TicketState): string {
  return deflateRawSync(JSON.stringify(state), { ...OPTIONS, memLevel: 4 }).toString('latin1');
}

/** The state `pack` was given (a fresh object: the caller may keep it). */
export function unpack(packed: string): TicketState {
  return JSON.parse(inflateRawSync(Buffer.from(packed, 'latin1'), OPTIONS).toString('utf8')) as TicketState;
}
