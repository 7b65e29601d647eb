import { NonRetriableError } from '../../src/connector/errors.js';
import type { TicketSnapshot } from '../../src/connector/contract.js';
import type { ServiceNowClient } from './client.js';
import { SYS_ID } from './config.js';
import { Field, snTimeToIso, type ServiceNowRawInput } from './records.js';

/** User names safe to put into an encoded query (no `^`, `,` or `=`). */
const USER_NAME = /^[\w.@+-]{1,100}$/;
/** RITM fields whose change makes it a different request; read from `sys_audit`. */
export const AUDITED_RITM_FIELDS = ['cat_item', 'opened_by', 'requested_for'] as const;

const PAGE = 500;

/**
 * Reads the authoritative state of one RITM: the record, its catalog variables, its approvals,
 * its journal, the audit of request-defining RITM fields, and every `sys_user` these name.
 * `raw` holds the Table API records as received. Throws `NonRetriableError` when the RITM is gone.
 */
export async function fetchRequestedItem(
  client: ServiceNowClient,
  sysId: string,
  opts: { readonly auditRequestFields: boolean; readonly now?: () => Date },
): Promise<TicketSnapshot> {
  if (!SYS_ID.test(sysId)) throw new NonRetriableError(`"${sysId.slice(0, 40)}" is not a ServiceNow sys_id`);
  const [ritm, variables, approvals, journal, audit] = await Promise.all([
    client.getRecord('sc_req_item', sysId),
    client.list('sc_item_option_mtom', {
      query: `request_item=${sysId}^ORDERBYsys_id`,
      fields: [
        'sys_id',
        'request_item',
        'sc_item_option.item_option_new.name',
        'sc_item_option.value',
        'sc_item_option.sys_updated_on',
      ],
      pageSize: PAGE,
    }),
    client.list('sysapproval_approver', {
      query: `sysapproval=${sysId}^ORDERBYsys_updated_on^ORDERBYsys_id`,
      fields: ['sys_id', 'sysapproval', 'document_id', 'source_table', 'approver', 'group', 'state', 'comments', 'sys_created_on', 'sys_updated_on'],
      pageSize: PAGE,
    }),
    client.list('sys_journal_field', {
      query: `element_id=${sysId}^ORDERBYsys_created_on^ORDERBYsys_id`,
      fields: ['sys_id', 'element_id', 'element', 'value', 'sys_created_on', 'sys_created_by'],
      pageSize: PAGE,
    }),
    opts.auditRequestFields
      ? client.list('sys_audit', {
          query: `tablename=sc_req_item^documentkey=${sysId}^fieldnameIN${AUDITED_RITM_FIELDS.join(',')}^ORDERBYsys_created_on`,
          fields: ['sys_id', 'documentkey', 'fieldname', 'oldvalue', 'newvalue', 'sys_created_on'],
          pageSize: PAGE,
        })
      : Promise.resolve({ records: [], truncated: false }),
  ]);
  if (ritm === null) throw new NonRetriableError(`ServiceNow requested item ${sysId} does not exist (deleted?)`);

  const userIds = new Set<string>();
  for (const f of [ritm['opened_by'], ritm['requested_for']]) addId(userIds, f);
  for (const a of approvals.records) addId(userIds, a['approver']);
  const userNames = new Set<string>();
  for (const j of journal.records) {
    const name = Field.parse(j['sys_created_by']).value;
    if (USER_NAME.test(name)) userNames.add(name);
  }
  const fields = ['sys_id', 'user_name', 'email', 'name', 'active', 'manager'];
  const [byId, byName] = await Promise.all([
    userIds.size === 0
      ? Promise.resolve({ records: [], truncated: false })
      : client.list('sys_user', { query: `sys_idIN${[...userIds].sort().join(',')}`, fields, pageSize: PAGE }),
    userNames.size === 0
      ? Promise.resolve({ records: [], truncated: false })
      : client.list('sys_user', { query: `user_nameIN${[...userNames].sort().join(',')}`, fields, pageSize: PAGE }),
  ]);
  const users = new Map<string, unknown>();
  for (const u of [...byId.records, ...byName.records]) users.set(Field.parse(u['sys_id']).value, u);

  const raw: ServiceNowRawInput = {
    ritm: ritm as ServiceNowRawInput['ritm'],
    variables: variables.records as ServiceNowRawInput['variables'],
    approvals: approvals.records as ServiceNowRawInput['approvals'],
    users: [...users.values()] as ServiceNowRawInput['users'],
    journal: journal.records as ServiceNowRawInput['journal'],
    audit: audit.records as ServiceNowRawInput['audit'],
  };
  const number = Field.parse(ritm['number']).value;
  // The RITM's own update time, in the form poll.ts reports a RITM sighting (an approval's sighting
  // carries the approval's time, and is read).
  const updatedAt = snTimeToIso(Field.parse(ritm['sys_updated_on']).value);
  return {
    ticketId: sysId,
    ticketKey: number === '' ? sysId : number,
    fetchedAt: (opts.now?.() ?? new Date()).toISOString(),
    ...(updatedAt === null ? {} : { updatedAt }),
    raw,
  };
}

function addId(set: Set<string>, field: unknown): void {
  const id = Field.parse(field).value;
  if (SYS_ID.test(id)) set.add(id);
}
