import { missingRequester } from '../../src/connector/reasons.js';
import type { MapResult, MappingFailure, PrincipalResolver, TicketSnapshot } from '../../src/connector/contract.js';
import {
  clipText,
  SubjectType,
  type Approval,
  type MappedRequest,
  type Reason,
  type SourceIdentity,
  type Subject,
  type TicketSource,
} from '../../src/model/index.js';
import type { ServiceNowConfig } from './config.js';
import { fieldChanges } from './changes.js';
import { ServiceNowRaw, snTimeToIso } from './records.js';

/** Everything `mapRequestedItem` reads besides the snapshot. */
export interface MapContext {
  readonly connectorId: string;
  readonly instanceUrl: string;
  readonly mapping: ServiceNowConfig['mapping'];
  readonly statuses: ServiceNowConfig['statuses'];
  readonly directory: PrincipalResolver;
}

const SYS_ID = /^[0-9a-f]{32}$/;
const TRUE_VALUES = new Set(['true', 'yes', 'y', '1', 'on']);

/** The ServiceNow form URL of a record, for people. */
export function recordUrl(instanceUrl: string, table: string, sysId: string): string {
  return `${instanceUrl}/${table}.do?sys_id=${sysId}`;
}

/**
 * Maps a RITM snapshot to a canonical request, or to a failure with every reason. Pure.
 *
 * - Requester: `requested_for` (who the request is for); `opened_by` only when it is empty.
 *   Filer: `opened_by` when someone else than the requester (an agent, a manager, an integration
 *   ordering on their behalf); recorded, never the requester. The access goes to the `subject`
 *   variable, not to either of them.
 * - Approvals: only `sysapproval_approver` records of this RITM in state `approved`/`rejected`.
 * - `changes`: which request fields changed after the order, and when (`changes.ts`): mapped
 *   variables re-saved later, audited changes of `cat_item`/`opened_by`/`requested_for`. The
 *   RITM's own `sys_updated_on` is not used: approvals, work notes and stage changes bump it.
 */
