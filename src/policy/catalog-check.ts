import { CatalogDocument, CatalogEntry, checkEntryGroups, formatDuration, formatPath, parseDuration, type Directory } from '../catalog/index.js';
import { NHI_SUBJECT_TYPES } from '../model/index.js';
import { describeRequirement, fillSlots, namedGroups, slotsFor, type ApprovalContext } from './approvals.js';

/** What kind of problem a catalog has. */
export type CatalogProblemCode =
  /** A field the catalog schema refuses: the catalog would not load. */
  | 'invalid'
  /** A default TTL (or a break-glass cap, which is its default) above the entry's maximum: would not load. */
  | 'ttl-default-above-cap'
  /** An approver or break-glass group the directory does not define: would not load beside this directory. */
  | 'unknown-group'
  /** A group the catalog names that has no active member. */
  | 'empty-group'
  /** An entry whose required approvers cannot all be found among the directory's active people. */
  | 'no-approvers'
  /** Break-glass allowed only to groups nobody active is in. */
  | 'break-glass-unreachable';

export interface CatalogProblem {
  readonly code: CatalogProblemCode;
  /** Where in the catalog, e.g. `entitlements[2].approvers`; empty for the document itself. */
  readonly path: string;
  /** The entry's id, when the problem is one entry's. */
  readonly entry: string | null;
  readonly message: string;
}

const TTL_CAP_PATHS = [/^entitlements\[\d+\]\.ttl\.defaultSeconds$/, /^entitlements\[\d+\]\.breakGlass\.maxTtlSeconds$/];

/**
 * Every problem a catalog has, without stopping at the first or at what would make loading fail:
 * schema errors (with TTL defaults above their cap told apart), approver and break-glass groups the
 * directory lacks or nobody active is in, entries nobody can approve, break-glass nobody may invoke.
 * `value` is the parsed YAML; `principals` every principal id of the directory (active or not).
 * Entries that do not validate on their own are checked no further.
 */
export function checkCatalog(value: unknown, directory: Directory, principals: readonly string[]): CatalogProblem[] {
  const problems: CatalogProblem[] = [];
  const rawEntries = rawEntitlements(value);
  const idOf = (index: number): string | null => {
    const id = (rawEntries[index] as { id?: unknown } | undefined)?.id;
    return typeof id === 'string' ? id : null;
  };

  const whole = CatalogDocument.safeParse(value);
  let entries: { entry: CatalogEntry; index: number }[];
  let production: readonly string[];
  if (whole.success) {
    entries = whole.data.entitlements.map((entry, index) => ({ entry, index }));
    production = whole.data.productionEnvironments;
  } else {
    for (const issue of whole.error.issues) {
      const path = formatPath(issue.path);
      const index = typeof issue.path[1] === 'number' && issue.path[0] === 'entitlements' ? issue.path[1] : null;
      const capped = issue.code === 'custom' && TTL_CAP_PATHS.some((p) => p.test(path));
      problems.push({ code: capped ? 'ttl-default-above-cap' : 'invalid', path, entry: index === null ? null : idOf(index), message: capped ? ttlCapMessage(rawEntries[index ?? -1], path) : issue.message });
    }
    entries = rawEntries.flatMap((raw, index) => {
      const parsed = CatalogEntry.safeParse(raw);
      return parsed.success ? [{ entry: parsed.data, index }] : [];
    });
    const envs = (value as { productionEnvironments?: unknown } | null)?.productionEnvironments;
    production = Array.isArray(envs) && envs.every((e) => typeof e === 'string') ? envs : ['prod'];
  }

  const people = principals.filter((id) => directory.principal(id)?.active === true);
  const emptyGroups = new Map<string, { path: string; entries: string[] }>();
  const noteGroup = (group: string, path: string, entry: string) => {
    if (!directory.hasGroup(group) || people.some((p) => directory.isMember(p, group))) return;
    const seen = emptyGroups.get(group) ?? { path, entries: [] };
    if (!seen.entries.includes(entry)) seen.entries.push(entry);
    emptyGroups.set(group, seen);
  };

  for (const { entry, index } of entries) {
    for (const issue of checkEntryGroups(entry, index, directory)) problems.push({ code: 'unknown-group', path: issue.path, entry: entry.id, message: issue.message });
    for (const group of namedGroups(entry)) noteGroup(group, `entitlements[${index}].approvers`, entry.id);
    const breakGlassGroups = entry.breakGlass.allowed ? (entry.breakGlass.allowedGroups ?? []) : [];
    for (const group of breakGlassGroups) noteGroup(group, `entitlements[${index}].breakGlass.allowedGroups`, entry.id);
    problems.push(...approvability(entry, index, production, people, directory));
    if (breakGlassGroups.length > 0 && !people.some((p) => breakGlassGroups.some((g) => directory.isMember(p, g)))) {
      problems.push({
        code: 'break-glass-unreachable',
        path: `entitlements[${index}].breakGlass.allowedGroups`,
        entry: entry.id,
        message: `entry "${entry.id}" allows break-glass only to ${breakGlassGroups.join(' or ')}, and no active person is in ${breakGlassGroups.length === 1 ? 'it' : 'any of them'}: nobody can invoke it`,
      });
    }
  }
  for (const [group, seen] of emptyGroups) {
    problems.push({
      code: 'empty-group',
      path: seen.path,
      entry: null,
      message: `group "${group}" has no active member, yet ${seen.entries.map((e) => `"${e}"`).join(', ')} ${seen.entries.length === 1 ? 'names' : 'name'} it`,
    });
  }
  return problems;
}

