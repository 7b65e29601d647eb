import type { Connector, MappingFailure, TicketSnapshot } from '../connector/contract.js';
import type {
  Custody,
  CustodyEvent,
  CustodyEventKind,
  Decision,
  GrantDecision,
  Grant,
  Reason,
  ReasonCode,
  RejectionDecision,
  Revocation,
  RevocationTrigger,
} from '../model/index.js';
import { CE_TYPES, encodeCloudEvent, type EncodedMessage } from './cloudevents.js';
import type { DeliveryEvent, RecordCommand, RevokeCommand, TicketEvent, TicketState, TrackedGrant, WritebackTask } from './events.js';
import { ticketKey } from './events.js';
import type { ProcessorPorts } from './ports.js';

/** One message the processor will publish in the batch's transaction. */
export interface Output {
  readonly topic: string;
  readonly message: EncodedMessage;
}

/** What processing one ticket's events in a batch produced. */
export interface TicketOutcome {
  readonly state: TicketState;
  readonly outputs: Output[];
  readonly counts: {
    granted: number;
    rejected: number;
    revoked: number;
    duplicates: number;
    unchanged: number;
  };
}

export interface TicketInput {
  readonly connectorId: string;
  readonly ticketId: string;
  readonly state: TicketState | null;
  /** This ticket's events of the batch, in offset order. */
  readonly events: readonly TicketEvent[];
  /** The authoritative ticket, fetched once for the batch when a new delivery needs it. */
  readonly snapshot: TicketSnapshot | null;
  readonly now: Date;
}

const RECENT_IDS = 64;
const SCHEMA_BASE = 'https://grantline.dev/schemas';
/** Reasons that only say the ticket is closed: a closed ticket does not take back a grant it already gave. */
const CLOSED_ONLY: ReadonlySet<ReasonCode> = new Set(['TICKET_NOT_ACTIONABLE']);
const APPROVAL_REASONS: ReadonlySet<ReasonCode> = new Set([
  'INSUFFICIENT_APPROVALS',
  'APPROVAL_REJECTED',
  'APPROVAL_STALE',
  'APPROVER_NOT_AUTHORIZED',
  'SELF_APPROVAL',
  'APPROVAL_NOT_STRUCTURED',
]);
const OWNER_REASONS: ReadonlySet<ReasonCode> = new Set(['OWNER_INACTIVE', 'OWNER_MISSING']);

/** Whether a stored grant is still in force (issued and not revoked). */
export function isActive(grant: TrackedGrant): boolean {
  return grant.revocation === null;
}

function pushRecent(list: readonly string[], id: string): string[] {
  const next = [...list, id];
  return next.length > RECENT_IDS ? next.slice(next.length - RECENT_IDS) : next;
}

function shortHash(ports: ProcessorPorts, value: unknown): string {
  return ports.custody.digest(value).slice(0, 32);
}

/**
 * Processes one ticket's events of a batch: deliveries (dedup, one evaluation against the fetched
 * snapshot) and commands (revoke, record). Pure apart from the injected ports: no Kafka, no HTTP.
 * The caller publishes `outputs` and `state` in one transaction with the consumed offsets.
 */
export function processTicket(input: TicketInput, ports: ProcessorPorts): TicketOutcome {
  const work = new TicketWork(input, ports);
  let pendingDelivery: DeliveryEvent | null = null;
  for (const event of input.events) {
    switch (event.kind) {
      case 'delivery':
        if (work.state.recentDeliveryIds.includes(event.deliveryId)) {
          work.counts.duplicates += 1;
          break;
        }
        work.recordDelivery(event);
        pendingDelivery = event;
        break;
      case 'revoke':
        if (work.seenCommand(event.commandId)) break;
        work.revokeByCommand(event);
        break;
      case 'record':
        if (work.seenCommand(event.commandId)) break;
        work.record(event);
        break;
    }
  }
  if (pendingDelivery !== null && input.snapshot !== null) {
    work.evaluate(input.snapshot, pendingDelivery);
  }
  return { state: work.finalState(), outputs: work.outputs, counts: work.counts };
}

