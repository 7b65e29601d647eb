import { defineConnector } from '../../src/connector/contract.js';
import type { Connector, ConnectorDeps, ReviewState, ReviewTicket, TicketSnapshot, WriteBackResult } from '../../src/connector/contract.js';
import type { GrantDecision } from '../../src/model/index.js';
import { JiraApi } from './client.js';
import { JiraConfig } from './config.js';
import { identifyJiraDelivery } from './identify.js';
import { JiraSnapshotRaw, mapJiraSnapshot } from './map.js';
import { pollJira } from './poll.js';
import { plainText, toIso } from './vendor.js';
import { verifyJiraDelivery } from './verify.js';
import { markerFor, renderWriteBack } from './writeback.js';

export { JiraConfig } from './config.js';
export type { JiraConfigInput } from './config.js';
export { signJiraBody } from './verify.js';

/** Builds one Jira connector instance. Exported for tests that need the concrete type. */
export function createJiraConnector(config: JiraConfig, deps: ConnectorDeps): Connector {
  const api = new JiraApi(config);
  const log = deps.logger.child({ connector: deps.connectorId });
  const ctx = { connectorId: deps.connectorId, config, directory: deps.directory };
  const jsm = config.approvals.mode === 'jsm';

  return {
    id: deps.connectorId,
    type: 'jira',
    instanceUrl: config.baseUrl,
    verify: (delivery) => verifyJiraDelivery(config.webhook, delivery),
    identify: (delivery) => identifyJiraDelivery(config.projects, delivery),

    async fetchTicket(ticketId: string): Promise<TicketSnapshot> {
      const issue = await api.getIssue(ticketId);
      // Comments and approvals by the id Jira returned, not the one the delivery claimed.
      const [comments, approvals] = await Promise.all([api.getAllComments(issue), jsm ? api.getApprovals(issue.id) : Promise.resolve(null)]);
      const raw: JiraSnapshotRaw = { deployment: config.deployment, issue, comments, approvals };
      return { ticketId: issue.id, ticketKey: issue.key, fetchedAt: new Date().toISOString(), raw };
    },

    map: (snapshot) => mapJiraSnapshot(snapshot, ctx),

    async writeBack(ticketId, item, idempotencyKey): Promise<WriteBackResult> {
      const marker = markerFor(idempotencyKey);
      // Check-then-post: the processor handles one ticket at a time (Kafka key = ticket), so no race here.
      const existing = (await api.getComments(ticketId)).find((c) => plainText(c.body).includes(marker));
      if (existing !== undefined) return { written: false, recordId: existing.id };
      const text = renderWriteBack(item, idempotencyKey);
      const recordId = jsm ? await api.addInternalRequestComment(ticketId, text) : await api.addComment(ticketId, text, config.writeBack.visibility);
      log.info({ ticket: ticketId, kind: item.kind, recordId }, 'wrote back to the ticket');
      return { written: true, recordId };
    },

    async openReview(ticketId: string, grant: GrantDecision): Promise<ReviewTicket> {
      if (config.review === undefined) throw new Error(`connector ${deps.connectorId}: no review project configured (review.projectKey)`);
      const review = config.review;
      const label = `grantline-review-${grant.grantId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      // Opened once per grant: a retry finds the labelled review instead of opening a second one.
      const found = await api.search(`project = "${review.projectKey}" AND labels = "${label}" ORDER BY created ASC`, null, 1);
      const hit = found.issues[0];
      if (hit !== undefined) return { ticketId: hit.id, ticketKey: hit.key, url: `${config.baseUrl}/browse/${hit.key}` };
      const original = await api.getIssue(ticketId);
      const created = await api.createIssue({
        projectKey: review.projectKey,
        issueType: review.issueType,
        summary: `Post-event review: break-glass grant ${grant.grantId} (${original.key})`,
        description: [
          `Break-glass access was granted without prior approval and needs a review.`,
          `Ticket: ${original.key}`,
          `Grant: ${grant.grantId}`,
          `Entitlement: ${grant.entitlementId} on ${grant.resource} (${grant.environment})`,
          `Subject: ${grant.subject.type} ${grant.subject.id}`,
          `Valid ${grant.validFrom} until ${grant.expiresAt}; review due ${grant.breakGlass.reviewDueAt ?? 'n/a'}.`,
        ].join('\n'),
        labels: ['grantline', label],
      });
      await api.linkIssues(review.linkType, created.key, original.key);
      return { ticketId: created.id, ticketKey: created.key, url: `${config.baseUrl}/browse/${created.key}` };
    },

    async noteReview(review: ReviewTicket, text: string, idempotencyKey: string): Promise<WriteBackResult> {
      const marker = markerFor(idempotencyKey);
      const existing = (await api.getComments(review.ticketId)).find((c) => plainText(c.body).includes(marker));
      if (existing !== undefined) return { written: false, recordId: existing.id };
      // The review project is not a service desk: a plain comment, seen by whoever works the review.
      const recordId = await api.addComment(review.ticketId, renderWriteBack({ kind: 'note', text }, idempotencyKey), config.writeBack.visibility);
      log.info({ ticket: review.ticketKey, recordId }, 'wrote a note on the review ticket');
      return { written: true, recordId };
    },

    async reviewState(review: ReviewTicket): Promise<ReviewState> {
      const issue = await api.getIssue(review.ticketId);
      const closed = issue.fields.status?.statusCategory?.key === 'done';
      if (!closed) return { closed: false, outcome: null, closedAt: null };
      const outcome = (issue.fields.resolution?.name ?? issue.fields.status?.name ?? 'closed').toLowerCase();
      return { closed: true, outcome, closedAt: toIso(issue.fields.resolutiondate) ?? toIso(issue.fields.updated) };
    },

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
  create: createJiraConnector,
});
