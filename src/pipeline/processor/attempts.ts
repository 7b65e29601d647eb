import type { TicketSnapshot } from '../../connector/contract.js';
import { GrantlineError, SourceUnavailableError } from '../../connector/errors.js';
import type { TicketState } from '../../model/index.js';
import { needsFetch, type FetchResult, type TicketGroup } from './prefetch.js';

/** What a fetch means for the partition. */
export type FetchOutcome =
  | { kind: 'ok'; snapshot: TicketSnapshot }
  | { kind: 'none' }
  /** Pause the partition at the group's first event and try again later. */
  | { kind: 'blocked'; error: unknown; retryAfterMs: number | undefined }
  /** Failed `maxAttempts` times for a reason not known to be passing: the deliveries go to the DLQ. */
  | { kind: 'dead'; error: unknown };

/**
 * Counts the attempts at an event that fails for a reason not known to be retriable, and judges
 * each fetch: a retriable failure (outage, rate limit) blocks without counting; any other failure
 * blocks until it has happened `maxAttempts` times at the same offset, then it is dead.
 */
export class Attempts {
  private readonly counts = new Map<string, number>();

  constructor(private readonly maxAttempts: number) {}

  /**
   * Judged against the ticket's current state: a snapshot fetched ahead (while the previous chunk
   * committed) is used only if a fetch is still needed.
   */
  judge(group: TicketGroup, result: FetchResult | undefined, state: TicketState | undefined, partition: number): FetchOutcome {
    if (result === undefined || result.kind === 'none' || !needsFetch(group, state)) return { kind: 'none' };
    if (result.kind === 'ok') return result;
    const { error } = result;
    if (error instanceof GrantlineError && error.retriable) {
      return { kind: 'blocked', error, retryAfterMs: error instanceof SourceUnavailableError ? error.retryAfterMs : undefined };
    }
    // Not known to be retriable: retry a few times (it may be a passing fault), then DLQ.
    const key = `${partition}:${group.items[0]?.offset ?? ''}`;
    const attempts = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, attempts);
    if (attempts >= this.maxAttempts) {
      this.counts.delete(key);
      return { kind: 'dead', error };
    }
    return { kind: 'blocked', error, retryAfterMs: undefined };
  }
}