class TicketWork {
  state: TicketState;
  readonly outputs: Output[] = [];
  readonly counts = { granted: 0, rejected: 0, revoked: 0, duplicates: 0, unchanged: 0 };
  private readonly key: string;
  private changed = false;

  constructor(
    private readonly input: TicketInput,
    private readonly ports: ProcessorPorts,
  ) {
    this.key = ticketKey(input.connectorId, input.ticketId);
    this.state = input.state ?? {
      connectorId: input.connectorId,
      ticketId: input.ticketId,
      ticketKey: input.snapshot?.ticketKey ?? input.ticketId,
      version: 0,
      recentDeliveryIds: [],
      recentCommandIds: [],
      lastDecision: null,
      grants: [],
      custodyHead: null,
    };
    if (input.snapshot !== null && this.state.ticketKey !== input.snapshot.ticketKey) {
      this.state = { ...this.state, ticketKey: input.snapshot.ticketKey };
    }
  }

  private get nowIso(): string {
    return this.input.now.toISOString();
  }

  private get connector(): Connector {
    const connector = this.ports.connector(this.input.connectorId);
    if (!connector) throw new Error(`connector ${this.input.connectorId} is not configured`);
    return connector;
  }

  finalState(): TicketState {
    return this.changed ? { ...this.state, version: this.state.version + 1 } : this.state;
  }

  private update(patch: Partial<TicketState>): void {
    this.state = { ...this.state, ...patch };
    this.changed = true;
  }

  seenCommand(commandId: string): boolean {
    if (this.state.recentCommandIds.includes(commandId)) {
      this.counts.duplicates += 1;
      return true;
    }
    this.update({ recentCommandIds: pushRecent(this.state.recentCommandIds, commandId) });
    return false;
  }

  /** Appends one custody event to the ticket's chain and queues it for `access.custody.v1`. */
  private custody(
    kind: CustodyEventKind,
    actor: string,
    data: Record<string, unknown>,
    ids: { requestId: string | null; grantId: string | null },
  ): CustodyEvent {
    const event = this.ports.custody.chain(this.state.custodyHead, {
      eventId: `ce_${shortHash(this.ports, [this.key, this.state.custodyHead?.hash ?? null, kind, data])}`,
      kind,
      ticket: { connectorId: this.input.connectorId, ticketId: this.input.ticketId, ticketKey: this.state.ticketKey },
      requestId: ids.requestId,
      grantId: ids.grantId,
      at: this.nowIso,
      actor,
      data,
    });
    this.update({ custodyHead: { seq: event.seq, hash: event.hash } });
    this.emit(this.ports.topics.custody, this.key, CE_TYPES.custody, event.eventId, this.key, 'custody-event.v1', event);
    return event;
  }

  private emit(topic: string, key: string, type: string, id: string, subject: string, schema: string, data: unknown): void {
    this.outputs.push({
      topic,
      message: encodeCloudEvent(
        key,
        {
          id,
          source: `urn:grantline:${this.input.connectorId}`,
          type,
          time: this.nowIso,
          subject,
          dataschema: `${SCHEMA_BASE}/${schema}.json`,
        },
        data,
      ),
    });
  }

  private writeback(task: Omit<WritebackTask, 'connectorId' | 'ticketId' | 'createdAt' | 'taskId'>): void {
    const full: WritebackTask = {
      taskId: `wb_${shortHash(this.ports, [this.key, task.idempotencyKey])}`,
      connectorId: this.input.connectorId,
      ticketId: this.input.ticketId,
      createdAt: this.nowIso,
      ...task,
    };
    this.outputs.push({ topic: this.ports.topics.writeback, message: { key: this.key, value: JSON.stringify(full), headers: {} } });
  }

