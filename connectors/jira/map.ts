import { z } from 'zod';
import { missingRequester } from '../../src/connector/reasons.js';
import type { MapResult, MappingFailure, PersonResolution, PrincipalResolver, TicketSnapshot } from '../../src/connector/contract.js';
import type { Approval, MappedRequest, Reason, SourceIdentity, Subject, TicketSource } from '../../src/model/index.js';
import { fieldChanges } from './changes.js';
import type { JiraConfig } from './config.js';
import { JiraComment, JiraIssue, JsmApproval, plainText, toIso } from './records.js';
import type { ChangelogHistory, JiraUser } from './records.js';

/** What `fetchTicket` stores in `TicketSnapshot.raw`: everything the mapping reads, as Jira sent it. */
export const JiraSnapshotRaw = z.object({
  deployment: z.enum(['cloud', 'datacenter']),
  issue: JiraIssue,
  comments: z.array(JiraComment),
  /** JSM approvals; null when approvals come from the workflow (no Service Desk call was made). */
  approvals: z.array(JsmApproval).nullable(),
});
export type JiraSnapshotRaw = z.infer<typeof JiraSnapshotRaw>;

/** Everything `mapJiraSnapshot` needs besides the snapshot. */
export interface MapContext {
  readonly connectorId: string;
  readonly config: JiraConfig;
  readonly directory: PrincipalResolver;
}

/**
 * Maps a Jira snapshot to a canonical request or a mapping failure. Pure: no I/O, no clock; the same
 * snapshot gives a deep-equal result.
 */
