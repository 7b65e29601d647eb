import { defineConnector } from '../../src/connector/contract.js';
import type { Connector, ConnectorDeps, TicketSnapshot } from '../../src/connector/contract.js';
import { JiraApi } from './client.js';
import { JiraConfig } from './config.js';
import { identifyJiraDelivery } from './identify.js';
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

    async writeBack(ticketId, item, idempotencyKey) {
      const result = await writeComment(api, config, ticketId, item, idempotencyKey);
      if (result.written) log.info({ ticket: ticketId, kind: item.kind, recordId: result.recordId }, 'wrote back to the ticket');
      return result;
    },

    openReview: (ticketId, grant) => openReviewIssue(api, config, deps.connectorId, ticketId, grant),
    noteReview: async (review, text, idempotencyKey) => {
      const result = await writeReviewNote(api, config, review.ticketId, text, idempotencyKey);
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
