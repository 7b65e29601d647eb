/**
 * Access tickets as people file them, seeded into the Jira and ServiceNow stubs in the shapes and
 * with the field mapping of `examples/grantline.yaml`, and delivered to grantline as the vendors
 * would: signed webhooks (Jira `X-Hub-Signature`) and signed outbound REST calls (ServiceNow).
 * Used by the end-to-end tests, the quick-start demo and the benchmarks.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { GrantlineConfig } from '../src/config/index.js';
import type { Secret } from '../src/connector/secret.js';
import { jiraTime, jiraWebhookBody, signJiraWebhook, type JiraStub, type StubIssue } from './stubs/jira-stub.js';
import { signServiceNowDelivery, snTime, type ServiceNowStub, type StubRecord } from './stubs/servicenow-stub.js';

const EXAMPLES = resolve(dirname(fileURLToPath(import.meta.url)), '../examples');

interface DirectoryPrincipal {
  id: string;
  identities: { jiraAccountId?: string; servicenowSysId?: string };
}

/** The example directory's people, so seeded tickets name them the way each source does. */
export const people: ReadonlyMap<string, DirectoryPrincipal> = new Map(
  (parseYaml(readFileSync(resolve(EXAMPLES, 'directory.yaml'), 'utf8')) as { principals: DirectoryPrincipal[] }).principals.map((p) => [p.id, p]),
);

function person(id: string): DirectoryPrincipal {
  const p = people.get(id);
  if (!p) throw new Error(`no principal ${id} in examples/directory.yaml`);
  return p;
}

function jiraUser(id: string) {
  return { accountId: person(id).identities.jiraAccountId ?? `unknown-${id}`, displayName: id };
}

/** Option labels of the example's Jira entitlement select list. */
export const JIRA_ENTITLEMENT = {
  'db-orders-prod-readwrite': 'Orders DB read-write (prod)',
  'analytics-readonly': 'Analytics read-only',
  'payments-api-key': 'Payments API key',
  'ci-deploy-token-staging': 'CI deploy token (staging)',
  'prod-breakglass-admin': 'Prod break-glass admin',
} as const;

const JIRA_SUBJECT_TYPE = {
  human: 'Person',
  service_account: 'Service account',
  api_key: 'API key',
  ci_token: 'CI/CD token',
  automation_role: 'Automation role',
} as const;

export interface AccessTicket {
  /** Catalog id to pick from the select list, or null for a ticket with only free text. */
  entitlement: keyof typeof JIRA_ENTITLEMENT | null;
  requester: string;
  subject?: { type: keyof typeof JIRA_SUBJECT_TYPE; id: string };
  environment?: string;
  resource?: string;
  ttlHours?: number;
  breakGlass?: boolean;
  /** Principals who approved through the source's native approval records. */
  approvedBy?: string[];
  declinedBy?: string[];
  /** Comments written on the ticket (never approval evidence). */
  comments?: { by: string; text: string }[];
  summary?: string;
  description?: string;
  /** When the ticket was filed; approvals are 10 minutes before `now`. Default: an hour ago. */
  createdAt?: Date;
}

/**
 * The example's model request: alice asks for read-write on the production orders database for the
 * service account svc-orders (which she owns); bob and carol, both data-platform owners, approve.
 */
export function nhiDualApproval(overrides: Partial<AccessTicket> = {}): AccessTicket {
  return {
    entitlement: 'db-orders-prod-readwrite',
    requester: 'alice',
    subject: { type: 'service_account', id: 'svc-orders' },
    environment: 'prod',
    resource: 'orders-db',
    approvedBy: ['bob', 'carol'],
    ...overrides,
  };
}

/** Seeds a Jira Service Management request for the example's `jira-main` connector. */
export function seedJiraTicket(stub: JiraStub, t: AccessTicket, now = new Date()): StubIssue {
  const created = t.createdAt ?? new Date(now.getTime() - 3600_000);
  const decided = new Date(now.getTime() - 600_000).toISOString();
  const fields: Record<string, unknown> = {};
  if (t.entitlement !== null) fields.customfield_10100 = { value: JIRA_ENTITLEMENT[t.entitlement], id: String(10_200 + Object.keys(JIRA_ENTITLEMENT).indexOf(t.entitlement)) };
  if (t.environment) fields.customfield_10101 = t.environment;
  if (t.ttlHours !== undefined) fields.customfield_10102 = t.ttlHours;
  if (t.resource) fields.customfield_10103 = t.resource;
  if (t.subject) {
    fields.customfield_10104 = t.subject.id;
    fields.customfield_10105 = { value: JIRA_SUBJECT_TYPE[t.subject.type] };
  }
  if (t.breakGlass) fields.customfield_10106 = [{ value: 'Yes' }];
  const approvers = [
    ...(t.approvedBy ?? []).map((id) => ({ approver: jiraUser(id), approverDecision: 'approved' as const })),
    ...(t.declinedBy ?? []).map((id) => ({ approver: jiraUser(id), approverDecision: 'declined' as const })),
  ];
  return stub.state.seedIssue({
    key: undefined,
    summary: t.summary ?? `Access: ${t.entitlement ?? 'something'}`,
    description: t.description ?? '',
    status: 'Waiting for approval',
    statusCategory: 'indeterminate',
    reporter: jiraUser(t.requester),
    created,
    updated: now,
    fields,
    comments: (t.comments ?? []).map((c) => ({ author: jiraUser(c.by), text: c.text, created: decided })),
    approvals:
      approvers.length === 0
        ? []
        : [
            {
              id: String(7000 + stub.state.issues.size),
              name: 'Owner approval',
              finalDecision: (t.declinedBy ?? []).length > 0 ? 'declined' : 'approved',
              approvers,
              createdDate: created.toISOString(),
              completedDate: decided,
            },
          ],
  });
}