export function mapJiraSnapshot(snapshot: TicketSnapshot, ctx: MapContext): MapResult {
  const raw = JiraSnapshotRaw.parse(snapshot.raw);
  const { config, directory } = ctx;
  const { issue } = raw;
  const f = issue.fields as Record<string, unknown> & JiraIssue['fields'];
  const dc = raw.deployment === 'datacenter';

  const source: TicketSource = {
    system: 'jira',
    connectorId: ctx.connectorId,
    instanceUrl: config.baseUrl,
    ticketId: issue.id,
    ticketKey: issue.key,
    url: `${config.baseUrl}/browse/${encodeURIComponent(issue.key)}`,
  };
  const summary = f.summary ?? '';
  const description = plainText(f.description).trim();
  const freeText = [summary, description].filter((s) => s !== '').join('\n\n');
  const statusName = f.status?.name ?? '';
  const lower = statusName.toLowerCase();
  const notActionable = [...config.statuses.cancelled, ...config.statuses.closedNotActionable].some((s) => s.toLowerCase() === lower);
  const histories = [...(issue.changelog?.histories ?? [])].sort(byCreated);

  // The reporter is the requester: JSM's "Raise this request on behalf of" makes the customer the
  // reporter while the agent or integration that raised it stays the creator, the filer.
  const reporter = f.reporter ?? f.creator ?? null;
  const requesterSource = reporter === null ? null : identityOf(reporter, dc);
  const resolved = reporter === null ? null : resolve(directory, reporter, dc);
  const requester = requesterSource === null ? null : { principalId: resolved?.principalId ?? null, sourceIdentity: requesterSource };
  const creatorSource = f.creator == null ? null : identityOf(f.creator, dc);
  const filer =
    requesterSource === null || creatorSource === null || (creatorSource.kind === requesterSource.kind && creatorSource.value === requesterSource.value)
      ? null
      : { principalId: resolve(directory, f.creator!, dc).principalId, sourceIdentity: creatorSource };

  const reasons: Reason[] = [];
  if (requester !== null && resolved?.principalId === null && resolved.ambiguous !== null) {
    reasons.push({ code: 'REQUESTER_UNKNOWN', field: 'requester', message: `The requester is not resolved: ${resolved.ambiguous.explanation}` });
  }
  const project = f.project?.key ?? issue.key.split('-')[0] ?? '';
  if (!config.projects.includes(project)) {
    reasons.push({ code: 'TICKET_NOT_ACTIONABLE', message: `Project ${project} is not watched by grantline; file the request in ${config.projects.join(', ')}.` });
  }

  // Entitlement.
  const fields = config.fields;
  const entitlementRaw = f[fields.entitlement.fieldId];
  const entitlementValues = optionValues(entitlementRaw);
  let entitlementId: string | null = null;
  const anyStructured = [fields.subject, fields.resource, fields.environment, fields.ttl].some(
    (m) => m !== undefined && !isEmpty(f[m.fieldId]),
  );
  if (entitlementValues.length === 0) {
    if (anyStructured) {
      reasons.push({ code: 'MISSING_FIELD', field: 'entitlementId', message: `The entitlement field (${fields.entitlement.name ?? fields.entitlement.fieldId}) is empty; pick the access you need from its list.` });
    } else {
      reasons.push({ code: 'FREE_TEXT_REQUEST', field: 'entitlementId', message: `This ticket describes the access only in text; fill in the entitlement field (${fields.entitlement.name ?? fields.entitlement.fieldId}) with an entry from the catalog.` });
    }
  } else if (entitlementValues.length > 1) {
    // Never pick one of several: approvers would approve a list while one item of it is granted.
    const shown = entitlementValues.map((o) => `"${o.value ?? o.id ?? ''}"`).join(', ');
    reasons.push({
      code: 'MULTIPLE_ENTITLEMENTS',
      field: 'entitlementId',
      message: `The entitlement field (${fields.entitlement.name ?? fields.entitlement.fieldId}) has ${entitlementValues.length} values (${shown}); grantline grants one entitlement per ticket. Keep one value here and file a separate ticket for each other entitlement.`,
    });
  } else {
    const option = entitlementValues[0]!;
    const mapped = fields.entitlement.options[option.value ?? ''] ?? (option.id === undefined ? undefined : fields.entitlement.options[option.id]);
    if (mapped === undefined) {
      const shown = option.value ?? option.id ?? '';
      reasons.push({ code: 'UNMAPPED_ENTITLEMENT', field: 'entitlementId', message: `"${shown}" is not mapped to a catalog entitlement; choose another value or ask the access team to map it.` });
    } else {
      entitlementId = mapped;
    }
  }

  // Subject: the mapped field, else the requester as a human.
  let subject: Subject | null = null;
  const subjectField = fields.subject;
  const subjectRaw = subjectField === undefined ? null : f[subjectField.fieldId];
  if (subjectField !== undefined && !isEmpty(subjectRaw)) {
    let type = subjectField.type;
    if (subjectField.typeField !== undefined) {
      const t = optionValues(f[subjectField.typeField.fieldId])[0];
      const mappedType = t === undefined ? undefined : (subjectField.typeField.options[t.value ?? ''] ?? subjectField.typeField.options[t.id ?? '']);
      if (mappedType !== undefined) type = mappedType;
    }
    if (isUser(subjectRaw)) {
      const person = resolve(directory, subjectRaw, dc);
      if (person.principalId === null) {
        const where = subjectField.name ?? subjectField.fieldId;
        const message =
          person.ambiguous === null
            ? `The person in ${where} is not in the directory; pick a person with a directory account.`
            : `The person in ${where} is not resolved: ${person.ambiguous.explanation}`;
        reasons.push({ code: 'SUBJECT_UNKNOWN', field: 'subject', message });
      } else {
        subject = { type, id: person.principalId };
      }
    } else {
      const text = textOf(subjectRaw);
      if (text === null) {
        reasons.push({ code: 'MISSING_FIELD', field: 'subject', message: `${subjectField.name ?? subjectField.fieldId} could not be read; enter the identity's directory id.` });
      } else {
        subject = { type, id: text };
      }
    }
  } else if (requester !== null && requester.principalId !== null) {
    subject = { type: 'human', id: requester.principalId };
  }

  const resource = fields.resource === undefined ? null : textOf(f[fields.resource.fieldId]);
  let environment: string | null = null;
  if (fields.environment !== undefined) {
    const value = textOf(f[fields.environment.fieldId]);
    environment = value === null ? null : (fields.environment.options?.[value] ?? value);
  }

  let ttlSeconds: number | undefined;
  if (fields.ttl !== undefined && !isEmpty(f[fields.ttl.fieldId])) {
    const n = Number(textOf(f[fields.ttl.fieldId]));
    const seconds = fields.ttl.unit === 'hours' ? n * 3600 : n;
    if (!Number.isFinite(seconds) || seconds <= 0) {
      reasons.push({ code: 'MISSING_FIELD', field: 'ttlSeconds', message: `${fields.ttl.name ?? fields.ttl.fieldId} must be a positive number of ${fields.ttl.unit}.` });
    } else {
      ttlSeconds = Math.round(seconds);
    }
  }

  const breakGlass =
    fields.breakGlass !== undefined &&
    optionValues(f[fields.breakGlass.fieldId]).some((o) => fields.breakGlass!.trueValues.includes(o.value ?? o.id ?? ''));
  const justificationText =
    fields.justification === undefined ? description : (textOf(f[fields.justification.fieldId]) ?? '');

  if (requester === null) {
    reasons.push(missingRequester('reporter, creator'));
  }

  if (reasons.length > 0 || requester === null) {
    const failure: MappingFailure = {
      source,
      requester,
      reasons,
      freeText,
      actionable: !notActionable && reasons.every((r) => r.code !== 'TICKET_NOT_ACTIONABLE'),
    };
    return { ok: false, failure };
  }

  const approvals = config.approvals.mode === 'jsm' ? jsmApprovals(raw.approvals ?? [], directory, dc) : workflowApprovals(histories, config, directory, dc);
  // Every comment with a nameable author, as Jira has it; which read like approvals is the core's rule.
  const comments = raw.comments.flatMap((c) => {
    const authorSource = c.author == null ? null : identityOf(c.author, dc);
    const at = toIso(c.created);
    return authorSource === null || at === null ? [] : [{ authorSource, commentId: c.id, at, text: plainText(c.body) }];
  });

  const request: MappedRequest = {
    source,
    requester: requester!,
    filer,
    subject,
    entitlementId,
    resource,
    environment,
    justification: { text: justificationText },
    ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
    breakGlass,
    approvals,
    comments,
    status: { name: statusName, actionable: !notActionable },
    changes: fieldChanges(histories, config, dc, subjectField === undefined || isEmpty(subjectRaw)),
    freeText,
  };
  return { ok: true, request };
}