function rawEntitlements(value: unknown): unknown[] {
  const list = (value as { entitlements?: unknown } | null)?.entitlements;
  return Array.isArray(list) ? list : [];
}

function ttlCapMessage(raw: unknown, path: string): string {
  const entry = raw as { id?: unknown; ttl?: { defaultSeconds?: unknown; maxSeconds?: unknown }; breakGlass?: { maxTtlSeconds?: unknown } } | undefined;
  const seconds = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? parseDuration(v) : null);
  const max = seconds(entry?.ttl?.maxSeconds);
  const breakGlass = path.endsWith('breakGlass.maxTtlSeconds');
  const value = seconds(breakGlass ? entry?.breakGlass?.maxTtlSeconds : entry?.ttl?.defaultSeconds);
  const what = breakGlass ? 'break-glass cap (its default TTL)' : 'default TTL';
  if (max === null || value === null) return `the ${what} is above ttl.maxSeconds`;
  return `the ${what} ${formatDuration(value)} is above the entry's cap, ttl.maxSeconds ${formatDuration(max)}: a request taking the default could never be granted`;
}

/**
 * Can the entry's approvals ever be given? For requests about a human and about an NHI in
 * production (which may need more people), counts how many required approver positions distinct
 * active people can fill. A human subject's manager may fill one where the entry allows managers.
 */
function approvability(entry: CatalogEntry, index: number, production: readonly string[], people: readonly string[], directory: Directory): CatalogProblem[] {
  const nhiTypes = entry.subjectTypes.filter((t) => NHI_SUBJECT_TYPES.includes(t));
  const scenarios: { nhiInProduction: boolean; label: string }[] = [];
  if (entry.subjectTypes.includes('human') || nhiTypes.length > 0) scenarios.push({ nhiInProduction: false, label: '' });
  if (nhiTypes.length > 0 && entry.environments.some((e) => production.includes(e))) scenarios.push({ nhiInProduction: true, label: ' for a non-human identity in production' });
  const out: CatalogProblem[] = [];
  for (const scenario of scenarios) {
    const ctx: ApprovalContext = { entry, requesterId: null, filerId: null, subject: null, subjectOwnerId: null, nhiInProduction: scenario.nhiInProduction, changes: [], directory };
    const slots = slotsFor(ctx);
    const filled = fillSlots(ctx, people, slots);
    const manager = entry.managerMayApprove && entry.subjectTypes.includes('human') && !scenario.nhiInProduction ? 1 : 0;
    if (filled + manager >= slots.length) continue;
    const requirement = describeRequirement(ctx);
    out.push({
      code: 'no-approvers',
      path: `entitlements[${index}].approvers`,
      entry: entry.id,
      message: `entry "${entry.id}" needs ${slots.length} distinct approver${slots.length === 1 ? '' : 's'}${scenario.label} (${requirement}), ${filled === 0 ? 'but no active person in those groups can fill them' : `but only ${filled} active ${filled === 1 ? 'person' : 'people'} in those groups can fill them`}${manager === 1 ? ' (a manager one more)' : ''}: no such request can be approved`,
    });
    break; // The NHI case only adds positions; one problem per entry says it.
  }
  return out;
}
