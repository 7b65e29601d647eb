import { markerFor, plainNote, renderNote, type Note } from '../../src/connector/note.js';
import type { WriteBack, WriteBackOptions, WriteBackResult } from '../../src/connector/contract.js';
import { adfParagraph as paragraph, adfTextNode as text, type AdfNode, type JiraCommentBody } from './adf.js';
import type { JiraApi } from './client.js';
import type { JiraConfig } from './config.js';
import { plainText } from './records.js';

/** The core's note as Jira writes it: a paragraph a line, the reasons as a bullet list, each code in bold. */
export function formatNote(note: Note): JiraCommentBody {
  const content: AdfNode[] = [paragraph([text(note.marker)]), ...note.lines.map((line) => paragraph(line === '' ? [] : [text(line)]))];
  if (note.reasons.length > 0) {
    content.push({
      type: 'bulletList',
      content: note.reasons.map((r) => ({ type: 'listItem', content: [paragraph([text(r.code, true), text(`: ${r.message} How to fix: ${r.fix}`)])] })),
    });
  }
  return { text: plainNote(note), adf: { type: 'doc', version: 1, content } };
}

/** The comment for one write-back item. */
export function renderWriteBack(item: WriteBack, idempotencyKey: string): JiraCommentBody {
  return formatNote(renderNote(item, idempotencyKey));
}

/**
 * Comments on the issue once per idempotency key: reads the comments first and writes nothing when
 * the marker is already there (skipped when the caller knows no such note can exist). An internal
 * JSM comment with JSM approvals, else a plain comment restricted to the configured visibility.
 */
export async function writeComment(
  api: JiraApi,
  config: Pick<JiraConfig, 'approvals' | 'writeBack'>,
  ticketId: string,
  item: WriteBack,
  idempotencyKey: string,
  options: WriteBackOptions = {},
): Promise<WriteBackResult> {
  const marker = markerFor(idempotencyKey);
  // Check-then-post: the processor handles one ticket at a time (Kafka key = ticket), so no race here.
  if (options.knownAbsent !== true) {
    const existing = (await api.getComments(ticketId)).find((c) => plainText(c.body).includes(marker));
    if (existing !== undefined) return { written: false, recordId: existing.id };
  }
  const body = renderWriteBack(item, idempotencyKey);
  const added = config.approvals.mode === 'jsm' ? await api.addInternalRequestComment(ticketId, body.text) : await api.addComment(ticketId, body, config.writeBack.visibility);
  return { written: true, recordId: added.id, ...(added.createdAt === null ? {} : { ticketUpdatedAt: added.createdAt }) };
}

/**
 * A note on a post-event review issue, once per idempotency key. The review project is not a
 * service desk: a plain comment with the configured visibility, seen by whoever works the review.
 */
export function writeReviewNote(api: JiraApi, config: Pick<JiraConfig, 'writeBack'>, reviewTicketId: string, text: string, idempotencyKey: string): Promise<WriteBackResult> {
  return writeComment(api, { approvals: { mode: 'workflow' }, writeBack: config.writeBack }, reviewTicketId, { kind: 'note', text }, idempotencyKey);
}
