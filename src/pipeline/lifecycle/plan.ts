import { recordCommand, type IdentityLifecycleEvent, type LifecycleAlert, type RecordCommand, type RecordData, type RecordKind, type RevokeCommand, type TicketState, type TrackedGrant } from '../../model/index.js';
import { reviewOverdue } from '../../policy/review.js';
import { isActive, retirable } from '../ticket/state.js';

/** What the lifecycle needs of the directory: is this principal still active? */
export interface OwnerDirectory {
  principal(id: string): { active: boolean } | null;
}

export interface LifecycleSettings {
  /** After this long without an adapter's confirmation, a revocation is overdue: alert and re-send. */
  readonly revocationConfirmMs: number;
  /** Re-check the directory for inactive NHI owners this often. */
  readonly directoryCheckMs: number;
  /** A closed ticket with nothing pending is retired this long after it closed; absent: never. */
  readonly retireAfterMs?: number;
}

/** When a retirable ticket is retired (null: it is not retirable, or retirement is off). */
export function retireAt(state: TicketState, settings: Pick<LifecycleSettings, 'retireAfterMs'>): number | null {
  if (settings.retireAfterMs === undefined || !retirable(state)) return null;
  return Date.parse(state.closedAt) + settings.retireAfterMs;
}

export type LifecycleCommand = RevokeCommand | RecordCommand;

export interface LifecyclePlan {
  readonly commands: LifecycleCommand[];
  readonly alerts: LifecycleAlert[];
}

function ticketOf(state: TicketState) {
  return { connectorId: state.connectorId, ticketId: state.ticketId, ticketKey: state.ticketKey };
}

export function revoke(state: TicketState, grant: TrackedGrant, trigger: RevokeCommand['trigger'], reason: string, now: Date): RevokeCommand {
  return {
    kind: 'revoke',
    // Deterministic: planning the same thing twice asks for the same revocation.
    commandId: `${trigger}:${grant.grantId}`,
    connectorId: state.connectorId,
    ticketId: state.ticketId,
    grantId: grant.grantId,
    trigger,
    reason,
    actor: 'grantline/lifecycle',
    requestedAt: now.toISOString(),
  };
}

export function record<K extends RecordKind>(state: TicketState, grant: TrackedGrant, custodyKind: K, commandId: string, data: RecordData<K>, now: Date): RecordCommand {
  return recordCommand(
    { commandId, connectorId: state.connectorId, ticketId: state.ticketId, grantId: grant.grantId, requestId: grant.requestId, actor: 'grantline/lifecycle', at: now.toISOString() },
    custodyKind,
    data,
  );
}

/**
 * What the lifecycle must do now, given every ticket's state: revoke expired grants and grants of
 * inactive owners, raise overdue-revocation alerts (and have the revocation re-sent), escalate
 * break-glass reviews past their deadline. Pure: the same states and time give the same plan.
 */
