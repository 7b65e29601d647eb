import { formatDuration } from '../catalog/duration.js';
import type { WhatIfChange, WhatIfDifference, WhatIfReport } from '../policy/index.js';

const CHANGE_LABEL: Record<WhatIfChange, string> = {
  'granted-to-rejected': 'granted → rejected',
  'rejected-to-granted': 'rejected → granted',
  'reasons-changed': 'rejected, other reasons',
  'ttl-changed': 'granted, other duration',
};

function why(d: WhatIfDifference): string {
  switch (d.change) {
    case 'granted-to-rejected':
    case 'reasons-changed':
      return d.after.reasons.map((r) => `${r.code}: ${r.message}`).join(' | ');
    case 'rejected-to-granted':
      return `granted for ${formatDuration(d.after.ttlSeconds ?? 0)}; was refused for ${d.before.reasons.join(', ')}`;
    case 'ttl-changed':
      return `${formatDuration(d.before.ttlSeconds ?? 0)} → ${formatDuration(d.after.ttlSeconds ?? 0)}`;
  }
}

/** The report as a person reads it: a summary line per kind of change, then one row per changed decision. */
export function formatWhatIf(report: WhatIfReport, scope: { catalog: string; directory: string; since: string | null }): string {
  const lines = [
    `re-decided ${report.decided} decision${report.decided === 1 ? '' : 's'}${scope.since === null ? '' : ` taken since ${scope.since}`} under ${scope.catalog} (${report.catalogVersion}) and ${scope.directory} (${report.directoryVersion})`,
    `  unchanged                ${report.unchanged}`,
    ...(Object.keys(CHANGE_LABEL) as WhatIfChange[]).map((c) => `  ${CHANGE_LABEL[c].padEnd(24)} ${report.counts[c]}`),
  ];
  if (report.differences.length === 0) return [...lines, '', 'nothing would change'].join('\n');
  const rows = report.differences.map((d) => [d.ticket.ticketKey, d.decidedAt.replace(/\.\d{3}Z$/, 'Z'), d.entitlementId ?? '(free text)', CHANGE_LABEL[d.change], why(d)]);
  const header = ['ticket', 'decided at', 'entitlement', 'change', 'why'];
  const widths = header.slice(0, 4).map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const row = (cells: string[]) => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i] as number) : c)).join('  ');
  return [...lines, '', row(header), ...rows.map(row)].join('\n');
}
