import type { CatalogEntry } from '../catalog/catalog.js';
import type { Directory } from '../catalog/directory.js';
import type { Approval, EntitlementRequest, FieldChange, Reason, SubjectType } from '../model/index.js';
import { boundChangesAfter } from './binding.js';

/** Evidence kinds that are the source system's own approval records. A comment is never one. */
export const STRUCTURED_EVIDENCE: ReadonlySet<Approval['evidence']['kind']> = new Set([
  'jsm-approval',
  'sysapproval_approver',
  'workflow-transition',
  'source-approval',
]);

/** One approver position to fill: any distinct person who is a member of one of `groups`. */
export interface Slot {
  readonly groups: readonly string[];
}

/** The resolved facts the approval rules need; null where an earlier rule already failed. */
export interface ApprovalContext {
  readonly entry: CatalogEntry;
  readonly requesterId: string | null;
  /** Whoever filed the ticket for the requester (resolved), or null when the requester filed it or they are unknown. */
  readonly filerId: string | null;
  readonly subject: { readonly type: SubjectType; readonly id: string } | null;
  readonly subjectOwnerId: string | null;
  /** True when the subject is an NHI and the environment is a production one. */
  readonly nhiInProduction: boolean;
  /** The request's field changes; `boundChangesAfter` says which make an approval stale. */
  readonly changes: readonly FieldChange[];
  readonly directory: Directory;
}

export interface ApprovalOutcome {
  readonly satisfied: boolean;
  /** Every approval record that counts (structured, authorized, fresh, approved). */
  readonly counted: Approval[];
  readonly reasons: Reason[];
}

type Verdict =
  | { readonly counts: true }
  | { readonly counts: false; readonly code: Reason['code']; readonly message: string };

/** Every group an entry's approver policy names, each once. */
export function namedGroups(entry: CatalogEntry): string[] {
  const groups = entry.approvers.kind === 'groups' ? entry.approvers.groups.map((g) => g.group) : entry.approvers.pool;
  return [...new Set(groups)];
}

/** The approver positions a request needs: the entry's own, and more for an NHI in production. */
export function slotsFor(ctx: ApprovalContext): Slot[] {
  const { entry } = ctx;
  const slots: Slot[] =
    entry.approvers.kind === 'groups'
      ? entry.approvers.groups.flatMap((g) => Array.from({ length: g.min }, () => ({ groups: [g.group] })))
      : Array.from({ length: entry.approvers.minDistinct }, () => ({ groups: entry.approvers.kind === 'pool' ? entry.approvers.pool : [] }));
  // NHI access to production needs more distinct people than the entry's own minimum may say;
  // the extra approvers come from any group the entry names.
  if (ctx.nhiInProduction && slots.length < entry.nhiProdMinApprovers) {
    const any = namedGroups(entry);
    while (slots.length < entry.nhiProdMinApprovers) slots.push({ groups: any });
  }
  return slots;
}

/** Human wording of what the entry requires, e.g. "1 approver from payments-owners and 1 from security". */
export function describeRequirement(ctx: ApprovalContext): string {
  const { entry } = ctx;
  let text =
    entry.approvers.kind === 'groups'
      ? entry.approvers.groups.map((g) => `${g.min} approver${g.min === 1 ? '' : 's'} from ${g.group}`).join(' and ')
      : `${entry.approvers.minDistinct} approver${entry.approvers.minDistinct === 1 ? '' : 's'} from ${entry.approvers.pool.join(' or ')}`;
  const total = slotsFor(ctx).length;
  const base = entry.approvers.kind === 'groups' ? entry.approvers.groups.reduce((n, g) => n + g.min, 0) : entry.approvers.minDistinct;
  if (total > base) text += `, ${total} in all because a non-human identity is getting production access`;
  if (entry.managerMayApprove && ctx.subject?.type === 'human') text += " (the subject's manager may also approve)";
  return text;
}

