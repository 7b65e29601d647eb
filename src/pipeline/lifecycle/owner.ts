import type { Logger } from 'pino';
import type { Connector } from '../../connector/contract.js';
import { describeError } from '../../connector/errors.js';
import type { GrantlineProducer } from '../../kafka/index.js';
import { ticketKey, type LifecycleAlert, type RecordCommand, type RevokeCommand, type TicketState } from '../../model/index.js';
import { publishAlerts } from '../alerts.js';
import { CE_TYPES, encodeCloudEvent, type EncodedMessage } from '../cloudevents.js';
import type { PipelineMetrics } from '../metrics.js';
import type { HeldPartition } from '../state/partition-states.js';
import { countOverdueReviews } from '../../policy/review.js';
import { DueQueue } from './due-queue.js';
import { hasOpenReview, nextDueAt, planLifecycle, record, type LifecycleCommand, type LifecycleSettings, type OwnerDirectory } from './plan.js';

/** How long a command is not asked again while the processor has not applied it yet. */
export const RESEND_AFTER_MS = 15_000;

export interface OwnerLifecycleOptions {
  readonly producer: GrantlineProducer;
  readonly topics: { readonly ticketEvents: string; readonly alerts: string };
  readonly connectors: ReadonlyMap<string, Connector>;
  /** The directory in force, asked at each owner check; null: no owner check. */
  readonly directory: (() => OwnerDirectory & { readonly version: string }) | null;
  readonly logger: Logger;
  readonly metrics: PipelineMetrics;
  readonly settings: LifecycleSettings & { readonly tickMs: number; readonly reviewPollMs: number };
  readonly now?: () => Date;
}

/** What the lifecycle keeps per owned partition: when each ticket is due, which have open reviews. */
interface PartitionSchedule {
  readonly due: DueQueue;
  readonly openReviews: Set<string>;
  /** Tickets with a break-glass grant whose review is not closed (the only ones a review can be overdue on). */
  readonly reviewsPending: Set<string>;
  /** Tickets changed since the last owner check (only they need it while the directory is unchanged). */
  readonly unchecked: Set<string>;
}

function* statesOf(held: HeldPartition, keys: Iterable<string>): Generator<TicketState> {
  for (const key of keys) {
    const state = held.get(key);
    if (state !== undefined) yield state;
  }
}

/**
 * The lifecycle of the tickets of the partitions this processor owns: "the access must never
 * outlive what authorized it". Each owned partition has a due-time queue, rebuilt when the
 * partition's state is restored and kept as its states change, so each tick looks only at the
 * tickets that are due (TTL expiry, overdue revocation confirmations, break-glass review
 * deadlines); N instances share the work by partition and none scans every ticket. The owner check
 * (grantees and NHI owners no longer active) runs over the owned partitions' changed tickets, and
 * over all of them when the directory in force changed. It asks each ticket's processor (itself,
 * through the ticket-events topic, the single writer of a ticket's story) to revoke or to record.
 */
export class OwnerLifecycle {
  private readonly schedules = new Map<number, PartitionSchedule>();
  private readonly sent = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private running = false;
  private lastDirectoryCheck = 0;
  private checkedDirectoryVersion: string | null = null;
  private lastReviewPoll = 0;
  private readonly now: () => Date;