  recordDelivery(event: DeliveryEvent): void {
    this.update({ recentDeliveryIds: pushRecent(this.state.recentDeliveryIds, event.deliveryId) });
    this.custody(
      'delivery.received',
      `${event.via}:${event.connectorId}`,
      {
        deliveryId: event.deliveryId,
        via: event.via,
        eventType: event.eventType,
        receivedAt: event.receivedAt,
        payloadSha256: event.payloadSha256,
        signatureVerified: event.signatureVerified,
      },
      { requestId: null, grantId: null },
    );
  }

  private custodyBlock(
    event: CustodyEvent,
    origin: { deliveryId: string; via: Custody['via']; payloadSha256: string; signatureVerified: boolean },
    snapshotSha256: string | null,
  ): Custody {
    const versions = this.ports.policy.versions();
    return {
      deliveryId: origin.deliveryId,
      via: origin.via,
      payloadSha256: origin.payloadSha256,
      signatureVerified: origin.signatureVerified,
      snapshotSha256,
      connectorId: this.input.connectorId,
      catalogVersion: versions.catalogVersion,
      policyVersion: versions.policyVersion,
      decidedAt: this.nowIso,
      decidedBy: this.ports.decidedBy,
      chain: { seq: event.seq, prevHash: event.prevHash, hash: event.hash },
    };
  }

  /** Maps and decides the fetched ticket once, after this batch's new deliveries of it. */
  evaluate(snapshot: TicketSnapshot, delivery: DeliveryEvent): void {
    const connector = this.connector;
    const snapshotSha256 = this.ports.custody.digest(snapshot.raw);
    this.custody(
      'ticket.fetched',
      this.ports.decidedBy,
      { snapshotSha256, fetchedAt: snapshot.fetchedAt, ticketKey: snapshot.ticketKey },
      { requestId: null, grantId: null },
    );
    const origin = {
      deliveryId: delivery.deliveryId,
      via: delivery.via,
      payloadSha256: delivery.payloadSha256,
      signatureVerified: delivery.signatureVerified,
    } as const;

    if (connector.isCancelled(snapshot)) {
      for (const grant of this.state.grants.filter(isActive)) {
        this.revoke(grant, 'ticket-cancelled', `ticket ${snapshot.ticketKey} was cancelled in the source system`, this.ports.decidedBy, origin, snapshotSha256);
      }
      return;
    }

    const mapped = connector.map(snapshot);
    const inputSha256 = this.ports.custody.digest(mapped);
    if (this.state.lastDecision?.inputSha256 === inputSha256) {
      // A comment, a label, a redelivery: nothing the decision depends on has changed.
      this.counts.unchanged += 1;
      return;
    }
    const requestId = mapped.ok ? mapped.request.requestId : this.failureRequestId(mapped.failure);
    this.custody(
      'request.mapped',
      this.ports.decidedBy,
      // The requester as the directory resolved them, and as the source named them: who asked is evidence.
      mapped.ok
        ? {
            requestId,
            requester: mapped.request.requester,
            entitlementId: mapped.request.entitlementId,
            subject: mapped.request.subject,
            breakGlass: mapped.request.breakGlass,
            ...(mapped.request.ttlSeconds === undefined ? {} : { ttlSecondsRequested: mapped.request.ttlSeconds }),
            lastModifiedAt: mapped.request.lastModifiedAt,
            approvals: mapped.request.approvals.map((a) => a.evidence),
          }
        : { requestId, requester: mapped.failure.requester, reasons: mapped.failure.reasons.map((r) => r.code) },
      { requestId, grantId: null },
    );

    const decision: Decision = mapped.ok
      ? this.ports.policy.decide(mapped.request, this.input.now)
      : this.rejectionFromFailure(mapped.failure, requestId);

    const active = this.state.grants.filter(isActive);
    if (decision.outcome === 'granted') {
      const same = active.find((g) => g.requestId === decision.requestId);
      if (same) {
        // Already granted for exactly this request (say, a third approval arrived): no second grant.
        this.counts.unchanged += 1;
      } else {
        for (const grant of active) {
          this.revoke(grant, 'superseded', `the request on ${snapshot.ticketKey} changed; grant ${decision.grantId} replaces this one`, this.ports.decidedBy, origin, snapshotSha256);
        }
        this.issue(decision, origin, snapshotSha256);
      }
    } else {
      for (const grant of active) {
        const trigger = this.revocationTriggerFor(grant, decision);
        if (trigger !== null) {
          this.revoke(grant, trigger, decision.reasons.map((r) => r.message).join(' '), this.ports.decidedBy, origin, snapshotSha256);
        }
      }
      const actionable = mapped.ok ? mapped.request.status.actionable : mapped.failure.actionable;
      this.reject(decision, origin, snapshotSha256, inputSha256, actionable && active.length === 0);
    }
    this.update({
      lastDecision: {
        inputSha256,
        requestId,
        outcome: decision.outcome,
        decisionId: decision.outcome === 'granted' ? decision.grantId : decision.rejectionId,
        decidedAt: this.nowIso,
      },
    });
  }

