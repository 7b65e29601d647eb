import type { Catalog, CatalogEntry } from '../catalog/catalog.js';
import type { Directory } from '../catalog/directory.js';
import { formatDuration } from '../catalog/duration.js';
import { clipText, isNhi, type Decision, type EntitlementRequest, type GrantDecision, type Reason, type RejectionDecision, type SubjectType } from '../model/index.js';
import { evaluateApprovals } from './approvals.js';
import { breakGlassHolder, checkBreakGlassLimit, type BreakGlassHoldings } from './break-glass-limit.js';
import { checkBreakGlassInvoker, checkJustification } from './entry-rules.js';
import { grantIdFor, rejectionIdFor } from './ids.js';

/** Policy version recorded in every decision when the configuration names none. */
export const DEFAULT_POLICY_VERSION = 'grantline-policy/1';

export interface DecideOptions {
  /** Recorded as `policy.version` and part of every id; the config supplies it. */
  readonly policyVersion?: string;
  /**
   * The active break-glass grants each person holds, for `breakGlass.maxActivePerPerson`. Absent
   * (`grantline evaluate`, which reads no Kafka): the per-person limit is not checked.
   */
  readonly breakGlassHoldings?: BreakGlassHoldings;
}

/** Most code points of the requester's own text quoted back in a reason, ellipsis included. */
const FREE_TEXT_QUOTE_MAX = 200;

function quote(text: string): string {
  return clipText(text.replace(/\s+/g, ' ').trim(), FREE_TEXT_QUOTE_MAX, '…');
}

/** What the subject turned out to be in the directory, when it could be resolved. */
interface ResolvedSubject {
  readonly type: SubjectType;
  readonly id: string;
  readonly ownerId: string | null;
  /** For NHIs, the one environment they live in. */
  readonly environment: string | null;
}

function checkRequester(request: EntitlementRequest, directory: Directory, reasons: Reason[]): string | null {
  const id = request.requester.principalId;
  const principal = id === null ? null : directory.principal(id);
  if (id === null || principal === null) {
    reasons.push({
      code: 'REQUESTER_UNKNOWN',
      message: `The requester (${request.requester.sourceIdentity.kind} ${request.requester.sourceIdentity.value}) is not in the grantline directory. Ask the identity team to add them, or file the ticket as someone who is.`,
      field: 'requester',
    });
    return null;
  }
  if (!principal.active) {
    reasons.push({ code: 'REQUESTER_UNKNOWN', message: `The requester ${id} is not an active person in the directory, so they cannot request access.`, field: 'requester' });
    return null;
  }
  return id;
}

function checkSubject(request: EntitlementRequest, directory: Directory, reasons: Reason[]): ResolvedSubject | null {
  const subject = request.subject;
  if (subject === null) {
    reasons.push({ code: 'MISSING_FIELD', message: 'The ticket does not say who or what gets the access. Fill in the subject field (a person or a non-human identity).', field: 'subject' });
    return null;
  }
  if (!isNhi(subject.type)) {
    const principal = directory.principal(subject.id);
    if (principal === null || !principal.active) {
      reasons.push({
        code: 'SUBJECT_UNKNOWN',
        message: `${subject.id} is ${principal === null ? 'not a person in the directory' : 'not an active person in the directory'}; access can only be granted to active people. Check the subject field.`,
        field: 'subject',
      });
      return null;
    }
    return { type: 'human', id: subject.id, ownerId: null, environment: null };
  }
  const nhi = directory.nhi(subject.id);
  if (nhi === null) {
    reasons.push({
      code: 'SUBJECT_UNKNOWN',
      message: `The ${subject.type} ${subject.id} is not registered in the directory. Register it with an owner first, then file the request again.`,
      field: 'subject',
    });
    return null;
  }
  if (nhi.type !== subject.type) {
    // The directory is authoritative: a ticket cannot relabel an identity to reach another entry.
    reasons.push({
      code: 'SUBJECT_UNKNOWN',
      message: `${subject.id} is a ${nhi.type} in the directory, not a ${subject.type}. Correct the subject type on the ticket.`,
      field: 'subject.type',
    });
  }
  if (nhi.owner === null || directory.principal(nhi.owner) === null) {
    reasons.push({
      code: 'OWNER_MISSING',
      message: `${subject.id} has no owner in the directory${nhi.owner === null ? '' : ` (${nhi.owner} is unknown)`}. Every non-human identity needs an active owner; ask the identity team to assign one.`,
      field: 'subject',
    });
    return { type: nhi.type, id: nhi.id, ownerId: null, environment: nhi.environment };
  }
  if (directory.principal(nhi.owner)?.active !== true) {
    reasons.push({
      code: 'OWNER_INACTIVE',
      message: `${subject.id}'s owner ${nhi.owner} is no longer active. Ask the identity team to assign a new owner before requesting access for it.`,
      field: 'subject',
    });
    return { type: nhi.type, id: nhi.id, ownerId: null, environment: nhi.environment };
  }
  return { type: nhi.type, id: nhi.id, ownerId: nhi.owner, environment: nhi.environment };
}