/** Is this person the human subject's manager, where the entry lets a manager approve? */
function isEligibleManager(ctx: ApprovalContext, principalId: string): boolean {
  if (!ctx.entry.managerMayApprove || ctx.subject?.type !== 'human') return false;
  return ctx.directory.managerOf(ctx.subject.id) === principalId;
}

function fitsSlot(ctx: ApprovalContext, principalId: string, slot: Slot): boolean {
  return isEligibleManager(ctx, principalId) || slot.groups.some((g) => ctx.directory.isMember(principalId, g));
}

function who(approval: Approval): string {
  return approval.approverPrincipalId ?? `${approval.approverSource.kind} ${approval.approverSource.value}`;
}

/** Why one approval record does or does not count, ignoring its decision. Checked most fundamental first. */
function judge(ctx: ApprovalContext, approval: Approval): Verdict {
  const name = who(approval);
  if (!STRUCTURED_EVIDENCE.has(approval.evidence.kind)) {
    return {
      counts: false,
      code: 'APPROVAL_NOT_STRUCTURED',
      message: `${name}'s ${approval.decision === 'approved' ? 'approval' : 'decision'} was written as a comment (${approval.evidence.recordId}), which never counts. Ask them to use the ticket's approval step instead.`,
    };
  }
  const id = approval.approverPrincipalId;
  if (id === null) {
    return {
      counts: false,
      code: 'APPROVER_NOT_AUTHORIZED',
      message: `The approver ${name} is not in the grantline directory, so their approval cannot count. Ask an approver from ${namedGroups(ctx.entry).join(' or ')}.`,
    };
  }
  const principal = ctx.directory.principal(id);
  if (principal === null || !principal.active) {
    return {
      counts: false,
      code: 'APPROVER_NOT_AUTHORIZED',
      message: `The approver ${id} is ${principal === null ? 'not in the directory' : 'no longer active'}, so their approval cannot count. Ask an active approver from ${namedGroups(ctx.entry).join(' or ')}.`,
    };
  }
  const isRequester = id === ctx.requesterId;
  const isHumanSubject = ctx.subject?.type === 'human' && ctx.subject.id === id;
  // Whoever filed the ticket for someone else asked for it too: they do not approve it either.
  const isFiler = id === ctx.filerId;
  if ((isRequester || isHumanSubject || isFiler) && !ctx.entry.requesterMayApprove) {
    const what = isRequester ? 'they requested' : isHumanSubject ? 'for themselves' : `they filed on behalf of ${ctx.requesterId ?? 'the requester'}`;
    return {
      counts: false,
      code: 'SELF_APPROVAL',
      message: `${id} approved access ${what}; ${ctx.entry.id} needs approval from someone else. Ask another approver from ${namedGroups(ctx.entry).join(' or ')}.`,
    };
  }
  if (ctx.subjectOwnerId !== null && id === ctx.subjectOwnerId && ctx.subject?.type !== 'human' && !ctx.entry.subjectOwnerMayApprove) {
    return {
      counts: false,
      code: 'SELF_APPROVAL',
      message: `${id} owns ${ctx.subject?.id ?? 'the subject'} and may not approve access for it under ${ctx.entry.id}. Ask another approver from ${namedGroups(ctx.entry).join(' or ')}.`,
    };
  }
  const authorized = isEligibleManager(ctx, id) || namedGroups(ctx.entry).some((g) => ctx.directory.isMember(id, g));
  if (!authorized) {
    return {
      counts: false,
      code: 'APPROVER_NOT_AUTHORIZED',
      message: `${id} is not an approver for ${ctx.entry.id}; approvals must come from ${namedGroups(ctx.entry).join(' or ')}${ctx.entry.managerMayApprove && ctx.subject?.type === 'human' ? " or the subject's manager" : ''}.`,
    };
  }
  const changed = boundChangesAfter(ctx.changes, approval.decidedAt);
  if (changed !== null) {
    return {
      counts: false,
      code: 'APPROVAL_STALE',
      message: `${id}'s ${approval.decision === 'approved' ? 'approval' : 'decision'} (${approval.decidedAt}) was given before the ${changed.wording} changed (${changed.at}), so it does not cover what is asked now. Ask ${id} to decide again.`,
    };
  }
  return { counts: true };
}

