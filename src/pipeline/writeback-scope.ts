import type { Connector } from '../connector/contract.js';
import type { WritebackTask } from '../model/index.js';

/**
 * Why the write-back worker must not perform `task`: it names a ticket outside its connector's
 * configured scope (`Connector.scope`: Jira's projects, ServiceNow's tables, a json-webhook
 * source's paths), or, for a `review-overdue` escalation, a review ticket outside the review
 * scope. Null when it may be performed. A task whose connector is not configured is left to the
 * worker, which dead-letters it. Pure: the worker refuses a task this names (DLQ
 * `writeback.trust`, `grantline_messages_refused_total{reason="out-of-scope"}`, `message.refused`).
 */
export function writebackOutOfScope(connectors: ReadonlyMap<string, Pick<Connector, 'scope'>>, task: WritebackTask): string | null {
  const connector = connectors.get(task.connectorId);
  if (connector === undefined) return null;
  const checked = connector.scope({ ticketId: task.ticketId, ticketKey: task.ticketKey });
  if (!checked.ok) return `connector ${task.connectorId}: ${checked.detail}`;
  const review = task.item.kind === 'review-overdue' ? task.item.review : null;
  if (review === null) return null;
  const reviewChecked = connector.scope(review, 'review');
  return reviewChecked.ok ? null : `connector ${task.connectorId}, review ticket: ${reviewChecked.detail}`;
}
