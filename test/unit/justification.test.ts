/**
 * `justification: required` on a catalog entry: a request without a justification is refused,
 * saying so, whichever connector it came from. An empty Jira description (the justification when no
 * justification field is mapped) or an empty ServiceNow variable is no justification.
 */
import { describe, expect, it } from 'vitest';
import { catalogFromValue, parseCatalog } from '../../src/catalog/index.js';
import type { Decision } from '../../src/model/index.js';
import { decide } from '../../src/policy/index.js';
import { JiraConfig } from '../../connectors/jira/config.js';
import { mapJiraSnapshot } from '../../connectors/jira/map.js';
import { mapRequestedItem } from '../../connectors/servicenow/map.js';
import { configInput, testConfig } from '../fixtures/servicenow/config.js';
import { IDS, makeRitm } from '../fixtures/servicenow/records.js';
import { approval, exampleDirectory, makeRequest, NOW, testDirectory } from '../fixtures/requests/factory.js';
import { requestFromMapped } from '../../src/policy/request.js';

const ENTRY = `
  - id: audit-log-export
    kind: role
    system: siem
    resource: audit-logs
    environments: [prod]
    sensitivity: high
    subjectTypes: [human]
    approvers: { pool: [security], minDistinct: 1 }
    ttl: { defaultSeconds: 4h, maxSeconds: 8h }
    justification: required
    channel: pam
  - id: audit-log-read
    kind: role
    system: siem
    resource: audit-logs-read
    environments: [prod]
    sensitivity: low
    subjectTypes: [human]
    approvers: { pool: [security], minDistinct: 1 }
    ttl: { defaultSeconds: 4h, maxSeconds: 8h }
    channel: pam
`;
const catalog = parseCatalog(`entitlements:${ENTRY}`, 'justification catalog');

function codes(d: Decision): string[] {
  return d.outcome === 'granted' ? [] : [...new Set(d.reasons.map((r) => r.code))].sort();
}

describe('catalog: justification', () => {
  it('accepts "required" and "optional", and nothing else, naming the field', () => {
    expect(catalog.get('audit-log-export')?.justification).toBe('required');
    expect(catalog.get('audit-log-read')?.justification).toBeUndefined();
    expect(() => catalogFromValue({ entitlements: [{ ...catalog.get('audit-log-read'), justification: 'sometimes' }] })).toThrow(/entitlements\[0\]\.justification/);
  });
});

describe('decide: justification required per entry', () => {
  const directory = testDirectory();
  const request = (text: string, entitlementId = 'audit-log-export') =>
    makeRequest({
      entitlementId,
      resource: entitlementId === 'audit-log-export' ? 'audit-logs' : 'audit-logs-read',
      subject: { type: 'human', id: 'alice' },
      ttlSeconds: undefined,
      justification: { text },
      approvals: [approval('erin')],
    });

  it.each(['', '   \n\t '])('refuses an entry that requires one when the justification is %j', (text) => {
    const d = decide(request(text), catalog, directory, NOW);
    expect(codes(d)).toEqual(['MISSING_FIELD']);
    const reason = d.outcome === 'rejected' ? d.reasons[0] : undefined;
    expect(reason?.field).toBe('justification');
    expect(reason?.message).toMatch(/audit-log-export needs a justification/);
  });

  it('grants the same request with a justification', () => {
    expect(decide(request('Quarterly SOX evidence pull'), catalog, directory, NOW).outcome).toBe('granted');
  });

  it('grants without a justification where the entry does not require one', () => {
    expect(decide(request('', 'audit-log-read'), catalog, directory, NOW).outcome).toBe('granted');
  });
});

describe('connectors: an empty justification reaches the policy as empty, never as something else', () => {
  const directory = exampleDirectory();

  it('Jira without a justification field: an empty description is no justification', () => {
    const config = JiraConfig.parse({
      baseUrl: 'https://jira.example.com',
      deployment: 'cloud',
      auth: { kind: 'basic', email: 'bot@example.com', apiToken: 't' },
      webhook: { secret: 's' },
      projects: ['ACC'],
      fields: { entitlement: { fieldId: 'customfield_10100', options: { Export: 'audit-log-export' } }, environment: { fieldId: 'customfield_10101' }, resource: { fieldId: 'customfield_10103' } },
      approvals: { mode: 'jsm' },
    });
    const raw = {
      deployment: 'cloud',
      issue: {
        id: '50001',
        key: 'ACC-50',
        fields: {
          summary: 'Audit log export',
          description: null,
          created: '2026-11-20T09:00:00.000+0000',
          reporter: { accountId: '90bd90594497006fc7e0f1bd' },
          status: { name: 'Waiting for approval' },
          project: { key: 'ACC' },
          customfield_10100: { value: 'Export' },
          customfield_10101: 'prod',
          customfield_10103: 'audit-logs',
        },
        changelog: { histories: [] },
      },
      comments: [],
      approvals: [{ id: '1', finalDecision: 'approved', approvers: [{ approver: { accountId: '7a6882118adbc79ecc13d5d5' }, approverDecision: 'approved' }], completedDate: { iso8601: '2026-11-20T10:00:00+0000' } }],
    };
    const mapped = mapJiraSnapshot({ ticketId: '50001', ticketKey: 'ACC-50', fetchedAt: '2026-11-20T11:00:00.000Z', raw }, { connectorId: 'jira-main', config, directory });
    expect(mapped.ok && mapped.request.justification).toEqual({ text: '' });
    if (!mapped.ok) return;
    expect(codes(decide(requestFromMapped(mapped.request), catalog, directory, new Date('2026-11-20T12:00:00Z')))).toEqual(['MISSING_FIELD']);
  });

  it('ServiceNow: an empty justification variable is decided by the catalog entry, not refused by the connector', () => {
    const sn = testConfig(undefined, { mapping: { ...configInput().mapping, catalogItems: { [IDS.catItemDbAdmin]: 'audit-log-read' } } });
    const snapshot = makeRitm({
      openedBy: '124acfa0c66e16a2c70910e71187bc48',
      requestedFor: '124acfa0c66e16a2c70910e71187bc48',
      variables: { subject: '124acfa0c66e16a2c70910e71187bc48', subject_type: 'human', target_resource: 'audit-logs-read', target_environment: 'prod', business_justification: '' },
      approvals: [{ sysId: IDS.approvalBob, approver: '966edf27b67f10bc967b0af08ebf5b06', state: 'approved', updatedOn: '2026-11-20 10:00:00' }],
    });
    const mapped = mapRequestedItem(snapshot, { connectorId: 'servicenow-main', instanceUrl: sn.instanceUrl, mapping: sn.mapping, statuses: sn.statuses, directory });
    expect(mapped.ok && mapped.request.justification).toEqual({ text: '' });
    if (!mapped.ok) return;
    expect(decide(requestFromMapped(mapped.request), catalog, directory, new Date('2026-11-20T12:00:00Z')).outcome).toBe('granted');
  });
});