/** Maximum number of slots filled by distinct people (bipartite matching, Kuhn's augmenting paths). */
export function fillSlots(ctx: ApprovalContext, people: readonly string[], slots: readonly Slot[]): number {
  const slotHolder: (number | null)[] = slots.map(() => null);
  const augment = (person: number, visited: boolean[]): boolean => {
    for (let s = 0; s < slots.length; s++) {
      const slot = slots[s];
      if (slot === undefined || visited[s] || !fitsSlot(ctx, people[person] ?? '', slot)) continue;
      visited[s] = true;
      const holder = slotHolder[s];
      if (holder === null || holder === undefined || augment(holder, visited)) {
        slotHolder[s] = person;
        return true;
      }
    }
    return false;
  };
  let filled = 0;
  for (let p = 0; p < people.length; p++) {
    if (augment(p, slots.map(() => false))) filled++;
  }
  return filled;
}

/**
 * Applies the approval rules. An approval that does not count is explained only when the approvals
 * fall short: it cannot be undone in the source system, and it does no harm when enough others count.
 * An authorized, current `rejected` decision always refuses the request.
 */
export function evaluateApprovals(ctx: ApprovalContext, request: EntitlementRequest, options: { preApproved: boolean }): ApprovalOutcome {
  const counted: Approval[] = [];
  const explanations: Reason[] = [];
  const vetoes: Reason[] = [];
  const approvers: string[] = [];
  for (const approval of request.approvals) {
    const verdict = judge(ctx, approval);
    if (!verdict.counts) {
      explanations.push({ code: verdict.code, message: verdict.message, field: 'approvals' });
      continue;
    }
    const id = approval.approverPrincipalId ?? '';
    if (approval.decision === 'rejected') {
      vetoes.push({
        code: 'APPROVAL_REJECTED',
        message: `${id} rejected this request at ${approval.decidedAt}. Talk to ${id}; a changed request needs a new approval.`,
        field: 'approvals',
      });
      continue;
    }
    counted.push(approval);
    if (!approvers.includes(id)) approvers.push(id);
  }
  for (const comment of request.approvalLikeComments) {
    explanations.push({
      code: 'APPROVAL_NOT_STRUCTURED',
      // Name the author as people know them (the directory id), not by a source account id.
      message: `A comment by ${ctx.directory.resolve(comment.authorSource) ?? comment.authorSource.value} (${comment.commentId}) looks like an approval, but comments never count. Ask the approver to use the ticket's approval step instead.`,
      field: 'approvals',
    });
  }

  if (options.preApproved) {
    return { satisfied: vetoes.length === 0, counted, reasons: dedupe(vetoes) };
  }
  const slots = slotsFor(ctx);
  const filled = fillSlots(ctx, approvers, slots);
  const satisfied = filled >= slots.length && vetoes.length === 0;
  const reasons = [...vetoes];
  if (filled < slots.length) {
    reasons.push({
      code: 'INSUFFICIENT_APPROVALS',
      message: `${ctx.entry.id} needs distinct approvers: ${describeRequirement(ctx)}; ${filled === 0 ? 'no approval counts yet' : `only ${filled} of ${slots.length} required approver${slots.length === 1 ? '' : 's'} counted (${approvers.join(', ')})`}. Ask the missing approvers to approve in the ticket's approval step.`,
      field: 'approvals',
    });
    reasons.push(...explanations);
  }
  return { satisfied, counted: satisfied ? counted : [], reasons: dedupe(reasons) };
}

function dedupe(reasons: readonly Reason[]): Reason[] {
  const seen = new Set<string>();
  return reasons.filter((r) => {
    const key = `${r.code}\u0000${r.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