function byCreated(a: ChangelogHistory, b: ChangelogHistory): number {
  return (Date.parse(toIso(a.created) ?? '') || 0) - (Date.parse(toIso(b.created) ?? '') || 0) || Number(a.id) - Number(b.id);
}

function jsmApprovals(approvals: readonly JsmApproval[], directory: PrincipalResolver, dc: boolean): Approval[] {
  const out: Approval[] = [];
  for (const a of approvals) {
    if (a.finalDecision !== 'approved' && a.finalDecision !== 'declined') continue; // pending: nobody decided yet
    const decidedAt = toIso(a.completedDate?.iso8601) ?? (a.completedDate?.epochMillis === undefined ? null : new Date(a.completedDate.epochMillis).toISOString());
    if (decidedAt === null) continue;
    const decision = a.finalDecision === 'approved' ? 'approved' : 'rejected';
    let deciders = a.approvers.filter((x) => x.approverDecision === a.finalDecision);
    // A declined record whose approvers show no "declined" still ends the request; attribute it to its approvers.
    if (deciders.length === 0 && a.finalDecision === 'declined') deciders = a.approvers;
    for (const d of deciders) {
      const approverSource = identityOf(d.approver, dc);
      if (approverSource === null) continue;
      out.push({
        approverPrincipalId: resolve(directory, d.approver, dc).principalId,
        approverSource,
        decision,
        decidedAt,
        evidence: { kind: 'jsm-approval', recordId: a.id },
      });
    }
  }
  return out;
}

