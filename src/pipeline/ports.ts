import type { Connector } from '../connector/contract.js';
import type { CustodyEvent, Decision, EntitlementRequest } from '../model/index.js';

/** Versions that every decision is taken under; recorded in custody. */
export interface DecisionVersions {
  readonly policyVersion: string;
  readonly catalogVersion: string;
  readonly directoryVersion: string;
}

/** The policy engine as the processor sees it (real one: `src/policy`, fakes in unit tests). */
export interface PolicyPort {
  decide(request: EntitlementRequest, now: Date): Decision;
  versions(): DecisionVersions;
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
}

export interface ProcessorPorts {
  readonly policy: PolicyPort;
  readonly signer: SignerPort;
  readonly custody: CustodyPort;
  readonly topics: PipelineTopics;
  /** Who decides, e.g. `grantline/0.1.0 processor@host-1`. */
  readonly decidedBy: string;
  readonly connector: (connectorId: string) => Connector | undefined;
}
