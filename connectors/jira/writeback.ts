import type { WriteBack } from '../../src/connector/contract.js';

/** The marker every grantline comment starts with; finding it on the ticket means "already written". */
export function markerFor(idempotencyKey: string): string {
  return `[grantline:${idempotencyKey.replace(/[\]\r\n]/g, '_')}]`;
}

/**
 * The comment text for a write-back: the marker line, then a statement a person on the ticket can act
 * on (grant id, entitlement, expiry; or every rejection reason with how to fix it).
 */
export function renderWriteBack(item: WriteBack, idempotencyKey: string): string {
  return `${markerFor(idempotencyKey)}\n${body(item)}`;
}

function body(item: WriteBack): string {
  switch (item.kind) {
    case 'decision': {
      const d = item.decision;
      if (d.outcome === 'granted') {
        const lines = [
          `Access granted: ${d.entitlementId} on ${d.resource} (${d.environment}) for ${d.subject.type} ${d.subject.id}.`,
          `Grant id: ${d.grantId}`,
          `Valid from ${d.validFrom} until ${d.expiresAt}${d.ttlSource === 'catalog-default' ? ' (the catalog default TTL: the ticket asked for none)' : ''}.`,
        ];
        if (d.breakGlass.active) lines.push(`Break-glass: a post-event review is due by ${d.breakGlass.reviewDueAt ?? 'the review deadline'}.`);
        return lines.join('\n');
      }
      return [
        'Access not granted. To fix the request:',
        ...d.reasons.map((r) => `- ${r.code}: ${r.message}`),
        `Rejection id: ${d.rejectionId}`,
      ].join('\n');
    }
    case 'revocation': {
      const r = item.revocation;
      return `Access revoked: grant ${r.grantId} (${r.entitlementId}) ended at ${r.revokedAt}: ${r.reason} [${r.trigger}].`;
    }
    case 'fulfillment': {
      const f = item.result;
      return `Fulfillment: ${f.adapter} reports grant ${f.grantId} ${f.status} (${f.action}, reference ${f.reference}) at ${f.at}.${f.detail === undefined ? '' : ` ${f.detail}`}`;
    }
    case 'review-opened':
      return `Post-event review opened for break-glass grant ${item.grantId}: ${item.reviewTicketKey} ${item.reviewUrl}`;
    case 'note':
      return item.text;
  }
}
