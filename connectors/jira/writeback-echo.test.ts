import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalResolver } from '../../src/connector/resolve.js';
import { startJiraStub, type JiraStub } from '../../dev/stubs/jira-stub.js';
import { JiraConfig, jiraConnector, type JiraConfigInput } from './index.js';

/**
 * Issue 16: the time a note sets as the issue's `updated` (Jira sets it to the comment's creation
 * time) is exactly what the poll then reports for the issue, so the processor can take the poll's
 * sighting of our own note as seen. Against the stub, which moves `updated` as Jira Cloud does.
 */
describe('Jira write-back tells the issue update time its note set', () => {
  let stub: JiraStub;
  beforeAll(async () => {
    stub = await startJiraStub();
    stub.state.commentsTouchUpdated = true;
  });
  afterAll(() => stub.close());

  const make = (overrides: Partial<JiraConfigInput> = {}) =>
    jiraConnector.create(
      JiraConfig.parse({
        baseUrl: stub.baseUrl,
        deployment: 'cloud',
        auth: { kind: 'basic', email: 'bot@example.com', apiToken: 'token' },
        webhook: { secret: 's' },
        projects: ['ACC'],
        fields: { entitlement: { fieldId: 'customfield_10100', options: {} } },
        approvals: { mode: 'jsm' },
        ...overrides,
      }),
      { connectorId: 'jira-main', logger: pino({ level: 'silent' }), directory: principalResolver(() => null) },
    );

  it.each([
    ['Cloud, JSM internal request comment', {}],
    ['Cloud, plain issue comment', { approvals: { mode: 'workflow', approvedStatus: 'Approved' } }],
    ['Data Center, plain issue comment', { deployment: 'datacenter', auth: { kind: 'bearer', token: 'pat' }, approvals: { mode: 'workflow', approvedStatus: 'Approved' } }],
  ] as const)('%s: the poll reports the issue at that very time; a note found already written tells none', async (_name, overrides) => {
    const issue = stub.state.seedIssue({ approvals: [], updated: new Date(Date.now() - 3_600_000) });
    const connector = make(overrides as Partial<JiraConfigInput>);
    const first = await connector.writeBack({ ticketId: issue.id, ticketKey: issue.key }, { kind: 'note', text: 'hello' }, `echo-${issue.id}`);
    expect(first.written).toBe(true);
    expect(first.ticketUpdatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const page = await connector.poll(null, new Date(Date.now() - 7_200_000));
    expect(page.tickets.find((t) => t.ticketId === issue.id)?.updatedAt).toBe(first.ticketUpdatedAt);
    const again = await connector.writeBack({ ticketId: issue.id, ticketKey: issue.key }, { kind: 'note', text: 'hello' }, `echo-${issue.id}`);
    expect(again).toEqual({ written: false, recordId: first.recordId });
    // The first case loads jira.js's Cloud and Service Desk clients (seconds on a busy machine).
  }, 30_000);
});