export function mapRequestedItem(snapshot: TicketSnapshot, ctx: MapContext): MapResult {
  const raw = ServiceNowRaw.parse(snapshot.raw);
  const { ritm } = raw;
  const ticketId = ritm.sys_id.value || snapshot.ticketId;
  const ticketKey = ritm.number.value || snapshot.ticketKey;
  const source: TicketSource = {
    system: 'servicenow',
    connectorId: ctx.connectorId,
    instanceUrl: ctx.instanceUrl,
    ticketId,
    ticketKey,
    url: recordUrl(ctx.instanceUrl, 'sc_req_item', ticketId),
  };
  const freeText = [ritm.short_description.value.trim(), ritm.description.value.trim()].filter((s) => s !== '').join('\n\n');
  const status = {
    name: ritm.state.display || ritm.state.value,
    actionable: ritm.active.value !== 'false' && !ctx.statuses.notActionable.includes(ritm.state.value),
  };

  // The sys_user records fetched with the ticket give each person's email, the directory's fallback.
  const person = (sysId: string) => {
    const email = raw.users.find((u) => u.sys_id.value === sysId)?.email.value ?? '';
    return ctx.directory.resolvePerson({ kind: 'servicenow-sys-id', value: sysId }, email === '' ? null : email);
  };
  // requested_for is who the request is for (the delegated request experience copies the Requested
  // For variable into it); opened_by who submitted it: the filer when that is someone else.
  const requesterId = ritm.requested_for.value || ritm.opened_by.value;
  const requesterResolution = requesterId === '' ? null : person(requesterId);
  const requester =
    requesterId === '' ? null : { principalId: requesterResolution?.principalId ?? null, sourceIdentity: { kind: 'servicenow-sys-id' as const, value: requesterId } };
  const filerId = ritm.opened_by.value;
  const filer =
    filerId === '' || filerId === requesterId ? null : { principalId: person(filerId).principalId, sourceIdentity: { kind: 'servicenow-sys-id' as const, value: filerId } };

  // Variables: the latest row per name wins (a re-saved variable may leave an older option row).
  const variables = new Map<string, { value: string; updatedAt: string | null }>();
  for (const row of raw.variables) {
    if (row.request_item.value !== '' && row.request_item.value !== ticketId) continue;
    const name = row['sc_item_option.item_option_new.name'].value;
    const updatedAt = snTimeToIso(row['sc_item_option.sys_updated_on'].value);
    if (name === '') continue;
    const prev = variables.get(name);
    if (prev === undefined || (updatedAt ?? '') >= (prev.updatedAt ?? '')) {
      variables.set(name, { value: row['sc_item_option.value'].value.trim(), updatedAt });
    }
  }

  const fail = (reasons: Reason[]): MapResult => {
    const failure: MappingFailure = { source, requester, reasons, freeText, actionable: status.actionable };
    return { ok: false, failure };
  };

  const catItem = ritm.cat_item.value;
  const anyValue = [...variables.values()].some((v) => v.value !== '');
  if (ctx.mapping.otherAccessItems.includes(catItem) || !anyValue) {
    const why = anyValue
      ? `"${ritm.cat_item.display || catItem}" is the generic other-access form`
      : 'the request has no catalog variables filled in';
    return fail([
      {
        code: 'FREE_TEXT_REQUEST',
        message: `This request is free text (${why}). Order the catalog item for the access you need so it names the entitlement, subject, resource, environment and duration.`,
        field: 'entitlementId',
      },
    ]);
  }

  const reasons: Reason[] = [];
  if (requester === null) {
    reasons.push(missingRequester('requested_for, opened_by'));
  } else if (requesterResolution?.principalId === null && requesterResolution.ambiguous !== null) {
    reasons.push({ code: 'REQUESTER_UNKNOWN', message: `The requester is not resolved: ${requesterResolution.ambiguous.explanation}`, field: 'requester' });
  }
  const entitlementId = ctx.mapping.catalogItems[catItem] ?? null;
  if (entitlementId === null) {
    reasons.push({
      code: 'UNMAPPED_ENTITLEMENT',
      message: `Catalog item "${ritm.cat_item.display || catItem || '(none)'}" is not mapped to an entitlement in grantline's configuration.`,
      field: 'entitlementId',
    });
  }

  const names = ctx.mapping.variables;
  const required = (field: string, variable: string): string | null => {
    const v = variables.get(variable)?.value ?? '';
    if (v !== '') return v;
    reasons.push({ code: 'MISSING_FIELD', message: `The catalog variable "${variable}" (${field}) is empty.`, field });
    return null;
  };
  const subjectValue = required('subject', names.subject);
  const resource = required('resource', names.resource);
  const environment = required('environment', names.environment);
  // Whether a justification is needed is the catalog entry's rule (`justification: required`).
  const justificationText = variables.get(names.justification)?.value ?? '';

  let subjectType: SubjectType = 'human';
  if (names.subjectType !== undefined) {
    const v = required('subject.type', names.subjectType);
    if (v !== null) {
      const parsed = SubjectType.safeParse(v);
      if (parsed.success) subjectType = parsed.data;
      else {
        reasons.push({
          code: 'MISSING_FIELD',
          message: `The catalog variable "${names.subjectType}" is "${clipText(v, 40)}", not one of ${SubjectType.options.join(', ')}.`,
          field: 'subject.type',
        });
      }
    }
  }

  let ttlSeconds: number | undefined;
  const ttlVariable = names.ttlSeconds ?? names.ttlHours;
  if (ttlVariable !== undefined) {
    const v = variables.get(ttlVariable)?.value ?? '';
    if (v !== '') {
      const n = /^\d+(\.\d+)?$/.test(v) ? Number(v) : Number.NaN;
      const seconds = names.ttlSeconds !== undefined ? n : Math.round(n * 3600);
      if (Number.isSafeInteger(seconds) && seconds > 0) ttlSeconds = seconds;
      else {
        reasons.push({
          code: 'MISSING_FIELD',
          message: `The catalog variable "${ttlVariable}" is "${clipText(v, 40)}", not a positive ${names.ttlSeconds !== undefined ? 'whole number of seconds' : 'number of hours'}.`,
          field: 'ttlSeconds',
        });
      }
    }
  }
  const breakGlass = names.breakGlass !== undefined && TRUE_VALUES.has((variables.get(names.breakGlass)?.value ?? '').toLowerCase());

  // A person named by a sys_user reference must resolve through the directory; any other value
  // is taken as the directory id itself (the policy checks it exists).
  let subject: Subject | null = null;
  if (subjectValue !== null) {
    if (subjectType === 'human' && SYS_ID.test(subjectValue)) {
      const resolved = person(subjectValue);
      if (resolved.principalId === null) {
        const where = `The person in the catalog variable "${names.subject}"`;
        reasons.push({
          code: 'SUBJECT_UNKNOWN',
          message:
            resolved.ambiguous === null
              ? `${where} is not in the directory; pick a person with a directory account.`
              : `${where} is not resolved: ${resolved.ambiguous.explanation}`,
          field: 'subject',
        });
      } else subject = { type: subjectType, id: resolved.principalId };
    } else subject = { type: subjectType, id: subjectValue };
  }

  if (reasons.length > 0 || requester === null || subject === null) return fail(reasons);

  const approvals: Approval[] = [];
  for (const a of raw.approvals) {
    const target = a.sysapproval.value || a.document_id.value;
    if (target !== ticketId) continue;
    const decision = a.state.value === 'approved' ? 'approved' : a.state.value === 'rejected' ? 'rejected' : null;
    const approver = a.approver.value;
    const decidedAt = snTimeToIso(a.sys_updated_on.value);
    if (decision === null || approver === '' || decidedAt === null || a.sys_id.value === '') continue;
    const approverSource: SourceIdentity = { kind: 'servicenow-sys-id', value: approver };
    approvals.push({
      approverPrincipalId: person(approver).principalId,
      approverSource,
      decision,
      decidedAt,
      evidence: { kind: 'sysapproval_approver', recordId: a.sys_id.value },
    });
  }

  const userByName = new Map(raw.users.map((u) => [u.user_name.value, u.sys_id.value]));
  // Every comment and work note with a nameable author, as ServiceNow has it; which read like
  // approvals is the core's rule.
  const comments: MappedRequest['comments'] = [];
  for (const j of raw.journal) {
    if (j.element_id.value !== ticketId) continue;
    if (j.element.value !== 'comments' && j.element.value !== 'work_notes') continue;
    const author = userByName.get(j.sys_created_by.value);
    const at = snTimeToIso(j.sys_created_on.value);
    // An author we cannot name as a sys_user (e.g. `system`) cannot be a structured approver either.
    if (author === undefined || author === '' || at === null || j.sys_id.value === '') continue;
    comments.push({ authorSource: { kind: 'servicenow-sys-id', value: author }, commentId: j.sys_id.value, at, text: j.value.value });
  }

  const entitlement = entitlementId as string;
  const request: MappedRequest = {
    source,
    requester,
    filer,
    subject,
    entitlementId: entitlement,
    resource,
    environment,
    justification: { text: justificationText },
    ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
    breakGlass,
    approvals,
    comments,
    status,
    changes: fieldChanges(raw, ticketId, variables, ctx.mapping.variables, ritm.requested_for.value === '' ? 'opened_by' : 'requested_for'),
    freeText,
  };
  return { ok: true, request };
}