function secretOf(config: GrantlineConfig, connectorId: string, pick: (c: Record<string, unknown>) => unknown): string {
  const entry = config.connectors.find((c) => c.id === connectorId);
  const value = entry ? pick(entry.config as Record<string, unknown>) : undefined;
  if (!value || typeof (value as Secret).reveal !== 'function') throw new Error(`connector ${connectorId} has no such secret`);
  return (value as Secret).reveal();
}

/** The example's Jira webhook secret, as the test or demo process knows it. */
export function jiraWebhookSecret(config: GrantlineConfig, connectorId = 'jira-main'): string {
  return secretOf(config, connectorId, (c) => (c.webhook as { secret?: unknown } | undefined)?.secret);
}

/** The example's ServiceNow HMAC key (base64). */
export function serviceNowHmacKey(config: GrantlineConfig, connectorId = 'servicenow-main'): string {
  return secretOf(config, connectorId, (c) => (c.webhook as { hmacSecret?: unknown } | undefined)?.hmacSecret);
}

/** A signed Jira webhook delivery about an issue, as Jira Cloud sends it. */
export function jiraDelivery(issue: Pick<StubIssue, 'id' | 'key'>, secret: string, opts: { at?: Date; deliveryId?: string; event?: string } = {}) {
  const body = jiraWebhookBody(issue, { ...(opts.at ? { at: opts.at } : {}), ...(opts.event ? { event: opts.event } : {}) });
  const headers: Record<string, string> = {
    ...signJiraWebhook(body, secret),
    'x-atlassian-webhook-identifier': opts.deliveryId ?? `wh-${issue.id}-${Date.now()}-${Math.random().toString(16).slice(2)}`,
  };
  return { body, headers };
}

/** Posts a delivery to grantline's webhook endpoint and returns the status and JSON body. */
export async function post(url: string, delivery: { body: Buffer | string; headers: Record<string, string> }): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { method: 'POST', body: delivery.body, headers: delivery.headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

/** Catalog item sys_ids of the example's ServiceNow mapping. */
export const SN_CATALOG_ITEM = {
  'db-orders-prod-readwrite': '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  'analytics-readonly': '1a2b3c4d5e6f708192a3b4c5d6e7f809',
  'other-access': '9f8e7d6c5b4a39281706f5e4d3c2b1a0',
} as const;

/** Adds the example directory's people as `sys_user` records with their directory sys_ids. */
export function seedServiceNowUsers(stub: ServiceNowStub): void {
  for (const p of people.values()) {
    const sysId = p.identities.servicenowSysId;
    if (sysId && !stub.state.get('sys_user', sysId)) stub.state.addUser({ user_name: p.id, sys_id: sysId });
  }
  for (const [name, sysId] of Object.entries(SN_CATALOG_ITEM)) {
    if (!stub.state.get('sc_cat_item', sysId)) stub.state.addCatalogItem(name, sysId);
  }
}

export interface ServiceNowTicket {
  item: keyof typeof SN_CATALOG_ITEM;
  requester: string;
  subject?: { type: string; id: string };
  environment?: string;
  resource?: string;
  ttlHours?: number;
  justification?: string;
  approvedBy?: string[];
  rejectedBy?: string[];
  shortDescription?: string;
  description?: string;
}

function sysId(id: string): string {
  const s = person(id).identities.servicenowSysId;
  if (!s) throw new Error(`${id} has no ServiceNow sys_id`);
  return s;
}

/** Orders a catalog item in the ServiceNow stub and records the approvers' decisions. */
export function seedServiceNowTicket(stub: ServiceNowStub, t: ServiceNowTicket): StubRecord {
  seedServiceNowUsers(stub);
  const variables: Record<string, string> = {};
  if (t.subject) {
    variables.requested_for_identity = t.subject.id;
    variables.subject_type = t.subject.type;
  }
  if (t.resource) variables.resource = t.resource;
  if (t.environment) variables.environment = t.environment;
  if (t.ttlHours !== undefined) variables.ttl_hours = String(t.ttlHours);
  if (t.justification) variables.business_justification = t.justification;
  const ritm = stub.state.createRequestedItem({
    catItem: SN_CATALOG_ITEM[t.item],
    openedBy: sysId(t.requester),
    variables,
    shortDescription: t.shortDescription ?? `Access: ${t.item}`,
    description: t.description ?? '',
  });
  const id = ritm.sys_id as string;
  for (const a of t.approvedBy ?? []) stub.state.setApprovalState(stub.state.addApproval(id, sysId(a)).sys_id as string, 'approved');
  for (const a of t.rejectedBy ?? []) stub.state.setApprovalState(stub.state.addApproval(id, sysId(a)).sys_id as string, 'rejected');
  return stub.state.get('sc_req_item', id) as StubRecord;
}

/** A signed delivery as the shipped ServiceNow business rule posts it. */
export function serviceNowDelivery(ritm: StubRecord, base64Key: string, at = new Date()) {
  const body = JSON.stringify({ table: 'sc_req_item', sys_id: ritm.sys_id, sys_updated_on: ritm.sys_updated_on ?? snTime(at), number: ritm.number });
  return { body, headers: { 'content-type': 'application/json', ...signServiceNowDelivery(body, base64Key, Math.floor(at.getTime() / 1000)) } };
}

export { jiraTime };
