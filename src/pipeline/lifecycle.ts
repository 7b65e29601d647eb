import type { Logger } from 'pino';
import { describeError } from '../connector/errors.js';
import type { Connector } from '../connector/contract.js';
import { publishAlerts } from './alerts.js';
import { PartitionLoop, type GrantlineProducer, type Kafka, type PartitionBatch } from '../kafka/index.js';
import { FulfillmentResult, IdentityLifecycleEvent, recordCommand, ticketKey, type DeadLetterOriginal, type LifecycleAlert, type RecordCommand, type RecordData, type RecordKind, type RevokeCommand, type TicketState, type TrackedGrant } from '../model/index.js';
import { CE_TYPES, encodeCloudEvent, type EncodedMessage } from './cloudevents.js';
import { encodeDeadLetter, originalOf } from './dead-letter.js';
import type { PipelineMetrics } from './metrics.js';
import type { StateView } from './state-view.js';
import type { InputGate } from './refusals.js';
import { isActive } from './ticket/state.js';

/** What the lifecycle needs of the directory: is this principal still active? */
export interface OwnerDirectory {
  principal(id: string): { active: boolean } | null;
}

export interface LifecycleSettings {
  /** After this long without an adapter's confirmation, a revocation is overdue: alert and re-send. */
  readonly revocationConfirmMs: number;
  /** Re-check the directory for inactive NHI owners this often. */
  readonly directoryCheckMs: number;
}

export type LifecycleCommand = RevokeCommand | RecordCommand;

export interface LifecyclePlan {
  readonly commands: LifecycleCommand[];
  readonly alerts: LifecycleAlert[];
}

function ticketOf(state: TicketState) {
  return { connectorId: state.connectorId, ticketId: state.ticketId, ticketKey: state.ticketKey };
}

