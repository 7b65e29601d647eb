/**
 * What grantline writes on a ticket, rendered once for every source. Connectors only format the
 * result for their vendor (ADF for Jira, a plain work note for ServiceNow).
 */

const MARKER_OPEN = '[grantline:';

/**
 * The marker a grantline note carries: finding it on the ticket means "already written", and a
 * comment that carries one is grantline's own, never anybody's opinion. The key is made one line
 * without `]` so the marker cannot be cut short or spread over lines.
 */
export function markerFor(idempotencyKey: string): string {
  return `${MARKER_OPEN}${idempotencyKey.replace(/[\]\r\n]/g, '_')}]`;
}

/** Whether a comment's text is one of grantline's own notes. */
export function isGrantlineNote(text: string): boolean {
  return text.includes(MARKER_OPEN);
}