export function planLifecycle(
  states: Iterable<TicketState>,
  now: Date,
  settings: LifecycleSettings,
  directory: OwnerDirectory | null,
): LifecyclePlan {
  const commands: LifecycleCommand[] = [];
  const alerts: LifecycleAlert[] = [];
  const t = now.getTime();
  for (const state of states) {
    const retireTime = retireAt(state, settings);
    if (retireTime !== null && retireTime <= t && settings.retireAfterMs !== undefined) {
      commands.push(
        recordCommand(
          { commandId: `ticket.retired:${state.connectorId}|${state.ticketId}:${state.version}`, connectorId: state.connectorId, ticketId: state.ticketId, grantId: null, requestId: null, actor: 'grantline/lifecycle', at: now.toISOString() },
          'ticket.retired',
          { closedAt: state.closedAt as string, retireAfterMs: settings.retireAfterMs },
        ),
      );
    }
    for (const grant of state.grants) {
      if (isActive(grant)) {
        if (Date.parse(grant.expiresAt) <= t) {
          commands.push(revoke(state, grant, 'ttl-expired', `the grant expired at ${grant.expiresAt}`, now));
          continue;
        }
        const owner = grant.subject.type === 'human' ? grant.subject.id : grant.subjectOwnerPrincipalId;
        const principal = owner === null || directory === null ? null : directory.principal(owner);
        if (owner !== null && directory !== null && (principal === null || !principal.active)) {
          commands.push(revoke(state, grant, 'owner-offboarded', `${owner}, the ${grant.subject.type === 'human' ? 'grantee' : `owner of ${grant.subject.id}`}, is no longer active in the directory`, now));
          continue;
        }
      } else if (grant.revocation !== null && grant.revocation.confirmedAt === null) {
        // One alert per confirmation period of silence, counted from the last alert: after downtime
        // (or a jump of the clock) a revocation is overdue once, not once per period missed.
        const last = grant.revocation.lastOverdueAt ?? null;
        const due = last !== null
          ? Date.parse(last) + settings.revocationConfirmMs
          : Date.parse(grant.revocation.revokedAt) + settings.revocationConfirmMs * (grant.revocation.overdueAlerts + 1);
        // An adapter that reports the revocation failed leaves the access in place: alert and re-send
        // at once, not after the confirmation period.
        const failedAt = grant.revocation.failedAt;
        const failedSinceLastAlert = failedAt !== null && (last === null || Date.parse(failedAt) > Date.parse(last));
        if (failedSinceLastAlert || t >= due) {
          const n = grant.revocation.overdueAlerts + 1;
          const failed = grant.revocation.failedAt !== null;
          const message = failed
            ? `revocation of ${grant.grantId} failed at the adapter (${grant.revocation.failedAt}); re-sent, attempt ${n + 1}`
            : `revocation of ${grant.grantId} not confirmed by any adapter ${Math.round((t - Date.parse(grant.revocation.revokedAt)) / 1000)} s after ${grant.revocation.revokedAt}; re-sent, attempt ${n + 1}`;
          commands.push(record(state, grant, 'revocation.overdue', `revocation.overdue:${grant.grantId}:${n}`, { revocationId: grant.revocation.revocationId, attempt: n + 1, message }, now));
          alerts.push({ alertId: `revocation.overdue:${grant.grantId}:${n}`, kind: failed ? 'revocation.failed' : 'revocation.overdue', grantId: grant.grantId, ticket: ticketOf(state), message, raisedAt: now.toISOString() });
        }
      }
      const bg = grant.breakGlass;
      if (bg !== null && bg.escalatedAt === null && reviewOverdue(grant, now)) {
        const message = `post-event review of break-glass grant ${grant.grantId} was due at ${bg.reviewDueAt} and is ${bg.review === null ? 'not opened' : `still open (${bg.review.ticketKey})`}`;
        commands.push(record(state, grant, 'review.overdue', `review.overdue:${grant.grantId}`, { reviewDueAt: bg.reviewDueAt, review: bg.review?.ticketKey ?? null, message }, now));
        alerts.push({ alertId: `review.overdue:${grant.grantId}`, kind: 'review.overdue', grantId: grant.grantId, ticket: ticketOf(state), message, raisedAt: now.toISOString() });
      }
    }
  }
  return { commands, alerts };
}

/** Grants an identity event ends: the principal's own, and those of NHIs the principal owns. */
export function grantsEndedBy(states: Iterable<TicketState>, event: IdentityLifecycleEvent, now: Date): RevokeCommand[] {
  const commands: RevokeCommand[] = [];
  for (const state of states) {
    for (const grant of state.grants) {
      if (!isActive(grant)) continue;
      const own = grant.subject.type === 'human' && grant.subject.id === event.principalId;
      const owned = grant.subject.type !== 'human' && grant.subjectOwnerPrincipalId === event.principalId;
      if (!own && !owned) continue;
      commands.push(
        revoke(
          state,
          grant,
          'owner-offboarded',
          own
            ? `${event.principalId} was offboarded (${event.source}, ${event.at})`
            : `${event.principalId}, owner of ${grant.subject.id}, was offboarded (${event.source}, ${event.at})`,
          now,
        ),
      );
    }
  }
  return commands;
}

/**
 * When the ticket next needs the lifecycle (ms since the epoch), by the same rules as
 * `planLifecycle`: an active grant's expiry, an unconfirmed revocation's next overdue time (at once
 * after a failure report), an open break-glass review's deadline. Null: nothing is ever due (the
 * periodic owner check and review polling are not time-scheduled).
 */
export function nextDueAt(state: TicketState, settings: Pick<LifecycleSettings, 'revocationConfirmMs' | 'retireAfterMs'>): number | null {
  let due: number | null = null;
  const at = (t: number): void => {
    if (!Number.isNaN(t) && (due === null || t < due)) due = t;
  };
  for (const grant of state.grants) {
    const r = grant.revocation;
    if (isActive(grant)) at(Date.parse(grant.expiresAt));
    else if (r !== null && r.confirmedAt === null) {
      const last = r.lastOverdueAt ?? null;
      at(last !== null ? Date.parse(last) + settings.revocationConfirmMs : Date.parse(r.revokedAt) + settings.revocationConfirmMs * (r.overdueAlerts + 1));
      if (r.failedAt !== null && (last === null || Date.parse(r.failedAt) > Date.parse(last))) at(Date.parse(r.failedAt));
    }
    const bg = grant.breakGlass;
    if (bg !== null && bg.escalatedAt === null && bg.review?.closed !== true) at(Date.parse(bg.reviewDueAt));
  }
  const retire = retireAt(state, settings);
  if (retire !== null) at(retire);
  return due;
}

/** Whether the ticket has a break-glass review open in its source (polled by the owner). */
export function hasOpenReview(state: TicketState): boolean {
  return state.grants.some((g) => g.breakGlass?.review != null && !g.breakGlass.review.closed);
}