function workflowApprovals(histories: readonly ChangelogHistory[], config: JiraConfig, directory: PrincipalResolver, dc: boolean): Approval[] {
  const out: Approval[] = [];
  const { approvedStatus, rejectedStatus } = config.approvals;
  for (const h of histories) {
    if (h.author == null) continue;
    for (const item of h.items) {
      if (item.field !== 'status' && item.fieldId !== 'status') continue;
      const to = item.toString ?? '';
      const decision = to === approvedStatus ? 'approved' : rejectedStatus !== undefined && to === rejectedStatus ? 'rejected' : null;
      const approverSource = identityOf(h.author, dc);
      const decidedAt = toIso(h.created);
      if (decision === null || approverSource === null || decidedAt === null) continue;
      out.push({
        approverPrincipalId: resolve(directory, h.author, dc).principalId,
        approverSource,
        decision,
        decidedAt,
        evidence: { kind: 'workflow-transition', recordId: h.id },
      });
    }
  }
  return out;
}

/** Cloud names people by accountId; Data Center by username (then user key). */
export function identityOf(user: JiraUser, dc: boolean): SourceIdentity | null {
  if (!dc) return user.accountId ? { kind: 'jira-account-id', value: user.accountId } : null;
  if (user.name) return { kind: 'jira-username', value: user.name };
  if (user.key) return { kind: 'jira-user-key', value: user.key };
  return null;
}

/** Data Center tries the username, then the user key; the email Jira gave is the directory's fallback for both. */
function resolve(directory: PrincipalResolver, user: JiraUser, dc: boolean): PersonResolution {
  const identity = identityOf(user, dc);
  if (identity === null) return { principalId: null, ambiguous: null };
  if (dc && identity.kind === 'jira-username' && user.key) {
    const id = directory.resolve(identity) ?? directory.resolve({ kind: 'jira-user-key', value: user.key });
    if (id !== null) return { principalId: id, by: 'identity' };
  }
  return directory.resolvePerson(identity, user.emailAddress ?? null);
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
}

function isUser(v: unknown): v is JiraUser {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && ('accountId' in v || ('name' in v && 'key' in v));
}

/** Select, multi-select, checkbox, radio: `{ value, id }` (or an array of them); a plain string counts as a value. */
function optionValues(v: unknown): { value?: string; id?: string }[] {
  if (isEmpty(v)) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.flatMap((o) => {
    if (typeof o === 'string') return [{ value: o }];
    if (typeof o === 'number' || typeof o === 'boolean') return [{ value: String(o) }];
    if (typeof o === 'object' && o !== null) {
      const r = o as { value?: unknown; id?: unknown; name?: unknown };
      const value = typeof r.value === 'string' ? r.value : typeof r.name === 'string' ? r.name : undefined;
      const id = typeof r.id === 'string' || typeof r.id === 'number' ? String(r.id) : undefined;
      return value === undefined && id === undefined ? [] : [{ ...(value === undefined ? {} : { value }), ...(id === undefined ? {} : { id }) }];
    }
    return [];
  });
}

/** A single text-like value: string, number, select option value, or the text of an ADF document. */
function textOf(v: unknown): string | null {
  if (isEmpty(v)) return null;
  if (typeof v === 'string') return v.trim() === '' ? null : v.trim();
  if (typeof v === 'number') return String(v);
  if (typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'doc') {
    const t = plainText(v).trim();
    return t === '' ? null : t;
  }
  const option = optionValues(v)[0];
  return option?.value ?? null;
}