function checkEntry(request: EntitlementRequest, catalog: Catalog, reasons: Reason[]): CatalogEntry | null {
  if (request.entitlementId === null) {
    const wrote = quote(request.freeText);
    reasons.push({
      code: 'FREE_TEXT_REQUEST',
      message: `Choose an entitlement from the catalog field; free text cannot be granted.${wrote === '' ? '' : ` You wrote: "${wrote}"`}`,
      field: 'entitlementId',
    });
    return null;
  }
  const entry = catalog.get(request.entitlementId);
  if (entry === null) {
    reasons.push({
      code: 'UNMAPPED_ENTITLEMENT',
      message: `"${request.entitlementId}" is not an entitlement in the catalog. Choose one from the catalog field, or ask the catalog owners to add it.`,
      field: 'entitlementId',
    });
  }
  return entry;
}

function checkTarget(request: EntitlementRequest, entry: CatalogEntry | null, subject: ResolvedSubject | null, reasons: Reason[]): void {
  // A free-text ticket's fix is choosing an entitlement, which names the resource; no second reason.
  if (request.resource === null && request.entitlementId !== null) {
    reasons.push({ code: 'MISSING_FIELD', message: 'The ticket does not name the resource. Fill in the resource field.', field: 'resource' });
  } else if (request.resource !== null && entry !== null && request.resource !== entry.resource) {
    reasons.push({
      code: 'UNMAPPED_ENTITLEMENT',
      message: `${entry.id} grants access to ${entry.resource}, but the ticket asks for ${request.resource}. Choose the entitlement for ${request.resource}, or correct the resource.`,
      field: 'resource',
    });
  }
  if (request.environment === null) {
    reasons.push({ code: 'MISSING_FIELD', message: 'The ticket does not name the environment. Fill in the environment field.', field: 'environment' });
  } else {
    if (entry !== null && !entry.environments.includes(request.environment)) {
      reasons.push({
        code: 'ENVIRONMENT_NOT_ALLOWED',
        message: `${entry.id} is not available in ${request.environment}; it covers ${entry.environments.join(', ')}. Choose the entitlement for ${request.environment} or change the environment.`,
        field: 'environment',
      });
    }
    // An NHI lives in one environment; granting it access elsewhere would bridge environments.
    if (subject?.environment != null && subject.environment !== request.environment) {
      reasons.push({
        code: 'ENVIRONMENT_NOT_ALLOWED',
        message: `${subject.id} belongs to ${subject.environment} and cannot get access in ${request.environment}. Request it for an identity that lives in ${request.environment}.`,
        field: 'environment',
      });
    }
  }
  if (entry !== null && subject !== null && !entry.subjectTypes.includes(subject.type)) {
    reasons.push({
      code: 'SUBJECT_TYPE_NOT_ALLOWED',
      message: `${entry.id} cannot be granted to a ${subject.type}; it is for ${entry.subjectTypes.join(', ')}. Choose an entitlement meant for a ${subject.type}.`,
      field: 'subject.type',
    });
  }
}

/** The TTL to grant and where it came from, or null after recording why there is none (also what a pending request would get, `pending.ts`). */
export function checkTtl(request: EntitlementRequest, entry: CatalogEntry, reasons: Reason[]): { seconds: number; source: 'requested' | 'catalog-default' } | null {
  const requested = request.ttlSeconds;
  if (request.breakGlass) {
    if (!entry.breakGlass.allowed) {
      reasons.push({
        code: 'BREAK_GLASS_NOT_ALLOWED',
        message: `${entry.id} does not allow break-glass access. File a normal request with approvals, or choose an entitlement that allows break-glass.`,
        field: 'breakGlass',
      });
      return null;
    }
    const cap = entry.breakGlass.maxTtlSeconds;
    if (requested === undefined) return { seconds: cap, source: 'catalog-default' };
    if (requested > cap) {
      reasons.push({
        code: 'BREAK_GLASS_TTL_EXCEEDS_MAX',
        message: `Break-glass access to ${entry.id} lasts at most ${formatDuration(cap)}; the ticket asks for ${formatDuration(requested)}. Ask for ${formatDuration(cap)} or less.`,
        field: 'ttlSeconds',
      });
      return null;
    }
    return { seconds: requested, source: 'requested' };
  }
  if (requested === undefined) {
    if (entry.ttl.required || entry.ttl.defaultSeconds === undefined) {
      reasons.push({
        code: 'TTL_REQUIRED',
        message: `${entry.id} needs an explicit duration. Fill in the TTL field (at most ${formatDuration(entry.ttl.maxSeconds)}).`,
        field: 'ttlSeconds',
      });
      return null;
    }
    return { seconds: entry.ttl.defaultSeconds, source: 'catalog-default' };
  }
  if (requested > entry.ttl.maxSeconds) {
    // Never clamp: the approvers approved what was asked, not a shorter grant.
    reasons.push({
      code: 'TTL_EXCEEDS_MAX',
      message: `${entry.id} can be granted for at most ${formatDuration(entry.ttl.maxSeconds)}; the ticket asks for ${formatDuration(requested)}. Change the TTL to ${formatDuration(entry.ttl.maxSeconds)} or less (approvals must then be given again).`,
      field: 'ttlSeconds',
    });
    return null;
  }
  return { seconds: requested, source: 'requested' };
}

