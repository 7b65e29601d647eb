import type { FieldChange, RequestField } from '../../src/model/index.js';
import type { JiraConfig } from './config.js';
import { toIso, type ChangelogHistory, type ChangelogItem } from './records.js';

/** A Jira field whose changes are changes of one or more request fields. */
interface Watched {
  readonly fieldId: string;
  /** The display name Data Center changelog items carry instead of a `fieldId`. */
  readonly name?: string | undefined;
  readonly fields: readonly RequestField[];
}

const ORDER: readonly RequestField[] = ['requester', 'subject', 'entitlementId', 'resource', 'environment', 'ttlSeconds', 'breakGlass', 'justification'];

/**
 * Which Jira fields carry which request fields. The reporter is the requester, and also the subject
 * when the subject comes from the reporter (no subject field, or an empty one). The justification is
 * the configured field, else the description.
 */
function watchedFields(config: JiraConfig, subjectIsRequester: boolean): Watched[] {
  const f = config.fields;
  const out: Watched[] = [{ fieldId: 'reporter', fields: subjectIsRequester ? ['requester', 'subject'] : ['requester'] }];
  const add = (m: { fieldId: string; name?: string | undefined } | undefined, field: RequestField) => {
    if (m !== undefined) out.push({ fieldId: m.fieldId, name: m.name, fields: [field] });
  };
  add(f.entitlement, 'entitlementId');
  add(f.subject, 'subject');
  add(f.subject?.typeField, 'subject');
  add(f.resource, 'resource');
  add(f.environment, 'environment');
  add(f.ttl, 'ttlSeconds');
  add(f.breakGlass, 'breakGlass');
  add(f.justification ?? { fieldId: 'description' }, 'justification');
  return out;
}

/**
 * Does a changelog item change this field? Cloud items carry `fieldId`. Data Center items carry only
 * the display name: a system field's name is its id (`reporter`); a custom field matches its
 * configured `name`, and without one any custom-field change matches it, which can only make an
 * approval stale, never hide a change.
 */
function touches(item: ChangelogItem, w: Watched, dc: boolean): boolean {
  if (item.fieldId !== undefined) return item.fieldId === w.fieldId;
  if (!dc) return false;
  if (w.name !== undefined) return item.field === w.name;
  if (!w.fieldId.startsWith('customfield_')) return item.field === w.fieldId;
  return item.fieldtype === 'custom';
}

/**
 * The request fields the changelog shows changed, the latest change of each, in a fixed order. The
 * connector reports; the policy decides which changes make an approval stale.
 */
export function fieldChanges(histories: readonly ChangelogHistory[], config: JiraConfig, dc: boolean, subjectIsRequester: boolean): FieldChange[] {
  const watched = watchedFields(config, subjectIsRequester);
  const latest = new Map<RequestField, string>();
  for (const h of histories) {
    const at = toIso(h.created);
    if (at === null) continue;
    for (const item of h.items) {
      for (const w of watched) {
        if (!touches(item, w, dc)) continue;
        for (const field of w.fields) {
          const seen = latest.get(field);
          if (seen === undefined || Date.parse(at) > Date.parse(seen)) latest.set(field, at);
        }
      }
    }
  }
  return ORDER.flatMap((field) => {
    const at = latest.get(field);
    return at === undefined ? [] : [{ field, at }];
  });
}
