import type { CatalogEntry } from '../catalog/catalog.js';
import type { BreakGlassHolding, EntitlementRequest, Reason, SubjectType } from '../model/index.js';

/** The active break-glass grants a person holds, as far as this process has read them. */
export interface BreakGlassHoldings {
  heldBy(person: string): readonly BreakGlassHolding[];
}

/**
 * Who holds a break-glass grant for the per-person limit: a human subject holds their own access;
 * for a non-human identity, the person who invoked break-glass for it is the one who holds it.
 */
export function breakGlassHolder(subject: { type: SubjectType; id: string } | null, requesterId: string | null): string | null {
  if (subject === null) return null;
  return subject.type === 'human' ? subject.id : requesterId;
}

/**
 * The holdings that count against a person's limit at `now`: not released, not past their expiry
 * (the lifecycle is about to revoke those), and not from the ticket being decided (a new decision
 * on a ticket supersedes that ticket's earlier grant, and a chunk read again after a failed commit
 * must not count its own grant).
 */
export function countedHoldings(holdings: readonly BreakGlassHolding[], ticket: { connectorId: string; ticketId: string }, now: Date): BreakGlassHolding[] {
  const t = now.getTime();
  return holdings.filter(
    (h) => h.releasedAt === null && Date.parse(h.expiresAt) > t && !(h.ticket.connectorId === ticket.connectorId && h.ticket.ticketId === ticket.ticketId),
  );
}

/**
 * Where the entry sets `breakGlass.maxActivePerPerson`, refuses a break-glass request whose holder
 * already holds that many active break-glass grants (of any entry). Returns whether it may go on.
 */
export function checkBreakGlassLimit(
  entry: CatalogEntry,
  request: EntitlementRequest,
  holder: string | null,
  holdings: BreakGlassHoldings | undefined,
  now: Date,
  reasons: Reason[],
): boolean {
  if (!entry.breakGlass.allowed || entry.breakGlass.maxActivePerPerson === undefined || holdings === undefined || holder === null) return true;
  const max = entry.breakGlass.maxActivePerPerson;
  const held = countedHoldings(holdings.heldBy(holder), request.source, now);
  if (held.length < max) return true;
  const listed = held
    .slice(0, 5)
    .map((h) => `${h.entitlementId} on ${h.ticket.ticketKey} until ${h.expiresAt}`)
    .join('; ');
  reasons.push({
    code: 'BREAK_GLASS_LIMIT_REACHED',
    message: `${holder} already holds ${held.length} active break-glass grant${held.length === 1 ? '' : 's'} (${listed}${held.length > 5 ? '; …' : ''}), and ${entry.id} allows at most ${max} per person. Give one back (close or cancel its ticket) or file a normal request with approvals.`,
    field: 'breakGlass',
  });
  return false;
}