/**
 * Decides a canonical entitlement request against the catalog and directory at `now`.
 *
 * Pure and deterministic: the same arguments give the same decision, ids included. Every failing rule
 * is reported, each with a stable code and a sentence the requester can act on. The Rejection's
 * `custody` and `signature` are left out; the pipeline adds them, as it turns a grant decision into a
 * signed `Grant`.
 */
export function decide(request: EntitlementRequest, catalog: Catalog, directory: Directory, now: Date, options: DecideOptions = {}): Decision {
  const policyVersion = options.policyVersion ?? DEFAULT_POLICY_VERSION;
  if (Number.isNaN(now.getTime())) throw new RangeError('decide() needs a valid "now"');
  const decidedAt = now.toISOString();
  const reasons: Reason[] = [];

  if (!request.status.actionable) {
    reasons.push({
      code: 'TICKET_NOT_ACTIONABLE',
      message: `The ticket is in status "${request.status.name}", which is not open for a decision. Reopen it or file a new request.`,
      field: 'status',
    });
  }
  const requesterId = checkRequester(request, directory, reasons);
  const entry = checkEntry(request, catalog, reasons);
  const subject = checkSubject(request, directory, reasons);
  checkTarget(request, entry, subject, reasons);

  let ttl: { seconds: number; source: 'requested' | 'catalog-default' } | null = null;
  let approvals: GrantDecision['approvals'] = [];
  if (entry !== null) {
    checkJustification(request, entry, reasons);
    const invoker =
      !request.breakGlass ||
      (checkBreakGlassInvoker(entry, requesterId, directory, reasons) &&
        checkBreakGlassLimit(entry, request, breakGlassHolder(subject, requesterId), options.breakGlassHoldings, now, reasons));
    if (invoker) ttl = checkTtl(request, entry, reasons);
    const breakGlassAllowed = request.breakGlass && entry.breakGlass.allowed && invoker;
    // A refused break-glass is not judged as a normal request: its message says to file one.
    if (!request.breakGlass || breakGlassAllowed) {
      const outcome = evaluateApprovals(
        {
          entry,
          requesterId,
          filerId: request.filer?.principalId ?? null,
          subject: subject === null ? null : { type: subject.type, id: subject.id },
          subjectOwnerId: subject?.ownerId ?? null,
          nhiInProduction: subject !== null && isNhi(subject.type) && request.environment !== null && catalog.isProduction(request.environment),
          changes: request.changes,
          directory,
        },
        request,
        { preApproved: breakGlassAllowed },
      );
      reasons.push(...outcome.reasons);
      approvals = outcome.counted;
    }
  }

  const policy = { version: policyVersion, catalogVersion: catalog.version, directoryVersion: directory.version };
  const environment = request.environment;
  if (reasons.length > 0 || entry === null || ttl === null || subject === null || requesterId === null || environment === null) {
    if (reasons.length === 0) throw new Error('policy invariant broken: a refusal without a reason');
    const rejection: RejectionDecision = {
      outcome: 'rejected',
      rejectionId: rejectionIdFor({ requestId: request.requestId, catalogVersion: catalog.version, policyVersion, codes: reasons.map((r) => r.code) }),
      requestId: request.requestId,
      source: request.source,
      requester: request.requester,
      subject: request.subject,
      entitlementId: request.entitlementId,
      reasons,
      freeText: request.freeText,
      policy,
      decidedAt,
    };
    return rejection;
  }

  const validFrom = now.getTime();
  const grant: GrantDecision = {
    outcome: 'granted',
    grantId: grantIdFor({ requestId: request.requestId, entitlementId: entry.id, catalogVersion: catalog.version, policyVersion }),
    requestId: request.requestId,
    source: request.source,
    requester: { principalId: requesterId, sourceIdentity: request.requester.sourceIdentity },
    subject: { type: subject.type, id: subject.id },
    subjectOwnerPrincipalId: subject.ownerId,
    entitlementId: entry.id,
    entitlement: {
      id: entry.id,
      kind: entry.kind,
      system: entry.system,
      resource: entry.resource,
      sensitivity: entry.sensitivity,
      channel: entry.channel,
      catalogVersion: catalog.version,
    },
    resource: entry.resource,
    environment,
    justification: request.justification,
    approvals,
    validFrom: decidedAt,
    expiresAt: new Date(validFrom + ttl.seconds * 1000).toISOString(),
    ttlSeconds: ttl.seconds,
    ttlSource: ttl.source,
    breakGlass: {
      active: request.breakGlass,
      reviewDueAt: request.breakGlass && entry.breakGlass.allowed ? new Date(validFrom + entry.breakGlass.reviewWithinSeconds * 1000).toISOString() : null,
    },
    revocation: { triggers: [...entry.revocationTriggers] },
    ...(entry.ttlStartsAt === 'fulfillment' ? { ttlStartsAt: 'fulfillment' as const } : {}),
    policy,
    decidedAt,
  };
  return grant;
}
