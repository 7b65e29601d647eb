import type { Catalog, CatalogEntry } from './catalog.js';
import type { Directory, Principal } from './directory.js';
import type { DocumentIssue } from './errors.js';

/**
 * Cross-checks a catalog against a directory: every approver group, and every group allowed to
 * invoke break-glass, an entry names must exist. Returns every problem (empty when consistent), each
 * at the catalog path that names the group; loading and reloading the two documents refuse a pair
 * with any.
 */
export function checkCatalogAgainstDirectory(catalog: Catalog, directory: Directory): DocumentIssue[] {
  return catalog.entries().flatMap((entry, index) => checkEntryGroups(entry, index, directory));
}

/** The groups one entry (at `entitlements[index]`) names that the directory does not define. */
export function checkEntryGroups(entry: CatalogEntry, index: number, directory: Pick<Directory, 'hasGroup'>): DocumentIssue[] {
  const issues: DocumentIssue[] = [];
  const groups = entry.approvers.kind === 'groups' ? entry.approvers.groups.map((g) => g.group) : entry.approvers.pool;
  for (const group of new Set(groups)) {
    if (!directory.hasGroup(group)) {
      issues.push({ path: `entitlements[${index}].approvers`, message: `entry "${entry.id}" names approver group "${group}", which the directory does not define` });
    }
  }
  for (const group of new Set(entry.breakGlass.allowed ? (entry.breakGlass.allowedGroups ?? []) : [])) {
    if (!directory.hasGroup(group)) {
      issues.push({ path: `entitlements[${index}].breakGlass.allowedGroups`, message: `entry "${entry.id}" lets group "${group}" invoke break-glass, which the directory does not define` });
    }
  }
  return issues;
}

/** Whether a principal id may act (sign a revocation, say): it must exist and be active. */
export type ActivePrincipalCheck =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly problem: 'unknown' | 'inactive'; readonly message: string };

/** Checks that `id` names an active principal of the directory; the message says which is wrong. */
export function checkActivePrincipal(directory: Pick<Directory, 'principal'>, id: string): ActivePrincipalCheck {
  const principal = directory.principal(id);
  if (principal === null) return { ok: false, problem: 'unknown', message: `"${id}" is not a principal in the directory` };
  if (!principal.active) return { ok: false, problem: 'inactive', message: `"${id}" (${principal.displayName}) is not active in the directory` };
  return { ok: true, principal };
}