  /** Which trigger, if any, a new rejection of the ticket means for a grant it already has. */
  private revocationTriggerFor(grant: TrackedGrant, rejection: RejectionDecision): RevocationTrigger | null {
    const codes = rejection.reasons.map((r) => r.code);
    if (grant.requestId !== rejection.requestId) return 'superseded';
    if (codes.every((c) => CLOSED_ONLY.has(c))) return null;
    if (codes.some((c) => APPROVAL_REASONS.has(c))) return 'approval-withdrawn';
    if (codes.some((c) => OWNER_REASONS.has(c))) return 'owner-offboarded';
    return 'superseded';
  }

  private failureRequestId(failure: MappingFailure): string {
    return `rq_${shortHash(this.ports, [this.input.connectorId, this.input.ticketId, failure.reasons.map((r) => [r.code, r.field ?? null]), failure.freeText])}`;
  }

  private rejectionFromFailure(failure: MappingFailure, requestId: string): RejectionDecision {
    const versions = this.ports.policy.versions();
    return {
      outcome: 'rejected',
      rejectionId: `rj_${shortHash(this.ports, [requestId, versions])}`,
      requestId,
      source: failure.source,
      requester: failure.requester,
      subject: null,
      entitlementId: null,
      reasons: [...failure.reasons],
      freeText: failure.freeText,
      policy: { version: versions.policyVersion, catalogVersion: versions.catalogVersion, directoryVersion: versions.directoryVersion },
      decidedAt: this.nowIso,
    };
  }

  private issue(
    decision: GrantDecision,
    origin: { deliveryId: string; via: Custody['via']; payloadSha256: string; signatureVerified: boolean },
    snapshotSha256: string | null,
  ): void {
    const event = this.custody(
      'decision.granted',
      this.ports.decidedBy,
      {
        decisionSha256: this.ports.custody.digest(decision),
        entitlementId: decision.entitlementId,
        subject: decision.subject,
        approvals: decision.approvals.map((a) => ({ approver: a.approverPrincipalId, evidence: a.evidence, decidedAt: a.decidedAt })),
        ttlSeconds: decision.ttlSeconds,
        ttlSource: decision.ttlSource,
        expiresAt: decision.expiresAt,
        breakGlass: decision.breakGlass,
        policy: decision.policy,
      },
      { requestId: decision.requestId, grantId: decision.grantId },
    );
    const grant: Grant = this.ports.signer.sign({ ...decision, custody: this.custodyBlock(event, origin, snapshotSha256) });
    const topic = this.ports.topics.grants(decision.entitlement.channel);
    this.emit(topic, grant.grantId, CE_TYPES.grantIssued, grant.grantId, grant.grantId, 'grant.v1', grant);
    this.counts.granted += 1;
    const tracked: TrackedGrant = {
      grantId: grant.grantId,
      requestId: grant.requestId,
      topic,
      source: grant.source,
      subject: grant.subject,
      subjectOwnerPrincipalId: grant.subjectOwnerPrincipalId,
      entitlementId: grant.entitlementId,
      expiresAt: grant.expiresAt,
      breakGlass: grant.breakGlass.active && grant.breakGlass.reviewDueAt !== null
        ? { reviewDueAt: grant.breakGlass.reviewDueAt, review: null, escalatedAt: null }
        : null,
      provisionedAt: null,
      revocation: null,
    };
    this.update({ grants: [...this.state.grants, tracked] });
    this.writeback({
      grantId: grant.grantId,
      requestId: grant.requestId,
      item: { kind: 'decision', decision: grant },
      idempotencyKey: grant.grantId,
    });
    if (tracked.breakGlass !== null) {
      this.writeback({
        grantId: grant.grantId,
        requestId: grant.requestId,
        item: { kind: 'open-review', decision: grant },
        idempotencyKey: `review:${grant.grantId}`,
      });
    }
  }

