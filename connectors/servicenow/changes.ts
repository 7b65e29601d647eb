import type { FieldChange, RequestField } from '../../src/model/index.js';
import type { ServiceNowConfig } from './config.js';
import type { AUDITED_RITM_FIELDS } from './fetch.js';
import { snTimeToIso, type ServiceNowRaw } from './records.js';

const ORDER: readonly RequestField[] = ['requester', 'subject', 'entitlementId', 'resource', 'environment', 'ttlSeconds', 'breakGlass', 'justification'];

/** Which request field each configured catalog variable carries. */
function variableFields(names: ServiceNowConfig['mapping']['variables']): Map<string, RequestField> {
  const out = new Map<string, RequestField>();
  const add = (name: string | undefined, field: RequestField) => {
    if (name !== undefined) out.set(name, field);
  };
  add(names.subject, 'subject');
  add(names.subjectType, 'subject');
  add(names.resource, 'resource');
  add(names.environment, 'environment');
  add(names.ttlHours, 'ttlSeconds');
  add(names.ttlSeconds, 'ttlSeconds');
  add(names.breakGlass, 'breakGlass');
  add(names.justification, 'justification');
  return out;
}

/** Which request field an audited RITM field carries; the one the requester comes from carries the requester. */
function auditedFields(requesterFrom: 'requested_for' | 'opened_by'): Readonly<Record<(typeof AUDITED_RITM_FIELDS)[number], RequestField | undefined>> {
  // opened_by is otherwise the filer, which is not a request field an approval depends on.
  return { cat_item: 'entitlementId', requested_for: requesterFrom === 'requested_for' ? 'requester' : undefined, opened_by: requesterFrom === 'opened_by' ? 'requester' : undefined };
}

/**
 * The request fields a RITM shows changed, the latest change of each, in a fixed order:
 * - each configured variable's last update (`sc_item_option.sys_updated_on`) when later than the
 *   RITM's creation (the first write is the order itself); unmapped variables change nothing;
 * - the audited changes (`sys_audit`, when `auditRequestFields`) of `cat_item` (the entitlement)
 *   and of the field the requester comes from (`requested_for`, else `opened_by`); an `opened_by`
 *   that names the filer is no request field.
 * The RITM's own `sys_updated_on` is not used: approvals and work notes bump it. The policy decides
 * which changes make an approval stale.
 */
export function fieldChanges(
  raw: ServiceNowRaw,
  ticketId: string,
  variables: ReadonlyMap<string, { readonly updatedAt: string | null }>,
  names: ServiceNowConfig['mapping']['variables'],
  requesterFrom: 'requested_for' | 'opened_by',
): FieldChange[] {
  const latest = new Map<RequestField, string>();
  const note = (field: RequestField | undefined, at: string | null) => {
    if (field === undefined || at === null) return;
    const seen = latest.get(field);
    if (seen === undefined || Date.parse(at) > Date.parse(seen)) latest.set(field, at);
  };
  // A variable is first written when the item is ordered; only a later write is a change.
  const created = Date.parse(snTimeToIso(raw.ritm.sys_created_on.value) ?? '');
  const byVariable = variableFields(names);
  for (const [name, v] of variables) {
    if (v.updatedAt !== null && !(Date.parse(v.updatedAt) <= created)) note(byVariable.get(name), v.updatedAt);
  }
  const audited = auditedFields(requesterFrom);
  for (const entry of raw.audit) {
    if (entry.documentkey.value !== ticketId) continue;
    const name = entry.fieldname.value;
    if (Object.hasOwn(audited, name)) note(audited[name as keyof typeof audited], snTimeToIso(entry.sys_created_on.value));
  }
  return ORDER.flatMap((field) => {
    const at = latest.get(field);
    return at === undefined ? [] : [{ field, at }];
  });
}
