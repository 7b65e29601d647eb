import type { Connector } from '../connector/contract.js';
import type { CustodyEvent, Decision, EntitlementRequest, PendingGrant } from '../model/index.js';
import type { BreakGlassHoldings } from '../policy/break-glass-limit.js';
import type { Output } from './cloudevents.js';

/** Versions that every decision is taken under; recorded in custody. */
export interface DecisionVersions {
  readonly policyVersion: string;
  readonly catalogVersion: string;
  readonly directoryVersion: string;
}

/** The policy engine as the processor sees it (real one: `src/policy`, fakes in unit tests). */
export interface PolicyPort {
  /** `holdings`: the active break-glass grants each person holds (for `breakGlass.maxActivePerPerson`). */
  decide(request: EntitlementRequest, now: Date, holdings: BreakGlassHoldings): Decision;
  versions(): DecisionVersions;
  /**
   * What a request refused only for missing approvals would be granted, and who must approve it
   * (`pendingGrant`); null otherwise. Absent: no such note is written (the rejection is).
   */
  pending?(request: EntitlementRequest, decision: Decision): PendingGrant | null;
}

/** Signs a message body (detached JWS over its canonical JSON without `signature`). */
export interface SignerPort {
  sign<T extends object>(body: T): T & { signature: string };
}

/** Custody primitives (real one: `src/custody`). */
export interface CustodyPort {
  /** SHA-256 hex of the RFC 8785 canonical JSON of a value. */
  digest(value: unknown): string;
  /** Appends an event to a ticket's chain whose head is `head` (null: a new chain). */
  chain(head: { seq: number; hash: string } | null, draft: Omit<CustodyEvent, 'seq' | 'prevHash' | 'hash'>): CustodyEvent;
}

/** Topic names the processor writes to. */
export interface PipelineTopics {
  readonly ticketEvents: string;
  readonly ticketState: string;
  readonly grants: (channel: string) => string;
  readonly rejected: string;
  readonly custody: string;
  readonly writeback: string;
  readonly dlq: string;
  /** The canonical request of each decision (`DecisionRequestRecord`). */
  readonly decisionRequests: string;
  /** Where each ticket's custody events and signed messages are (`TicketIndexRecord`), written in the same transaction. */
  readonly ticketIndex: string;
  /** Compacted break-glass holdings (`BreakGlassHolding`), keyed by grant id. */
  readonly breakGlass: string;
}

/**
 * The break-glass holdings the processor decides with (real one: `BreakGlassLedger`, fed by the
 * `grantline.break-glass.v1` topic). A chunk's own holdings count before its transaction commits.
 */
export interface BreakGlassPort extends BreakGlassHoldings {
  /** This view with the holdings that `outputs` (of the chunk being decided, not committed yet) write. */
  withStaged(outputs: readonly Output[]): BreakGlassPort;
  /** Applies the holdings that committed `outputs` wrote, before the topic is read back. */
  committed(outputs: readonly Output[]): void;
}

export interface ProcessorPorts {
  readonly policy: PolicyPort;
  readonly signer: SignerPort;
  readonly custody: CustodyPort;
  readonly topics: PipelineTopics;
  readonly breakGlass: BreakGlassPort;
  /** Who decides, e.g. `grantline/0.1.0 processor@host-1`. */
  readonly decidedBy: string;
  readonly connector: (connectorId: string) => Connector | undefined;
}