  constructor(
    private readonly options: OwnerLifecycleOptions,
    /** The partitions whose state this process holds (the processor's). */
    private readonly held: () => Iterable<HeldPartition>,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * A partition's state was restored: its schedule is rebuilt from it, from the states as the
   * restore parsed them when given (unpacking each again costs about 20 us a ticket at start-up).
   */
  restored(held: HeldPartition, states: Iterable<[string, TicketState]> = held.entries()): void {
    const schedule: PartitionSchedule = { due: new DueQueue(), openReviews: new Set(), reviewsPending: new Set(), unchecked: new Set() };
    this.schedules.set(held.partition, schedule);
    for (const [key, state] of states) this.track(schedule, key, state);
  }

  /** A held state changed (this processor committed it). */
  changed(held: HeldPartition, key: string): void {
    const schedule = this.schedules.get(held.partition);
    if (!schedule) return;
    const state = held.get(key);
    if (state === undefined) {
      schedule.due.set(key, null);
      schedule.openReviews.delete(key);
      schedule.reviewsPending.delete(key);
      schedule.unchecked.delete(key);
      return;
    }
    this.track(schedule, key, state);
  }

  /** The partition was revoked or dropped. */
  dropped(partition: number): void {
    this.schedules.delete(partition);
  }

  /** Tickets scheduled in the owned partitions (for tests and metrics). */
  scheduled(): number {
    let n = 0;
    for (const s of this.schedules.values()) n += s.due.size;
    return n;
  }

  private track(schedule: PartitionSchedule, key: string, state: TicketState): void {
    schedule.due.set(key, nextDueAt(state, this.options.settings));
    if (hasOpenReview(state)) schedule.openReviews.add(key);
    else schedule.openReviews.delete(key);
    if (state.grants.some((g) => g.breakGlass !== null && g.breakGlass.review?.closed !== true)) schedule.reviewsPending.add(key);
    else schedule.reviewsPending.delete(key);
    if (state.grants.length > 0) schedule.unchecked.add(key);
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .then(() => undefined)
        .catch((error: unknown) => this.options.logger.error({ error: describeError(error) }, 'lifecycle tick failed; will run again'))
        .finally(() => {
          if (this.running) this.schedule();
        });
    }, this.options.settings.tickMs);
  }

  /** One pass over what is due in the owned partitions; returns the commands asked. */
  async tick(): Promise<LifecycleCommand[]> {
    const now = this.now();
    const t = now.getTime();
    const { settings } = this.options;
    const checkDirectory = this.options.directory !== null && t - this.lastDirectoryCheck >= settings.directoryCheckMs;
    const directory = checkDirectory && this.options.directory !== null ? this.options.directory() : null;
    if (checkDirectory) this.lastDirectoryCheck = t;
    const everything = directory !== null && directory.version !== this.checkedDirectoryVersion;
    const commands: LifecycleCommand[] = [];
    const alerts: LifecycleAlert[] = [];
    let tracked = 0;
    let reviewsOverdue = 0;
    for (const held of this.held()) {
      const schedule = this.schedules.get(held.partition);
      if (!schedule) continue;
      tracked += held.grantCount();
      reviewsOverdue += countOverdueReviews(statesOf(held, schedule.reviewsPending), now);
      const dueKeys = schedule.due.popDue(t);
      const states = dueKeys.map((k) => held.get(k)).filter((s): s is TicketState => s !== undefined);
      const plan = planLifecycle(states, now, settings, null);
      commands.push(...plan.commands);
      alerts.push(...plan.alerts);
      // Asked again after a while if the processor has not acted (the state change reschedules it).
      for (const s of states) {
        const next = nextDueAt(s, settings);
        if (next !== null) schedule.due.set(ticketKey(s.connectorId, s.ticketId), Math.max(next, t + RESEND_AFTER_MS));
      }
      if (directory !== null) {
        const keys = everything ? [...held.keys()] : [...schedule.unchecked];
        schedule.unchecked.clear();
        const owned = keys.map((k) => held.get(k)).filter((s): s is TicketState => s !== undefined);
        commands.push(...planLifecycle(owned, now, settings, directory).commands.filter((c) => c.kind === 'revoke' && c.trigger === 'owner-offboarded'));
      }
    }
    if (directory !== null) this.checkedDirectoryVersion = directory.version;
    const review = t - this.lastReviewPoll >= settings.reviewPollMs ? await this.pollReviews(now) : null;
    if (review !== null) this.lastReviewPoll = t;
    await this.send([...commands, ...(review ?? [])], now);
    if (alerts.length > 0) {
      const fresh = alerts.filter((a) => this.firstTime(`alert:${a.alertId}`, t));
      await publishAlerts(this.options.producer, this.options.topics.alerts, fresh);
      for (const a of fresh) {
        this.options.metrics.lifecycle.inc({ kind: `alert:${a.kind}` });
        this.options.logger.warn({ alert: a.kind, grantId: a.grantId, ticket: a.ticket.ticketKey }, a.message);
      }
    }
    this.options.metrics.trackedGrants.set(tracked);
    // Of the partitions this process owns: the instances' gauges add up to the deployment's.
    this.options.metrics.reviewsOverdue.set(reviewsOverdue);
    return commands;
  }

  private firstTime(id: string, t: number): boolean {
    const at = this.sent.get(id);
    if (at !== undefined && t - at < RESEND_AFTER_MS) return false;
    this.sent.set(id, t);
    if (this.sent.size > 10_000) {
      for (const [k, v] of this.sent) if (t - v >= RESEND_AFTER_MS) this.sent.delete(k);
    }
    return true;
  }

  /** Sends commands; one is not re-sent while the processor has not applied it yet. */
  private async send(commands: readonly (RevokeCommand | RecordCommand)[], now: Date): Promise<void> {
    const fresh = commands.filter((c) => this.firstTime(c.commandId, now.getTime()));
    if (fresh.length === 0) return;
    const messages: EncodedMessage[] = fresh.map((c) =>
      encodeCloudEvent(ticketKey(c.connectorId, c.ticketId), { id: c.commandId, source: 'urn:grantline:lifecycle', type: CE_TYPES.ticketEvent, time: now.toISOString() }, c),
    );
    await this.options.producer.send(this.options.topics.ticketEvents, messages);
    for (const c of fresh) {
      // Recording an overdue revocation or review goes with an alert of the same name; prefixes keep
      // the two apart so neither is counted twice.
      this.options.metrics.lifecycle.inc({ kind: c.kind === 'revoke' ? `revoke:${c.trigger}` : `record:${c.custodyKind}` });
    }
  }

  /** Reads the owned partitions' open break-glass reviews from their source; a closed one is recorded. */
  private async pollReviews(now: Date): Promise<RecordCommand[]> {
    const out: RecordCommand[] = [];
    for (const held of this.held()) {
      for (const key of this.schedules.get(held.partition)?.openReviews ?? []) {
        const state = held.get(key);
        if (!state) continue;
        for (const grant of state.grants) {
          const review = grant.breakGlass?.review;
          if (!review || review.closed) continue;
          const connector = this.options.connectors.get(state.connectorId);
          if (!connector) continue;
          try {
            const result = await connector.reviewState(review);
            if (result.closed) {
              out.push(record(state, grant, 'review.closed', `review.closed:${grant.grantId}`, { review: review.ticketKey, outcome: result.outcome, closedAt: result.closedAt }, now));
            }
          } catch (error) {
            this.options.logger.warn({ ticket: review.ticketKey, error: describeError(error) }, 'could not read review ticket; will try again');
          }
        }
      }
    }
    return out;
  }
}
