/** What `grantline check` found for one ticket, and how it prints it. */
import type { MappingFailure, WriteBack } from '../connector/contract.js';
import type { Decision, EntitlementRequest, Reason } from '../model/index.js';

export interface CheckReport {
  readonly connectorId: string;
  readonly ticket: { readonly ticketId: string; readonly ticketKey: string; readonly fetchedAt: string };
  /** The source says the ticket is cancelled: the processor revokes its grants and decides nothing. */
  readonly cancelled: boolean;
  /** The canonical request the connector mapped, or null when the ticket is not one. */
  readonly request: EntitlementRequest | null;
  readonly mappingFailure: MappingFailure | null;
  readonly requestId: string | null;
  readonly decision: Decision | null;
  /** What the write-back worker would write on the ticket, under which idempotency key; null when nothing. */
  readonly writeBack: { readonly idempotencyKey: string; readonly item: WriteBack; readonly text: string } | null;
}

function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((l) => `${by}${l}`)
    .join('\n');
}

function reasonLines(reasons: readonly Reason[]): string[] {
  return reasons.map((r) => `  - ${r.code}${r.field === undefined ? '' : ` (${r.field})`}: ${r.message}`);
}

function decisionLines(decision: Decision): string[] {
  if (decision.outcome === 'granted') {
    return [
      `GRANTED: grant ${decision.grantId}, ${decision.entitlementId} for ${decision.subject.type} ${decision.subject.id}`,
      `  valid from ${decision.validFrom} until ${decision.expiresAt} (${decision.ttlSeconds} s, ${decision.ttlSource})`,
      `  approvals: ${decision.approvals.map((a) => a.approverPrincipalId).join(', ') || 'none'}${decision.breakGlass.active ? `; break-glass, review due ${decision.breakGlass.reviewDueAt ?? '?'}` : ''}`,
      `  policy ${decision.policy.version}, catalog ${decision.policy.catalogVersion}, directory ${decision.policy.directoryVersion}`,
    ];
  }
  return [
    `REJECTED: rejection ${decision.rejectionId}, ${decision.reasons.length} reason${decision.reasons.length === 1 ? '' : 's'}:`,
    ...reasonLines(decision.reasons),
    `  policy ${decision.policy.version}, catalog ${decision.policy.catalogVersion}, directory ${decision.policy.directoryVersion}`,
  ];
}

/** The report as people read it: the ticket, the canonical request, the decision with every reason, the write-back. */
export function formatCheck(r: CheckReport): string {
  const lines = [`${r.connectorId} ticket ${r.ticket.ticketKey} (id ${r.ticket.ticketId}), fetched ${r.ticket.fetchedAt}`, ''];
  if (r.cancelled) {
    lines.push('CANCELLED in the source: the processor would revoke the ticket\'s grants in force and decide nothing.');
  } else {
    if (r.request !== null) {
      lines.push(`canonical request ${r.requestId ?? ''}:`, indent(JSON.stringify(r.request, null, 2)), '');
    } else if (r.mappingFailure !== null) {
      lines.push(`not a request (request id ${r.requestId ?? '?'}): the ticket does not map, ${r.mappingFailure.actionable ? 'and is open for a decision' : 'and is closed in the source'}`, '');
    }
    if (r.decision !== null) lines.push(...decisionLines(r.decision), '');
    lines.push(r.writeBack === null ? 'written on the ticket: nothing (the ticket is closed in the source)' : `written on the ticket (once, marked [grantline:${r.writeBack.idempotencyKey}]):\n${indent(r.writeBack.text)}`);
  }
  lines.push('', 'check published nothing and wrote nothing on the ticket.');
  return lines.join('\n');
}
