import { z } from 'zod';

/*
 * Lenient schemas of the ServiceNow records we read (Table API, `sysparm_display_value=all`).
 * Vendor shapes stay here; canonical shapes live in `src/model`. Every field can arrive as a plain
 * string, as a reference `{link, value}`, or as `{display_value, value[, link]}`; `Field` reads all
 * three into `{ value, display }` with empty strings for absent values.
 */

/** One field value as we keep it: the internal value and what a person sees. */
export const FieldValue = z.object({ value: z.string(), display: z.string() });
export type FieldValue = z.infer<typeof FieldValue>;

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]).transform((v) => (v === null ? '' : String(v)));

/** Reads any of the three field forms. */
export const Field = z
  .union([
    scalar,
    z
      .object({
        value: scalar.optional(),
        display_value: scalar.optional(),
        link: z.string().optional(),
      })
      .loose(),
  ])
  .optional()
  .transform((f): FieldValue => {
    if (f === undefined) return { value: '', display: '' };
    if (typeof f === 'string') return { value: f, display: f };
    const value = f.value ?? '';
    return { value, display: f.display_value ?? value };
  });

export const ServiceNowTime = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** `YYYY-MM-DD HH:MM:SS` (the `value` form, UTC) to ISO 8601 with `Z`; null for anything else. */
export function snTimeToIso(value: string): string | null {
  const m = ServiceNowTime.exec(value);
  if (m === null) return null;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
  return Number.isNaN(Date.parse(iso)) ? null : iso;
}

/** A `Date` to the Table API's UTC `YYYY-MM-DD HH:MM:SS`. */
export function toSnTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

export const RequestedItem = z
  .object({
    sys_id: Field,
    number: Field,
    request: Field,
    cat_item: Field,
    requested_for: Field,
    opened_by: Field,
    state: Field,
    stage: Field,
    approval: Field,
    active: Field,
    short_description: Field,
    description: Field,
    sys_created_on: Field,
    sys_updated_on: Field,
    sys_mod_count: Field,
  })
  .loose();
export type RequestedItem = z.infer<typeof RequestedItem>;

/** A row of `sc_item_option_mtom` with the dot-walked option fields we ask for. */
export const VariableRow = z
  .object({
    sys_id: Field,
    request_item: Field,
    'sc_item_option.item_option_new.name': Field,
    'sc_item_option.value': Field,
    'sc_item_option.sys_updated_on': Field,
  })
  .loose();
export type VariableRow = z.infer<typeof VariableRow>;

export const ApprovalRecord = z
  .object({
    sys_id: Field,
    sysapproval: Field,
    document_id: Field,
    source_table: Field,
    approver: Field,
    group: Field,
    state: Field,
    comments: Field,
    sys_created_on: Field,
    sys_updated_on: Field,
  })
  .loose();
export type ApprovalRecord = z.infer<typeof ApprovalRecord>;

export const UserRecord = z
  .object({
    sys_id: Field,
    user_name: Field,
    email: Field,
    name: Field,
    active: Field,
    manager: Field,
  })
  .loose();
export type UserRecord = z.infer<typeof UserRecord>;

/** `sys_journal_field`: one work note or comment. `sys_created_by` is a user_name. */
export const JournalEntry = z
  .object({
    sys_id: Field,
    element_id: Field,
    element: Field,
    value: Field,
    sys_created_on: Field,
    sys_created_by: Field,
  })
  .loose();
export type JournalEntry = z.infer<typeof JournalEntry>;

/** `sys_audit`: one field change on a record. */
export const AuditEntry = z
  .object({
    sys_id: Field,
    documentkey: Field,
    fieldname: Field,
    oldvalue: Field,
    newvalue: Field,
    sys_created_on: Field,
  })
  .loose();
export type AuditEntry = z.infer<typeof AuditEntry>;

/** A review record (`sc_task` or `incident`). */
export const ReviewRecord = z
  .object({
    sys_id: Field,
    number: Field,
    state: Field,
    active: Field,
    close_code: Field,
    closed_at: Field,
    correlation_id: Field,
  })
  .loose();
export type ReviewRecord = z.infer<typeof ReviewRecord>;

/**
 * What `fetchTicket` stores in `TicketSnapshot.raw`: the Table API records exactly as received
 * (JSON), so the snapshot hash covers what the mapping read.
 */
export const ServiceNowRaw = z.object({
  ritm: RequestedItem,
  variables: z.array(VariableRow),
  approvals: z.array(ApprovalRecord),
  users: z.array(UserRecord),
  journal: z.array(JournalEntry),
  audit: z.array(AuditEntry),
});
/** The parsed form (fields normalized to `{ value, display }`). */
export type ServiceNowRaw = z.infer<typeof ServiceNowRaw>;
/** The stored form, as the Table API returned it. */
export type ServiceNowRawInput = z.input<typeof ServiceNowRaw>;
