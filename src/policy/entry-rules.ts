import type { CatalogEntry } from '../catalog/catalog.js';
import type { Directory } from '../catalog/directory.js';
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

/**
 * Whether the requester may invoke break-glass on an entry that allows it: where the entry names
 * `allowedGroups`, only their members may; anyone else is refused (and the request is not judged
 * as a normal one: the reason says to file one). An unknown requester is refused for that already.
 */
export function checkBreakGlassInvoker(entry: CatalogEntry, requesterId: string | null, directory: Directory, reasons: Reason[]): boolean {
  if (!entry.breakGlass.allowed || entry.breakGlass.allowedGroups === undefined) return true;
  if (requesterId === null) return false;
  const groups = entry.breakGlass.allowedGroups;
  if (groups.some((g) => directory.isMember(requesterId, g))) return true;
  reasons.push({
    code: 'BREAK_GLASS_NOT_ALLOWED',
    message: `${requesterId} may not invoke break-glass for ${entry.id}; only members of ${groups.join(' or ')} may. File a normal request with approvals, or ask someone in ${groups.join(' or ')} to invoke it.`,
    field: 'breakGlass',
  });
  return false;
}
