import type { Logger } from 'pino';
import type { TicketState } from '../../model/index.js';
import type { PipelineMetrics } from '../metrics.js';
import { GrantIndex } from './grant-index.js';
import { pack, unpack } from './packed.js';

/** How many unpacked states a partition keeps at hand: those of the tickets being processed now. */
const RECENT = 128;

/**
 * The ticket states of one owned partition, with an index from grant id to ticket. States are held
 * packed (`packed.ts`); the few most recently used are also kept unpacked, so a batch reads and
 * writes a ticket's state without unpacking it each time. Nothing here grows with a state's size.
 */
export class HeldPartition {
  private readonly packed = new Map<string, string>();
  private readonly recent = new Map<string, TicketState>();
  private readonly grants = new GrantIndex();

  constructor(readonly partition: number) {}

  /** Tickets held. */
  get size(): number {
    return this.packed.size;
  }

  has(key: string): boolean {
    return this.packed.has(key);
  }

  get(key: string): TicketState | undefined {
    const hit = this.recent.get(key);
    if (hit !== undefined) {
      // Most recently used last: the oldest is the first to go.
      this.recent.delete(key);
      this.recent.set(key, hit);
      return hit;
    }
    const packed = this.packed.get(key);
    if (packed === undefined) return undefined;
    const state = unpack(packed);
    this.keep(key, state);
    return state;
  }

  keys(): IterableIterator<string> {
    return this.packed.keys();
  }

  /** Every held state, unpacked one at a time (not kept: a pass over all does not evict the recent ones). */
  *entries(): Generator<[string, TicketState]> {
    for (const [key, packed] of this.packed) yield [key, this.recent.get(key) ?? unpack(packed)];
  }

  /** Grants tracked on this partition (active, or awaiting their revocation's confirmation). */
  grantCount(): number {
    return this.grants.size;
  }

  /** The ticket that issued a grant, when it is on this partition (the index's candidate, confirmed by its state). */
  ticketOfGrant(grantId: string): string | undefined {
    return this.grants.candidates(grantId).find((key) => this.get(key)?.grants.some((g) => g.grantId === grantId) === true);
  }

  /** Holds a ticket's state if it is newer than the one held (null: the ticket was retired). */
  set(key: string, state: TicketState | null): boolean {
    const held = this.get(key);
    if (state !== null && held && held.version >= state.version) return false;
    if (held) for (const g of held.grants) this.grants.remove(g.grantId, key);
    if (state === null) {
      this.packed.delete(key);
      this.recent.delete(key);
      return held !== undefined;
    }
    for (const g of state.grants) this.grants.add(g.grantId, key);
    this.packed.set(key, pack(state));
    this.recent.delete(key);
    this.keep(key, state);
    return true;
  }

  /** Holds a state restored from the state topic (the partition is being restored: nothing else is held for the key). */
  load(key: string, state: TicketState): void {
    // Never the case in a restore (one state per key), but the grant index must not count one twice.
    if (this.packed.has(key)) for (const g of this.get(key)?.grants ?? []) this.grants.remove(g.grantId, key);
    for (const g of state.grants) this.grants.add(g.grantId, key);
    this.packed.set(key, pack(state));
  }

  private keep(key: string, state: TicketState): void {
    this.recent.set(key, state);
    if (this.recent.size > RECENT) this.recent.delete(this.recent.keys().next().value as string);
  }
}

export interface PartitionStatesDeps {
  /**
   * Makes this member the partition's only writer before its state is read: connects the
   * partition's transactional producer, which fences a previous owner still running (its open
   * transaction is aborted, its later commits refused).
   */
  readonly acquire: (partition: number) => Promise<void>;
  /** Closes what `acquire` opened once the partition is revoked. */
  readonly release: (partition: number) => Promise<void>;
  /** Reads the partition of the state topic to its end into `held` (read committed); returns the states it loaded, parsed. */
  readonly restore: (held: HeldPartition) => Promise<ReadonlyMap<string, TicketState>>;
  /** Told of every held state that changed (restored, committed, dropped with its partition). */
  readonly changed?: (held: HeldPartition, key: string) => void;
  /** Told when a partition's state is restored (with the restored states, parsed: none needs unpacking), or dropped. */
  readonly restored?: (held: HeldPartition, states: ReadonlyMap<string, TicketState>) => void;
  readonly dropped?: (partition: number) => void;
  readonly metrics: PipelineMetrics;
  readonly logger: Logger;
}

