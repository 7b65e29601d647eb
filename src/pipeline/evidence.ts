import { verifyChain, verifyMessage, type Jwks, type VerifyReport } from '../custody/index.js';
import { CustodyEvent } from '../model/index.js';

/** One signed message (grant, revocation, rejection) as read from its topic. */
export interface SignedMessage {
  readonly topic: string;
  readonly type: string;
  readonly value: unknown;
}

export interface EvidenceStory {
  readonly ticket: { connectorId: string; ticketId: string; ticketKey: string } | null;
  readonly chain: { ok: boolean; events: number; problems: string[] };
  readonly steps: { seq: number; at: string; kind: string; actor: string; summary: string }[];
  readonly messages: { kind: string; id: string; verified: boolean; failed: string[] }[];
  /** True when the chain is intact and every signed message verifies. */
  readonly verified: boolean;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** "alice (jira-account-id …)" from a recorded party; null when none was recorded. */
function party(value: unknown): string | null {
  if (value === null || typeof value !== 'object') return null;
  const r = value as { principalId?: unknown; sourceIdentity?: { kind?: unknown; value?: unknown } };
  const who = typeof r.principalId === 'string' ? r.principalId : 'an identity not in the directory';
  return `${who}${r.sourceIdentity ? ` (${str(r.sourceIdentity.kind)} ${str(r.sourceIdentity.value)})` : ''}`;
}

/** "requested by alice (…), filed by bob (…): " from a mapped request's requester and filer, when recorded. */
function requestedBy(requester: unknown, filer: unknown = null): string {
  const asked = party(requester);
  if (asked === null) return '';
  const filed = party(filer);
  return `requested by ${asked}${filed === null ? '' : `, filed for them by ${filed}`}: `;
}

/** The field changes a mapped request recorded; events written before they were, their `lastModifiedAt`. */
function changesText(d: Record<string, unknown>): string {
  if (!Array.isArray(d.changes)) return `last request-defining change ${str(d.lastModifiedAt)}`;
  if (d.changes.length === 0) return 'no field changed since the ticket was filed';
  return `changed since filed: ${d.changes.map((c: { field?: unknown; at?: unknown }) => `${str(c.field)} ${str(c.at)}`).join(', ')}`;
}

/** A line a person can read for each kind of custody event. */
function summarize(event: CustodyEvent): string {
  const d = event.data;
  switch (event.kind) {
    case 'delivery.received':
      return `${str(d.via)} delivery ${str(d.deliveryId)} (${str(d.eventType)}), signature verified: ${str(d.signatureVerified)}, payload sha256 ${str(d.payloadSha256).slice(0, 16)}…`;
    case 'ticket.fetched':
      return `ticket re-read from the source, snapshot sha256 ${str(d.snapshotSha256).slice(0, 16)}…`;
    case 'request.mapped':
      return d.reasons
        ? `${requestedBy(d.requester)}request could not be mapped: ${str(d.reasons)}`
        : `${requestedBy(d.requester, d.filer) || 'requested: '}${str(d.entitlementId)} for ${str(d.subject)}${d.breakGlass === true ? ' as BREAK-GLASS' : ''}${d.ttlSecondsRequested === undefined ? ', no TTL asked' : `, TTL asked ${str(d.ttlSecondsRequested)} s`}; ${changesText(d)}; approval records ${str(d.approvals)}`;
    case 'decision.granted':
      return `GRANTED ${str(d.entitlementId)} to ${str(d.subject)} for ${str(d.ttlSeconds)} s (${str(d.ttlSource)}), expires ${str(d.expiresAt)}; approvals ${str(d.approvals)}; policy ${str(d.policy)}${(d.breakGlass as { active?: boolean } | undefined)?.active ? `; BREAK-GLASS, review due ${str((d.breakGlass as { reviewDueAt?: string }).reviewDueAt)}` : ''}`;
    case 'decision.rejected':
      return `REJECTED: ${str(d.reasons)}; policy ${str(d.policy)}`;
    case 'ticket.written-back':
      return `written on the ticket (${str(d.kind)}), record ${str(d.recordId)}${d.written === false ? ' (already there)' : ''}`;
    case 'grant.revoked':
      return `REVOKED (${str(d.trigger)}): ${str(d.reason)}`;
    case 'grant.amended':
      return `TTL counts from fulfillment: provisioned at ${str(d.provisionedAt)} (adapter ${str(d.adapter)}), expiry moved from ${str(d.previousExpiresAt)} to ${str(d.expiresAt)}`;
    case 'fulfillment.reported':
      return `adapter ${str(d.adapter)} reports ${str(d.action)} → ${str(d.status)} (ref ${str(d.reference)})${d.detail ? `: ${str(d.detail)}` : ''}`;
    case 'revocation.overdue':
      return `ALERT: ${str(d.message)}`;
    case 'review.opened':
      return `post-event review opened: ${str(d.ticketKey)} ${str(d.url)}`;
    case 'review.closed':
      return `post-event review ${str(d.review)} closed with outcome ${str(d.outcome)} at ${str(d.closedAt)}`;
    case 'review.overdue':
      return `ESCALATION: ${str(d.message)}`;
    case 'ticket.retired':
      return `RETIRED: the ticket closed at ${str(d.closedAt)} with nothing pending; its state was dropped ${str(d.retireAfterMs)} ms later`;
  }
}

/**
 * Tells a ticket's whole story from its custody events and signed messages, and verifies it: the
 * hash chain must be intact and every grant, rejection and revocation must carry a valid signature
 * and point at its event in the chain. Pure: the CLI reads the topics and prints the result.
 */
export function buildEvidence(events: readonly unknown[], messages: readonly SignedMessage[], jwks: Jwks, now: Date): EvidenceStory {
  const parsed = events.map((e) => CustodyEvent.safeParse(e)).flatMap((r) => (r.success ? [r.data] : []));
  const verdict = verifyChain(events);
  const chainProblems = verdict.ok ? [] : verdict.problems.map((p) => `seq ${p.seq ?? '?'}: ${p.problem}`);
  const first = parsed[0];
  const reports = messages.map((m) => {
    const report: VerifyReport = verifyMessage(m.value, jwks, { now, custodyEvents: events });
    const value = m.value as Record<string, unknown>;
    const id = String(value.revocationId ?? value.amendmentId ?? value.grantId ?? value.rejectionId ?? '?');
    // Expiry is a fact of the story, not a fault in the evidence.
    const failed = report.checks.filter((c) => !c.ok && c.name !== 'not-expired').map((c) => `${c.name}: ${c.detail}`);
    return { kind: report.kind, id, verified: failed.length === 0, failed };
  });
  return {
    ticket: first ? first.ticket : null,
    chain: { ok: verdict.ok, events: events.length, problems: chainProblems },
    steps: parsed.map((e) => ({ seq: e.seq, at: e.at, kind: e.kind, actor: e.actor, summary: summarize(e) })),
    messages: reports,
    verified: verdict.ok && parsed.length === events.length && events.length > 0 && reports.every((r) => r.verified),
  };
}

/** The story as text for a terminal. */
export function formatEvidence(story: EvidenceStory): string {
  const lines: string[] = [];
  const t = story.ticket;
  lines.push(t ? `Ticket ${t.ticketKey} (${t.connectorId}, id ${t.ticketId})` : 'No custody events found');
  lines.push(`Custody chain: ${story.chain.events} events, ${story.chain.ok ? 'intact ✔' : 'BROKEN ✘'}`);
  for (const p of story.chain.problems) lines.push(`  ✘ ${p}`);
  lines.push('');
  for (const s of story.steps) lines.push(`#${String(s.seq).padStart(3)} ${s.at}  ${s.kind.padEnd(20)} ${s.actor}\n      ${s.summary}`);
  lines.push('');
  lines.push('Signed messages:');
  for (const m of story.messages) {
    lines.push(`  ${m.verified ? '✔' : '✘'} ${m.kind} ${m.id}`);
    for (const f of m.failed) lines.push(`      ${f}`);
  }
  lines.push('');
  lines.push(story.verified ? 'Evidence verified: chain intact, every signature valid.' : 'Evidence NOT verified: see ✘ above.');
  return lines.join('\n');
}
