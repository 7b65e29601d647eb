import type { Connector } from '../../connector/contract.js';
import { markerFor } from '../../connector/note.js';
import type { Custody, CustodyEvent, CustodyEventKind, TicketState, WritebackItem, WritebackTask } from '../../model/index.js';
import { ticketKey } from '../../model/index.js';
import type { ProcessorPorts } from '../ports.js';
import { TicketEmitter } from './emitter.js';
import { emptyState, nextVersion, reduce, type TicketChange } from './state.js';

/** Counts of what processing one ticket's events did, for metrics. */
export interface TicketCounts {
  granted: number;
  rejected: number;
  revoked: number;
  duplicates: number;
  unchanged: number;
}

/** Where a decision came from, recorded in the custody block of what it publishes. */
export interface Origin {
  readonly deliveryId: string;
  readonly via: Custody['via'];
  readonly payloadSha256: string;
  readonly signatureVerified: boolean;
}

/**
 * One ticket's processing in a batch: the state as the reducer made it so far, the emitter of its
 * messages, and custody chaining (each custody event extends the ticket's chain from the head the
 * state holds, and the new head is a state change). The rooms that decide (`evaluate.ts`,
 * `decisions.ts`, `commands.ts`) work through it.
 */
export class TicketContext {
  private current: TicketState;
  private changed = false;
  readonly counts: TicketCounts = { granted: 0, rejected: 0, revoked: 0, duplicates: 0, unchanged: 0 };
  readonly emit: TicketEmitter;
  readonly key: string;
  readonly nowIso: string;

  constructor(
    readonly input: { readonly connectorId: string; readonly ticketId: string; readonly state: TicketState | null; readonly snapshotKey: string | null; readonly now: Date },
    readonly ports: ProcessorPorts,
  ) {
    this.key = ticketKey(input.connectorId, input.ticketId);
    this.nowIso = input.now.toISOString();
    this.current = input.state ?? emptyState(input.connectorId, input.ticketId, input.snapshotKey ?? input.ticketId);
    // The source's key for the ticket as it is now (a Jira issue can move projects); not a change of its own.
    if (input.snapshotKey !== null && this.current.ticketKey !== input.snapshotKey) this.current = reduce(this.current, { type: 'ticket-key', ticketKey: input.snapshotKey });
    this.emit = new TicketEmitter({ connectorId: input.connectorId, ticketId: input.ticketId, key: this.key }, ports.topics, this.nowIso);
  }

  get state(): TicketState {
    return this.current;
  }

  apply(change: TicketChange): void {
    this.current = reduce(this.current, change);
    this.changed = true;
  }

  /** Set by a retirement: the state is tombstoned instead of written. */
  retired = false;

  retire(): void {
    this.retired = true;
  }

  /** The state to write: one version more when anything changed. */
  finalState(): TicketState {
    return nextVersion(this.current, this.changed);
  }

  get connector(): Connector {
    const connector = this.ports.connector(this.input.connectorId);
    if (!connector) throw new Error(`connector ${this.input.connectorId} is not configured`);
    return connector;
  }

  shortHash(value: unknown): string {
    return this.ports.custody.digest(value).slice(0, 32);
  }

  /** Appends one custody event to the ticket's chain, moves the head, and emits it. */
  custody(kind: CustodyEventKind, actor: string, data: Record<string, unknown>, ids: { requestId: string | null; grantId: string | null }): CustodyEvent {
    const head = this.current.custodyHead;
    const event = this.ports.custody.chain(head, {
      eventId: `ce_${this.shortHash([this.key, head?.hash ?? null, kind, data])}`,
      kind,
      ticket: { connectorId: this.input.connectorId, ticketId: this.input.ticketId, ticketKey: this.current.ticketKey },
      requestId: ids.requestId,
      grantId: ids.grantId,
      at: this.nowIso,
      actor,
      data,
    });
    this.apply({ type: 'custody-appended', head: { seq: event.seq, hash: event.hash } });
    this.emit.custody(event);
    return event;
  }

  /** The custody block a signed message carries: its origin, the versions, and its custody event's link. */
  custodyBlock(event: CustodyEvent, origin: Origin, snapshotSha256: string | null): Custody {
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

  /**
   * The text of every comment on the ticket as the snapshot being decided showed it, while that is
   * the ticket's first decision (no task can be queued for it yet); null otherwise. A write-back
   * whose marker is in none of them is marked `noteAbsent` (`evaluate` sets and clears this).
   */
  notesOnTicket: readonly string[] | null = null;

  /** Queues a write-back task; its id is derived from the idempotency key. */
  writeback(task: { grantId: string | null; requestId: string | null; item: WritebackItem; idempotencyKey: string }): void {
    const marker = markerFor(task.idempotencyKey);
    const absent = this.notesOnTicket !== null && !this.notesOnTicket.some((text) => text.includes(marker));
    const full: WritebackTask = {
      taskId: `wb_${this.shortHash([this.key, task.idempotencyKey])}`,
      connectorId: this.input.connectorId,
      ticketId: this.input.ticketId,
      ticketKey: this.current.ticketKey,
      createdAt: this.nowIso,
      ...task,
      ...(absent ? { noteAbsent: true as const } : {}),
    };
    this.emit.writeback(full);
    // A review ticket's opening is tracked on the grant (its review); every other task ends in a
    // `ticket.written-back` record, awaited before the ticket may be retired.
    if (task.item.kind !== 'open-review') this.apply({ type: 'writeback-queued', idempotencyKey: task.idempotencyKey });
  }
}