/**
 * The ticket states of exactly the ticket-events partitions this processor owns: restored from the
 * co-partitioned partition of `grantline.ticket-state.v1` when a partition is assigned, updated by
 * this processor's own commits, dropped when it is revoked. Nothing reads the whole topic.
 */
export class PartitionStates {
  private readonly held = new Map<number, Promise<HeldPartition>>();
  private readonly ready = new Map<number, HeldPartition>();
  /** Which restore of a partition is the current one (a drop during a restore voids it). */
  private readonly tokens = new Map<number, object>();

  constructor(private readonly deps: PartitionStatesDeps) {}

  /** The group's new assignment: drops revoked partitions, starts restoring new ones. */
  assigned(partitions: readonly number[]): void {
    const keep = new Set(partitions);
    for (const p of [...this.held.keys()]) if (!keep.has(p)) void this.drop(p);
    for (const p of partitions) void this.ensure(p).catch(() => undefined);
  }

  /** The partition's state, restored first if it is not held (its first batch waits for this). */
  ensure(partition: number): Promise<HeldPartition> {
    const existing = this.held.get(partition);
    if (existing) return existing;
    const started = process.hrtime.bigint();
    const entry = new HeldPartition(partition);
    const token = {};
    this.tokens.set(partition, token);
    const promise = (async () => {
      await this.deps.acquire(partition);
      const states = await this.deps.restore(entry);
      if (this.tokens.get(partition) !== token) return entry; // dropped while restoring
      this.ready.set(partition, entry);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.deps.metrics.stateRestore.observe(seconds);
      this.updateGauges(entry);
      this.deps.restored?.(entry, states);
      this.deps.logger.info({ partition, tickets: entry.size, seconds }, 'partition state restored');
      return entry;
    })();
    this.held.set(partition, promise);
    // A failed restore leaves nothing behind: the next batch of the partition tries again.
    promise.catch((error: unknown) => {
      if (this.tokens.get(partition) === token) {
        this.held.delete(partition);
        this.tokens.delete(partition);
      }
      this.deps.logger.warn({ partition, error: String(error) }, 'restoring partition state failed; will try again');
    });
    return promise;
  }

  /** Forgets a partition's state (revoked, or its producer failed and its state may be stale). */
  drop(partition: number): Promise<void> {
    if (!this.held.has(partition)) return Promise.resolve();
    this.held.delete(partition);
    this.ready.delete(partition);
    this.tokens.delete(partition);
    this.deps.metrics.stateTickets.remove({ partition: String(partition) });
    this.deps.metrics.statePartitions.set(this.ready.size);
    this.deps.dropped?.(partition);
    return this.deps.release(partition).catch((error: unknown) => this.deps.logger.warn({ partition, error: String(error) }, 'closing the partition producer failed'));
  }

  /** A partition whose state is restored and held. */
  partition(partition: number): HeldPartition | undefined {
    return this.ready.get(partition);
  }

  /** The partitions whose state is held. */
  partitions(): IterableIterator<HeldPartition> {
    return this.ready.values();
  }

  get(partition: number, key: string): TicketState | undefined {
    return this.ready.get(partition)?.get(key);
  }

  /** Applies states this processor committed. */
  apply(partition: number, updates: readonly { key: string; state: TicketState | null }[]): void {
    const held = this.ready.get(partition);
    if (!held) return;
    for (const { key, state } of updates) if (held.set(key, state)) this.deps.changed?.(held, key);
    this.updateGauges(held);
  }

  /** Drops every partition and closes what was opened for them (the processor stops). */
  async stop(): Promise<void> {
    await Promise.all([...this.held.keys()].map((p) => this.drop(p)));
  }

  private updateGauges(held: HeldPartition): void {
    this.deps.metrics.stateTickets.set({ partition: String(held.partition) }, held.size);
    this.deps.metrics.statePartitions.set(this.ready.size);
  }
}
