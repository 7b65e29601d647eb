import type { TicketSnapshot } from '../../src/connector/contract.js';
import type { JiraApi } from './client.js';
import type { JiraConfig } from './config.js';
import type { JiraSnapshotRaw } from './map.js';
import { toIso } from './records.js';

/**
 * Reads the authoritative state of one issue: the issue with its changelog, all its comments and,
 * with JSM approvals, its approval records. Comments and approvals are read by the id Jira
 * returned, not the one the delivery claimed.
 */
export async function fetchIssue(api: JiraApi, config: Pick<JiraConfig, 'deployment' | 'approvals'>, ticketId: string): Promise<TicketSnapshot> {
  const issue = await api.getIssue(ticketId);
  const [comments, approvals] = await Promise.all([api.getAllComments(issue), config.approvals.mode === 'jsm' ? api.getApprovals(issue.id) : Promise.resolve(null)]);
  const raw: JiraSnapshotRaw = { deployment: config.deployment, issue, comments, approvals };
  // The form poll.ts gives the same `updated` (toIso), so the poller's sighting of it is recognised.
  const updatedAt = toIso(issue.fields.updated);
  return { ticketId: issue.id, ticketKey: issue.key, fetchedAt: new Date().toISOString(), ...(updatedAt === null ? {} : { updatedAt }), raw };
}
