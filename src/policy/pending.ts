import type { Catalog } from '../catalog/catalog.js';
import type { Directory } from '../catalog/directory.js';
import { formatDuration } from '../catalog/duration.js';
import { isNhi, type Decision, type EntitlementRequest, type PendingGrant, type ReasonCode } from '../model/index.js';
import { describeRequirement, namedGroups, selfInterest, type ApprovalContext } from './approvals.js';
import { checkTtl } from './decide.js';

/** The reasons that only say the approvals are not there (yet): a request refused only for these awaits approval. */
const AWAITING_APPROVAL: ReadonlySet<ReasonCode> = new Set(['INSUFFICIENT_APPROVALS', 'APPROVAL_NOT_STRUCTURED', 'APPROVER_NOT_AUTHORIZED', 'SELF_APPROVAL', 'APPROVAL_STALE']);

const WHY: Record<NonNullable<ReturnType<typeof selfInterest>>, string> = {
  requester: 'the requester',
  subject: 'the access is for them',
  filer: 'filed the ticket for the requester',
  owner: 'owns the identity getting the access',
};

/**
 * What `request` would be granted once approved, and who must approve it: non-null only when
 * `decision` refused it for missing approvals and nothing else (a request with any other problem
 * gets its rejection written back instead). `people` are the principal ids to look through for
 * approvers (the directory's). The duration is the policy's own (`checkTtl`), so a defaulted one
 * is said to be the catalog's default.
 */
export function pendingGrant(request: EntitlementRequest, decision: Decision, catalog: Catalog, directory: Directory, people: readonly string[]): PendingGrant | null {
  if (decision.outcome !== 'rejected' || !decision.reasons.every((r) => AWAITING_APPROVAL.has(r.code))) return null;
  if (request.breakGlass || request.entitlementId === null || request.subject === null || request.resource === null || request.environment === null) return null;
  const entry = catalog.get(request.entitlementId);
  if (entry === null) return null;
  const ttl = checkTtl(request, entry, []);
  if (ttl === null) return null;
  const subject = request.subject;
  const ctx: ApprovalContext = {
    entry,
    requesterId: request.requester.principalId,
    filerId: request.filer?.principalId ?? null,
    subject,
    subjectOwnerId: isNhi(subject.type) ? (directory.nhi(subject.id)?.owner ?? null) : null,
    nhiInProduction: isNhi(subject.type) && catalog.isProduction(request.environment),
    changes: request.changes,
    directory,
  };
  const sorted = [...people].sort();
  const excluded = new Map<string, string>();
  const approvers = namedGroups(entry).map((group) => ({
    group,
    people: sorted.flatMap((id) => {
      const principal = directory.principal(id);
      if (principal === null || !principal.active || !directory.isMember(id, group)) return [];
      const self = selfInterest(ctx, id);
      if (self !== null) {
        excluded.set(id, WHY[self]);
        return [];
      }
      return [{ id, name: principal.displayName }];
    }),
  }));
  return {
    entitlementId: entry.id,
    subject: { type: subject.type, id: subject.id },
    resource: request.resource,
    environment: request.environment,
    ttlSeconds: ttl.seconds,
    ttlSource: ttl.source,
    requirement: describeRequirement(ctx),
    approvers,
    excluded: [...excluded].map(([id, why]) => ({ id, why })),
    missing: decision.reasons,
  };
}

/** The note written on the ticket: exactly what the approvers approve, who they must be, and what is still missing. */
export function renderPendingNote(p: PendingGrant): string {
  const duration = `${formatDuration(p.ttlSeconds)}${p.ttlSource === 'catalog-default' ? " (the catalog's default: the ticket asks for no duration)" : ''}`;
  const lines = [
    'Waiting for approval. Once approved, grantline grants exactly this:',
    `- Entitlement: ${p.entitlementId}`,
    `- Subject: ${p.subject.type} ${p.subject.id}`,
    `- Resource: ${p.resource}`,
    `- Environment: ${p.environment}`,
    `- Duration: ${duration}`,
    `Approval needed: ${p.requirement}, through the ticket's approval step (comments never count).`,
    ...p.approvers.map((a) => `- ${a.group}: ${a.people.length === 0 ? 'nobody active who may approve this request' : a.people.map((x) => `${x.name} (${x.id})`).join(', ')}`),
    ...(p.excluded.length === 0 ? [] : [`Not counted for this request: ${p.excluded.map((x) => `${x.id} (${x.why})`).join(', ')}.`]),
    'Not granted yet:',
    ...p.missing.map((r) => `- ${r.code}: ${r.message}`),
    'A change to the request after an approval voids that approval.',
  ];
  return lines.join('\n');
}
