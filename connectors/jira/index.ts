import { defineConnector } from '../../src/connector/contract.js';
import type { Connector, ConnectorDeps, ScopeCheck, TicketRef, TicketSnapshot } from '../../src/connector/contract.js';
import { JiraApi } from './client.js';
import { JiraConfig } from './config.js';
import { identifyJiraDelivery, projectOfKey } from './identify.js';
import { fetchIssue } from './fetch.js';
import { JiraSnapshotRaw, mapJiraSnapshot } from './map.js';
import { pollJira } from './poll.js';
import { openReviewIssue, readReviewState } from './review.js';
import { verifyJiraDelivery } from './verify.js';
import { writeComment, writeReviewNote } from './writeback.js';

export { JiraConfig } from './config.js';
export type { JiraConfigInput } from './config.js';
export { signJiraBody } from './verify.js';

/** Builds one Jira connector instance. Exported for tests that need the concrete type. */
export function createJiraConnector(config: JiraConfig, deps: ConnectorDeps): Connector {
  const api = new JiraApi(config);
  const log = deps.logger.child({ connector: deps.connectorId });
  const ctx = { connectorId: deps.connectorId, config, directory: deps.directory };

  return {
    id: deps.connectorId,
    type: 'jira',
    instanceUrl: config.baseUrl,
    verify: (delivery) => verifyJiraDelivery(config.webhook, delivery),
    identify: (delivery) => identifyJiraDelivery(config.projects, delivery),

    fetchTicket: (ticketId) => fetchIssue(api, config, ticketId),

    map: (snapshot) => mapJiraSnapshot(snapshot, ctx),

    scope: (ticket, kind = 'ticket') => jiraScope(kind === 'review' ? (config.review === undefined ? [] : [config.review.projectKey]) : config.projects, ticket),

    // Addressed by the issue key that `scope` judged (Jira takes an id or a key), never by the id alone.
    async writeBack(ticket, item, idempotencyKey, options) {
      const result = await writeComment(api, config, ticket.ticketKey, item, idempotencyKey, options);
      if (result.written) log.info({ ticket: ticket.ticketKey, kind: item.kind, recordId: result.recordId }, 'wrote back to the ticket');
      return result;
    },

    openReview: (ticket, grant) => openReviewIssue(api, config, deps.connectorId, ticket.ticketKey, grant),
    noteReview: async (review, text, idempotencyKey) => {
      const result = await writeReviewNote(api, config, review.ticketKey, text, idempotencyKey);
      if (result.written) log.info({ ticket: review.ticketKey, recordId: result.recordId }, 'wrote a note on the review ticket');
      return result;
    },
    reviewState: (review) => readReviewState(api, review),

    poll: (watermark, since) =>
      pollJira((jql, cursor, max) => api.search(jql, cursor, max), { projects: config.projects, timeZone: config.poll.timeZone, jql: config.poll.jql, pageSize: config.poll.pageSize }, watermark, since),

    isCancelled(snapshot: TicketSnapshot): boolean {
      const raw = JiraSnapshotRaw.parse(snapshot.raw);
      const name = (raw.issue.fields.status?.name ?? '').toLowerCase();
      return config.statuses.cancelled.some((s) => s.toLowerCase() === name);
    },
  };
}

/** A Jira ticket is in scope when its key is an issue key of one of the configured projects. */
export function jiraScope(projects: readonly string[], ticket: TicketRef): ScopeCheck {
  const project = projectOfKey(ticket.ticketKey);
  if (project === null) return { ok: false, detail: `"${ticket.ticketKey.slice(0, 40)}" is not a Jira issue key` };
  if (!projects.includes(project)) return { ok: false, detail: `issue ${ticket.ticketKey} is in project ${project}, not one of the configured projects (${projects.join(', ') || 'none'})` };
  return { ok: true };
}

/** The Jira connector type (Cloud, Data Center, Service Management). Registered as `jira`. */
export const jiraConnector = defineConnector({
  type: 'jira',
  configSchema: JiraConfig,
  kinds: {
    // Cloud names people by accountId; Data Center by username, then user key.
    identities: [
      { kind: 'jira-account-id', directoryField: 'jiraAccountId' },
      { kind: 'jira-username', directoryField: 'jiraUsername' },
      { kind: 'jira-user-key', directoryField: 'jiraUserKey' },
    ],
    evidence: [
      { kind: 'jsm-approval', structured: true },
      { kind: 'workflow-transition', structured: true },
    ],
  },
  create: createJiraConnector,
});