  private reject(
    decision: RejectionDecision,
    origin: { deliveryId: string; via: Custody['via']; payloadSha256: string; signatureVerified: boolean },
    snapshotSha256: string | null,
    inputSha256: string,
    writeBack: boolean,
  ): void {
    const event = this.custody(
      'decision.rejected',
      this.ports.decidedBy,
      { decisionSha256: this.ports.custody.digest(decision), reasons: decision.reasons.map((r: Reason) => r.code), policy: decision.policy },
      { requestId: decision.requestId, grantId: null },
    );
    const rejection = this.ports.signer.sign({ ...decision, custody: this.custodyBlock(event, origin, snapshotSha256) });
    this.emit(this.ports.topics.rejected, this.key, CE_TYPES.requestRejected, `${rejection.rejectionId}:${inputSha256.slice(0, 12)}`, this.state.ticketKey, 'rejection.v1', rejection);
    this.counts.rejected += 1;
    if (writeBack) {
      this.writeback({
        grantId: null,
        requestId: rejection.requestId,
        item: { kind: 'decision', decision: rejection },
        idempotencyKey: `${rejection.rejectionId}:${inputSha256.slice(0, 12)}`,
      });
    }
  }

  /** Publishes `grant.revoked` on the grant's own topic and key, so it is ordered after the grant. */
  private revoke(
    grant: TrackedGrant,
    trigger: RevocationTrigger,
    reason: string,
    actor: string,
    origin: { deliveryId: string; via: Custody['via']; payloadSha256: string; signatureVerified: boolean },
    snapshotSha256: string | null,
  ): void {
    const revocationId = `rv_${shortHash(this.ports, [grant.grantId, trigger])}`;
    const body: Omit<Revocation, 'custody' | 'signature'> = {
      outcome: 'revoked',
      revocationId,
      grantId: grant.grantId,
      requestId: grant.requestId,
      source: grant.source,
      subject: grant.subject,
      entitlementId: grant.entitlementId,
      trigger,
      reason,
      actor,
      revokedAt: this.nowIso,
    };
    const event = this.custody(
      'grant.revoked',
      actor,
      { decisionSha256: this.ports.custody.digest(body), revocationId, trigger, reason, expiresAt: grant.expiresAt },
      { requestId: grant.requestId, grantId: grant.grantId },
    );
    const revocation: Revocation = this.ports.signer.sign({ ...body, custody: this.custodyBlock(event, origin, snapshotSha256) });
    this.emit(grant.topic, grant.grantId, CE_TYPES.grantRevoked, revocationId, grant.grantId, 'revocation.v1', revocation);
    this.counts.revoked += 1;
    this.replaceGrant(grant.grantId, {
      revocation: { revocationId, trigger, reason, actor, revokedAt: this.nowIso, confirmedAt: null, failedAt: null, overdueAlerts: 0, signed: JSON.stringify(revocation) },
    });
    this.writeback({
      grantId: grant.grantId,
      requestId: grant.requestId,
      item: { kind: 'revocation', revocation },
      idempotencyKey: revocationId,
    });
  }

