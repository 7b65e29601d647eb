import type { CatalogEntry } from '../catalog/catalog.js';
import type { EntitlementRequest, Reason } from '../model/index.js';

/** An entry with `justification: required` refuses a request that gives none (blank text and no code). */
export function checkJustification(request: EntitlementRequest, entry: CatalogEntry, reasons: Reason[]): void {
  if (entry.justification !== 'required') return;
  const { code, text } = request.justification;
  if (text.trim() !== '' || (code !== undefined && code.trim() !== '')) return;
  reasons.push({
    code: 'MISSING_FIELD',
    message: `${entry.id} needs a justification. Say in the justification field why the access is needed (the incident, change or task it is for).`,
    field: 'justification',
  });
}
