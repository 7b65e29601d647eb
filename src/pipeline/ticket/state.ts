import type { TicketState, TrackedGrant } from '../../model/index.js';
import { pushRecent } from './dedup.js';

/**
 * The ticket reducer: every change of a ticket's state is one of these facts, and `reduce` is the
 * only code that makes a new state from one. Pure: no ports, no I/O, no clock.
 */
export type TicketChange =
  | { readonly type: 'ticket-key'; readonly ticketKey: string }
  | { readonly type: 'delivery-seen'; readonly deliveryId: string }
  | { readonly type: 'command-seen'; readonly commandId: string }
  | { readonly type: 'custody-appended'; readonly head: { seq: number; hash: string } }
  | { readonly type: 'decided'; readonly lastDecision: NonNullable<TicketState['lastDecision']> }
  | { readonly type: 'grant-issued'; readonly grant: TrackedGrant }
  /** A live grant issued under an older request id form is tracked under the request's current id. */
  | { readonly type: 'request-id-adopted'; readonly grantId: string; readonly requestId: string }
  | { readonly type: 'grant-revoked'; readonly grantId: string; readonly revocation: NonNullable<TrackedGrant['revocation']> }
  | { readonly type: 'grant-provisioned'; readonly grantId: string; readonly at: string }
  | { readonly type: 'grant-amended'; readonly grantId: string; readonly expiresAt: string; readonly at: string }
  | { readonly type: 'revocation-reported'; readonly grantId: string; readonly status: 'revoked' | 'failed'; readonly at: string }
  | { readonly type: 'revocation-resent'; readonly grantId: string; readonly at: string }
  | { readonly type: 'review-opened'; readonly grantId: string; readonly review: { ticketId: string; ticketKey: string; url: string } }
  | { readonly type: 'review-closed'; readonly grantId: string; readonly outcome: string | null }
  | { readonly type: 'review-escalated'; readonly grantId: string; readonly at: string }
  /** The source ticket was seen closed (`closedAt`) or open again (null). */
  | { readonly type: 'source-status'; readonly closedAt: string | null }
  /** A note for the source ticket was queued (`queued`), or its write-back recorded (`written`). */
  | { readonly type: 'writeback-queued' | 'writeback-written'; readonly idempotencyKey: string }
  /** Drops grants whose story is over (revocation confirmed, review closed) to keep the state small. */
  | { readonly type: 'pruned' };

/** Whether a stored grant is still in force (issued and not revoked). */
export function isActive(grant: TrackedGrant): boolean {
  return grant.revocation === null;
}

/** Whether nothing more can happen to a grant: its revocation is confirmed and any review closed. */
export function storyOver(grant: TrackedGrant): boolean {
  return Boolean(grant.revocation?.confirmedAt) && (grant.breakGlass === null || grant.breakGlass.review?.closed === true);
}

/**
 * Whether the ticket may be retired (its state tombstoned): the source ticket is closed, every
 * grant's story is over (no active grant, no unconfirmed revocation, no open review), and no note
 * for the ticket is still to be written.
 */
export function retirable(state: TicketState): state is TicketState & { closedAt: string } {
  return typeof state.closedAt === 'string' && state.grants.every(storyOver) && (state.pendingWritebacks ?? []).length === 0;
}

/** A ticket the processor has not seen before. */
export function emptyState(connectorId: string, ticketId: string, ticketKey: string): TicketState {
  return { connectorId, ticketId, ticketKey, version: 0, recentDeliveryIds: [], recentCommandIds: [], lastDecision: null, grants: [], custodyHead: null };
}

function updateGrant(state: TicketState, grantId: string, update: (grant: TrackedGrant) => TrackedGrant): TicketState {
  return { ...state, grants: state.grants.map((g) => (g.grantId === grantId ? update(g) : g)) };
}

/** Applies one change. The version is not touched here: a batch of changes is one new version (`nextVersion`). */
export function reduce(state: TicketState, change: TicketChange): TicketState {
  switch (change.type) {
    case 'ticket-key':
      return { ...state, ticketKey: change.ticketKey };
    case 'delivery-seen':
      return { ...state, recentDeliveryIds: pushRecent(state.recentDeliveryIds, change.deliveryId) };
    case 'command-seen':
      return { ...state, recentCommandIds: pushRecent(state.recentCommandIds, change.commandId) };
    case 'custody-appended':
      return { ...state, custodyHead: change.head };
    case 'decided':
      return { ...state, lastDecision: change.lastDecision };
    case 'grant-issued':
      return { ...state, grants: [...state.grants, change.grant] };
    case 'request-id-adopted':
      return updateGrant(state, change.grantId, (g) => ({ ...g, requestId: change.requestId }));
    case 'grant-revoked':
      return updateGrant(state, change.grantId, (g) => ({ ...g, revocation: change.revocation }));
    case 'grant-provisioned':
      return updateGrant(state, change.grantId, (g) => ({ ...g, provisionedAt: change.at }));
    case 'grant-amended':
      return updateGrant(state, change.grantId, (g) => ({ ...g, expiresAt: change.expiresAt, amendedAt: change.at }));
    case 'revocation-reported':
      return updateGrant(state, change.grantId, (g) =>
        g.revocation === null
          ? g
          : {
              ...g,
              revocation: {
                ...g.revocation,
                confirmedAt: change.status === 'revoked' ? change.at : g.revocation.confirmedAt,
                failedAt: change.status === 'failed' ? change.at : g.revocation.failedAt,
              },
            },
      );
    case 'revocation-resent':
      return updateGrant(state, change.grantId, (g) =>
        g.revocation === null ? g : { ...g, revocation: { ...g.revocation, overdueAlerts: g.revocation.overdueAlerts + 1, lastOverdueAt: change.at } },
      );
    case 'review-opened':
      return updateGrant(state, change.grantId, (g) =>
        g.breakGlass === null ? g : { ...g, breakGlass: { ...g.breakGlass, review: { ...change.review, closed: false, outcome: null } } },
      );
    case 'review-closed':
      return updateGrant(state, change.grantId, (g) =>
        g.breakGlass?.review ? { ...g, breakGlass: { ...g.breakGlass, review: { ...g.breakGlass.review, closed: true, outcome: change.outcome } } } : g,
      );
    case 'review-escalated':
      return updateGrant(state, change.grantId, (g) => (g.breakGlass === null ? g : { ...g, breakGlass: { ...g.breakGlass, escalatedAt: change.at } }));
    case 'source-status':
      return { ...state, closedAt: change.closedAt };
    case 'writeback-queued': {
      const pending = state.pendingWritebacks ?? [];
      return pending.includes(change.idempotencyKey) ? state : { ...state, pendingWritebacks: [...pending, change.idempotencyKey] };
    }
    case 'writeback-written': {
      const pending = state.pendingWritebacks ?? [];
      if (!pending.includes(change.idempotencyKey)) return state;
      const rest = pending.filter((k) => k !== change.idempotencyKey);
      // Absent when empty: most states have nothing pending, and their records stay as small as before.
      if (rest.length > 0) return { ...state, pendingWritebacks: rest };
      const { pendingWritebacks: _dropped, ...without } = state;
      return without;
    }
    case 'pruned': {
      const keep = state.grants.filter((g) => !storyOver(g));
      return keep.length === state.grants.length ? state : { ...state, grants: keep };
    }
  }
}

/** The state to write after a batch: one version more when anything changed, else the same state. */
export function nextVersion(state: TicketState, changed: boolean): TicketState {
  return changed ? { ...state, version: state.version + 1 } : state;
}
