import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Connector, ScopeCheck, TicketRef } from '../../src/connector/contract.js';
import { principalResolver } from '../../src/connector/resolve.js';
import type { WritebackTask } from '../../src/model/index.js';
import { writebackOutOfScope } from '../../src/pipeline/writeback-scope.js';
import { JiraConfig, jiraConnector } from '../../connectors/jira/index.js';
import { JsonWebhookConfig, jsonWebhookConnector } from '../../connectors/json-webhook/index.js';
import { serviceNowConnector } from '../../connectors/servicenow/index.js';
import { configInput } from '../fixtures/servicenow/config.js';

const deps = (connectorId: string) => ({ connectorId, logger: pino({ level: 'silent' }), directory: principalResolver(() => null) });

function jira(review?: { projectKey: string }): Connector {
  return jiraConnector.create(
    JiraConfig.parse({
      baseUrl: 'http://127.0.0.1:9',
      deployment: 'cloud',
      auth: { kind: 'basic', email: 'bot@example.com', apiToken: 'token' },
      webhook: { secret: 'a-webhook-secret' },
      projects: ['ACC', 'OPS'],
      fields: { entitlement: { fieldId: 'customfield_10100', options: {} } },
      approvals: { mode: 'jsm' },
      ...(review === undefined ? {} : { review }),
    }),
    deps('jira-main'),
  );
}

const SYS_ID = 'a'.repeat(32);

function task(overrides: Partial<WritebackTask> = {}): WritebackTask {
  return {
    taskId: 'wb_1',
    connectorId: 'jira-main',
    ticketId: '10001',
    ticketKey: 'ACC-1',
    grantId: null,
    requestId: null,
    item: { kind: 'note', text: 'hello' },
    idempotencyKey: 'note:1',
    createdAt: '2026-12-03T10:00:00.000Z',
    ...overrides,
  } as WritebackTask;
}

describe('write-back scope: the worker asks the task\'s connector', () => {
  /** A plain fake: in scope is whatever `allow` says; it records what it was asked. */
  function fake(allow: (ticket: TicketRef, kind: 'ticket' | 'review') => boolean) {
    const asked: [string, 'ticket' | 'review'][] = [];
    const connector = {
      scope: (ticket: TicketRef, kind: 'ticket' | 'review' = 'ticket'): ScopeCheck => {
        asked.push([ticket.ticketKey, kind]);
        return allow(ticket, kind) ? { ok: true } : { ok: false, detail: `${ticket.ticketKey} is not served` };
      },
    };
    return { connector, asked };
  }

  it('lets an in-scope task through and names why an out-of-scope one is refused', () => {
    const { connector, asked } = fake((t) => t.ticketKey.startsWith('ACC-'));
    const connectors = new Map([['jira-main', connector]]);
    expect(writebackOutOfScope(connectors, task())).toBeNull();
    expect(writebackOutOfScope(connectors, task({ ticketKey: 'HR-9' }))).toBe('connector jira-main: HR-9 is not served');
    expect(asked).toEqual([
      ['ACC-1', 'ticket'],
      ['HR-9', 'ticket'],
    ]);
  });

  it('checks the review ticket of an overdue-review escalation against the review scope', () => {
    const { connector, asked } = fake((t, kind) => (kind === 'review' ? t.ticketKey.startsWith('REV-') : true));
    const connectors = new Map([['jira-main', connector]]);
    const escalation = (reviewKey: string) =>
      task({ item: { kind: 'review-overdue', grantId: 'grt_1', entitlementId: 'db-admin', ticketKey: 'ACC-1', reviewDueAt: '2026-12-01T00:00:00.000Z', review: { ticketId: '20001', ticketKey: reviewKey, url: 'u' } } } as Partial<WritebackTask>);
    expect(writebackOutOfScope(connectors, escalation('REV-1'))).toBeNull();
    expect(writebackOutOfScope(connectors, escalation('HR-1'))).toBe('connector jira-main, review ticket: HR-1 is not served');
    expect(asked.filter(([, kind]) => kind === 'review').map(([key]) => key)).toEqual(['REV-1', 'HR-1']);
  });

  it('leaves a task of an unconfigured connector to the worker (it dead-letters it)', () => {
    expect(writebackOutOfScope(new Map(), task({ connectorId: 'nobody' }))).toBeNull();
  });
});

describe('each connector type\'s configured scope', () => {
  it('Jira: issues of the configured projects only, judged on the issue key', () => {
    const c = jira();
    expect(c.scope({ ticketId: '10001', ticketKey: 'ACC-1' })).toEqual({ ok: true });
    expect(c.scope({ ticketId: '10002', ticketKey: 'OPS-77' })).toEqual({ ok: true });
    expect(c.scope({ ticketId: '10003', ticketKey: 'HR-5' })).toEqual({ ok: false, detail: 'issue HR-5 is in project HR, not one of the configured projects (ACC, OPS)' });
    // A prefix of a configured key is another project.
    expect(c.scope({ ticketId: '10004', ticketKey: 'ACCX-5' }).ok).toBe(false);
    // A bare id says nothing about its project: refused, never guessed.
    expect(c.scope({ ticketId: '10005', ticketKey: '10005' })).toEqual({ ok: false, detail: '"10005" is not a Jira issue key' });
  });

  it('Jira: review tickets only in the review project, and none without one', () => {
    expect(jira({ projectKey: 'REV' }).scope({ ticketId: '1', ticketKey: 'REV-3' }, 'review')).toEqual({ ok: true });
    expect(jira({ projectKey: 'REV' }).scope({ ticketId: '1', ticketKey: 'ACC-3' }, 'review').ok).toBe(false);
    expect(jira().scope({ ticketId: '1', ticketKey: 'REV-3' }, 'review').ok).toBe(false);
  });

  it('ServiceNow: a sys_id, which it only ever addresses in the RITM table (or the review table)', () => {
    const c = serviceNowConnector.create(serviceNowConnector.configSchema.parse(configInput('http://127.0.0.1:9')), deps('servicenow-main'));
    expect(c.scope({ ticketId: SYS_ID, ticketKey: 'RITM0010001' })).toEqual({ ok: true });
    expect(c.scope({ ticketId: 'RITM0010001', ticketKey: 'RITM0010001' })).toEqual({ ok: false, detail: '"RITM0010001" is not a sys_id of the sc_req_item table' });
    expect(c.scope({ ticketId: `${SYS_ID}^ORnumber=1`, ticketKey: 'x' }).ok).toBe(false);
    expect(c.scope({ ticketId: SYS_ID, ticketKey: 'SCTASK0010001' }, 'review')).toEqual({ ok: true });
  });

  it('json-webhook: any ticket of its one source, and no review tickets', () => {
    const c = jsonWebhookConnector.create(
      JsonWebhookConfig.parse({ baseUrl: 'http://127.0.0.1:9', auth: { token: 't' }, webhook: { secret: 's' }, entitlements: {} }),
      deps('json-main'),
    );
    expect(c.scope({ ticketId: 'T-1', ticketKey: 'T-1' })).toEqual({ ok: true });
    expect(c.scope({ ticketId: 'x'.repeat(201), ticketKey: 'x' }).ok).toBe(false);
    expect(c.scope({ ticketId: 'T-1', ticketKey: 'T-1' }, 'review').ok).toBe(false);
  });
});