function revoke(state: TicketState, grant: TrackedGrant, trigger: RevokeCommand['trigger'], reason: string, now: Date): RevokeCommand {
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

function record<K extends RecordKind>(state: TicketState, grant: TrackedGrant, custodyKind: K, commandId: string, data: RecordData<K>, now: Date): RecordCommand {
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
      if (bg !== null && bg.escalatedAt === null && bg.review?.closed !== true && Date.parse(bg.reviewDueAt) <= t) {
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

export interface LifecycleOptions {
  readonly kafka: Kafka;
  readonly view: StateView;
  readonly producer: GrantlineProducer;
  readonly topics: { ticketEvents: string; lifecycle: string; fulfillmentResults: string; alerts: string; dlq: string };
  readonly connectors: ReadonlyMap<string, Connector>;
  /**
   * The directory in force, asked at each periodic owner check (every `directoryCheckMs`), so an
   * owner deactivated after this process started is found without a restart; null: no owner check.
   */
  readonly directory: (() => OwnerDirectory) | null;
  readonly groupId: string;
  readonly logger: Logger;
  readonly metrics: PipelineMetrics;
  readonly settings: LifecycleSettings & { tickMs: number; reviewPollMs: number };
  readonly now?: () => Date;
  /** Called when the consumer crashed and kafkajs will not restart it: the role is no longer working. */
  readonly onFatal?: (err: unknown) => void;
  /** Verifies identity events and fulfillment results (signatures, src/trust) before anything is done. */
  readonly trust: InputGate;
}

/** How long a command is not asked again while the processor has not applied it yet. */
const RESEND_AFTER_MS = 15_000;

/**
 * The lifecycle role: "the access must never outlive what authorized it". It watches the ticket
 * state (restored from Kafka, so expiry survives restarts), the identity and fulfillment topics and
 * open break-glass reviews, and asks each ticket's processor (through the ticket-events topic, the
 * single writer of a ticket's story) to revoke or to record evidence.
 */
export class Lifecycle {
  private loop: PartitionLoop | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private readonly sent = new Map<string, number>();
  private lastDirectoryCheck = 0;
  private lastReviewPoll = 0;
  private readonly now: () => Date;

  constructor(private readonly options: LifecycleOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async start(): Promise<void> {
    const { kafka, groupId, topics } = this.options;
    await this.options.view.catchUp();
    this.loop = new PartitionLoop(kafka, {
      groupId,
      topics: [topics.lifecycle, topics.fulfillmentResults],
      offsets: 'resolved',
      ...(this.options.onFatal ? { onFatal: this.options.onFatal } : {}),
      handle: (batch) => this.handleBatch(batch),
    });
    await this.loop.start();
    this.schedule();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
    await this.loop?.stop();
    this.loop = null;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .then(() => undefined)
        .catch((error: unknown) => this.options.logger.error({ error: describeError(error) }, 'lifecycle tick failed; will run again'))
        .finally(() => {
          if (this.loop) this.schedule();
        });
    }, this.options.settings.tickMs);
  }

  /** One pass over the state: expiry, inactive owners, overdue revocations and reviews, review polling. */
  async tick(): Promise<LifecyclePlan> {
    const now = this.now();
    const checkDirectory = now.getTime() - this.lastDirectoryCheck >= this.options.settings.directoryCheckMs;
    if (checkDirectory) this.lastDirectoryCheck = now.getTime();
    const directory = checkDirectory && this.options.directory !== null ? this.options.directory() : null;
    const plan = planLifecycle(this.options.view.values(), now, this.options.settings, directory);
    const review = now.getTime() - this.lastReviewPoll >= this.options.settings.reviewPollMs ? await this.pollReviews(now) : [];
    if (review.length > 0 || now.getTime() - this.lastReviewPoll >= this.options.settings.reviewPollMs) this.lastReviewPoll = now.getTime();
    await this.send([...plan.commands, ...review], now);
    if (plan.alerts.length > 0) {
      const fresh = plan.alerts.filter((a) => this.firstTime(`alert:${a.alertId}`, now));
      await publishAlerts(this.options.producer, this.options.topics.alerts, fresh);
      for (const a of fresh) {
        this.options.metrics.lifecycle.inc({ kind: `alert:${a.kind}` });
        this.options.logger.warn({ alert: a.kind, grantId: a.grantId, ticket: a.ticket.ticketKey }, a.message);
      }
    }
    let tracked = 0;
    for (const s of this.options.view.values()) tracked += s.grants.length;
    this.options.metrics.trackedGrants.set(tracked);
    return plan;
  }

  private firstTime(id: string, now: Date): boolean {
    const at = this.sent.get(id);
    if (at !== undefined && now.getTime() - at < RESEND_AFTER_MS) return false;
    this.sent.set(id, now.getTime());
    if (this.sent.size > 100_000) {
      for (const [k, v] of this.sent) if (now.getTime() - v >= RESEND_AFTER_MS) this.sent.delete(k);
    }
    return true;
  }

  /** Sends commands; planned ones are not re-sent while the processor has not applied them yet. */
  private async send(commands: readonly (RevokeCommand | RecordCommand)[], now: Date, dedupe = true): Promise<void> {
    const fresh = dedupe ? commands.filter((c) => this.firstTime(c.commandId, now)) : commands;
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

  /** Reads open break-glass reviews from their source; a closed one is recorded with its outcome. */
  private async pollReviews(now: Date): Promise<RecordCommand[]> {
    const out: RecordCommand[] = [];
    for (const state of this.options.view.values()) {
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
    return out;
  }

  private async handleBatch(batch: PartitionBatch): Promise<void> {
    const { topics, view } = this.options;
    for (const message of batch.messages) {
      if (!batch.active()) return;
      const now = this.now();
      const opened = this.options.trust.open(batch.topic, batch.partition, message);
      const json = opened.ok ? opened.value : undefined;
      if (!opened.ok) {
        await opened.reported;
      } else if (batch.topic === topics.lifecycle) {
        const event = IdentityLifecycleEvent.safeParse(json);
        if (!event.success) {
          await this.toDlq('lifecycle.identity', 'not an identity lifecycle event', originalOf(batch.topic, batch.partition, message), now);
        } else {
          await view.catchUp();
          await this.send(grantsEndedBy(view.values(), event.data, now), now, false);
        }
      } else {
        const result = FulfillmentResult.safeParse(json);
        let key = result.success ? view.ticketOfGrant(result.data.grantId) : undefined;
        if (result.success && key === undefined) {
          // An adapter may answer before this view has read the grant's state: read up to now first.
          await view.catchUp();
          key = view.ticketOfGrant(result.data.grantId);
        }
        if (!result.success || key === undefined) {
          await this.toDlq(
            'lifecycle.fulfillment',
            result.success ? `no grant ${result.data.grantId} is known` : 'not a fulfillment result',
            originalOf(batch.topic, batch.partition, message),
            now,
          );
        } else {
          const state = view.get(key) as TicketState;
          const grant = state.grants.find((g) => g.grantId === result.data.grantId) as TrackedGrant;
          const id = `fulfillment:${batch.partition}:${message.offset}`;
          if (this.options.trust.serves(opened.channel, grant.topic)) await this.send([record(state, grant, 'fulfillment.reported', id, { ...result.data }, now)], now, false);
          else await this.options.trust.refuse(batch.topic, batch.partition, message, { ok: false, reason: 'not-authorized', detail: `an adapter of channel ${String(opened.channel)} reported on grant ${grant.grantId} of ${grant.topic}` });
        }
      }
      batch.resolve(message.offset);
      await batch.heartbeat();
    }
    await batch.commitResolved();
  }

  private async toDlq(stage: string, reason: string, original: DeadLetterOriginal, now: Date): Promise<void> {
    this.options.metrics.dlq.inc({ stage });
    await this.options.producer.send(this.options.topics.dlq, [encodeDeadLetter('lifecycle', stage, reason, original, now)]);
  }
}
