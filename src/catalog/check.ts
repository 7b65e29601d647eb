import type { Catalog } from './catalog.js';
import type { Directory } from './directory.js';
import type { DocumentIssue } from './errors.js';

/**
 * Cross-checks a catalog against a directory: every approver group an entry names must exist.
 * Returns the problems (empty when consistent); config loading turns them into a startup error.
 */
export function checkCatalogAgainstDirectory(catalog: Catalog, directory: Directory): DocumentIssue[] {
  const issues: DocumentIssue[] = [];
  catalog.entries().forEach((entry, index) => {
    const groups = entry.approvers.kind === 'groups' ? entry.approvers.groups.map((g) => g.group) : entry.approvers.pool;
    for (const group of new Set(groups)) {
      if (!directory.hasGroup(group)) {
        issues.push({ path: `entitlements[${index}].approvers`, message: `${entry.id}: group "${group}" is not in the directory` });
      }
    }
  });
  return issues;
}