  private replaceGrant(grantId: string, patch: Partial<TrackedGrant>): void {
    this.update({ grants: this.state.grants.map((g) => (g.grantId === grantId ? { ...g, ...patch } : g)) });
  }

  revokeByCommand(command: RevokeCommand): void {
    const grant = this.state.grants.find((g) => g.grantId === command.grantId);
    if (!grant || !isActive(grant)) return; // unknown or already revoked: revoking is idempotent
    this.revoke(
      grant,
      command.trigger,
      command.reason,
      command.actor,
      {
        deliveryId: command.commandId,
        via: command.trigger === 'manual' ? 'cli' : 'lifecycle',
        payloadSha256: this.ports.custody.digest(command),
        signatureVerified: false,
      },
      null,
    );
  }

  /** Appends evidence sent by another role and applies what it means to the tracked grant. */
  record(command: RecordCommand): void {
    this.custody(command.custodyKind, command.actor, command.data, { requestId: command.requestId, grantId: command.grantId });
    const grant = command.grantId === null ? undefined : this.state.grants.find((g) => g.grantId === command.grantId);
    if (!grant) return;
    const data = command.data;
    switch (command.custodyKind) {
      case 'fulfillment.reported': {
        if (data.status === 'provisioned') this.replaceGrant(grant.grantId, { provisionedAt: command.at });
        if (grant.revocation !== null && data.action === 'revoke') {
          this.replaceGrant(grant.grantId, {
            revocation: {
              ...grant.revocation,
              confirmedAt: data.status === 'revoked' ? command.at : grant.revocation.confirmedAt,
              failedAt: data.status === 'failed' ? command.at : grant.revocation.failedAt,
            },
          });
        }
        this.writeback({
          grantId: grant.grantId,
          requestId: grant.requestId,
          item: { kind: 'fulfillment', result: data },
          idempotencyKey: `fulfillment:${command.commandId}`,
        });
        break;
      }
      case 'revocation.overdue':
        if (grant.revocation !== null && grant.revocation.confirmedAt === null) {
          // Re-send the very same signed revocation: adapters treat a known revocationId as done.
          this.emit(grant.topic, grant.grantId, CE_TYPES.grantRevoked, grant.revocation.revocationId, grant.grantId, 'revocation.v1', JSON.parse(grant.revocation.signed));
          this.replaceGrant(grant.grantId, { revocation: { ...grant.revocation, overdueAlerts: grant.revocation.overdueAlerts + 1, lastOverdueAt: command.at } });
        }
        break;
      case 'review.opened':
        if (grant.breakGlass !== null) {
          this.replaceGrant(grant.grantId, {
            breakGlass: {
              ...grant.breakGlass,
              review: { ticketId: String(data.ticketId), ticketKey: String(data.ticketKey), url: String(data.url), closed: false, outcome: null },
            },
          });
        }
        break;
      case 'review.closed':
        if (grant.breakGlass?.review) {
          this.replaceGrant(grant.grantId, {
            breakGlass: { ...grant.breakGlass, review: { ...grant.breakGlass.review, closed: true, outcome: typeof data.outcome === 'string' ? data.outcome : null } },
          });
        }
        break;
      case 'review.overdue':
        if (grant.breakGlass !== null) {
          this.replaceGrant(grant.grantId, { breakGlass: { ...grant.breakGlass, escalatedAt: command.at } });
        }
        break;
      default:
        break;
    }
    this.prune();
  }

  /** Drops grants whose story is over (revocation confirmed, review closed) to keep the state small. */
  private prune(): void {
    const keep = this.state.grants.filter(
      (g) => !(g.revocation?.confirmedAt && (g.breakGlass === null || g.breakGlass.review?.closed === true)),
    );
    if (keep.length !== this.state.grants.length) this.update({ grants: keep });
  }
}
