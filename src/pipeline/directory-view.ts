import type { Logger } from 'pino';
import { scimStateOf, type DirectoryConflict, type MergedDirectory, type ScimDirectoryState } from '../catalog/index.js';
import type { InboundMessage, Kafka } from '../kafka/index.js';
import { DirectoryRecord, type ScimGroupRecord, type ScimUserRecord } from '../model/index.js';
import type { PipelineMetrics } from './metrics.js';
import type { Gate } from './refusals.js';
import { TopicTail } from './state-view.js';

const CONFLICT_KINDS: readonly DirectoryConflict['kind'][] = ['principal', 'identity', 'group', 'nhi'];

/**
 * Reports the conflicts between the directory file and SCIM each time another directory comes
 * into force: the gauge per kind, and a warning for each conflict not reported before.
 */
export function directoryConflictReporter(metrics: Pick<PipelineMetrics, 'directoryConflicts'>, logger: Logger): (directory: MergedDirectory) => void {
  let reported = new Set<string>();
  return (directory) => {
    const now = new Set<string>();
    const counts = new Map(CONFLICT_KINDS.map((k) => [k, 0]));
    for (const c of directory.conflicts) {
      counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
      const key = `${c.kind}|${c.subject}|${c.field}|${c.message}`;
      now.add(key);
      if (!reported.has(key)) logger.warn({ kind: c.kind, subject: c.subject, field: c.field, directoryVersion: directory.version }, `the directory file and SCIM disagree on ${c.subject} ${c.field}: ${c.message}; SCIM's word is in force`);
    }
    reported = now;
    for (const [kind, count] of counts) metrics.directoryConflicts.set({ kind }, count);
  };
}

interface Held {
  readonly offset: bigint;
  /** Null after a tombstone (an operator deleting a key): the record is gone. */
  readonly record: DirectoryRecord | null;
}

/**
 * Every process's copy of `grantline.directory.v1`: the latest record of each user and group. A
 * record replaces what is held for its key only when it sits later on the topic (a higher offset
 * of the key's partition), so the SCIM endpoint can apply its own write at once, at the offset the
 * broker gave it, and a replay of the topic that has not reached it yet never takes it back.
 * `onChange` is told (coalesced) whenever what is held changes.
 */
export class DirectoryView {
  readonly #records = new Map<string, Held>();
  readonly #tail: TopicTail;
  readonly #logger: Logger;
  readonly #onChange: (state: ScimDirectoryState) => void;
  readonly #gate: Gate;
  #scheduled = false;
  #cached: ScimDirectoryState | null = null;

  /** `gate` authenticates each record (its MAC, src/trust); a refused one is reported and never applied. */
  constructor(kafka: Kafka, topic: string, logger: Logger, gate: Gate, onChange: (state: ScimDirectoryState) => void) {
    this.#gate = gate;
    this.#logger = logger;
    this.#onChange = onChange;
    this.#tail = new TopicTail(kafka, topic, (message, partition) => this.#read(message, partition));
  }

  /** Reads the topic to its end and puts what it holds in force before resolving. */
  async start(): Promise<void> {
    await this.#tail.start();
    await this.#tail.catchUp();
    this.#notify();
  }

  async stop(): Promise<void> {
    await this.#tail.stop();
  }

  /** Resolves once everything written to the topic before the call has been read. */
  catchUp(): Promise<void> {
    return this.#tail.catchUp();
  }

  /** The state as held now. */
  state(): ScimDirectoryState {
    this.#cached ??= scimStateOf([...this.#records.values()].flatMap((h) => (h.record === null ? [] : [h.record])));
    return this.#cached;
  }

  users(): ScimUserRecord[] {
    return this.state().users as ScimUserRecord[];
  }

  groups(): ScimGroupRecord[] {
    return this.state().groups as ScimGroupRecord[];
  }

  /** Applies a record this process wrote, at the offset the broker gave it, and puts it in force now. */
  applyOwn(key: string, record: DirectoryRecord, offset: bigint): void {
    if (this.#apply(key, record, offset)) this.#notify();
  }

  #apply(key: string, record: DirectoryRecord | null, offset: bigint): boolean {
    const held = this.#records.get(key);
    if (held !== undefined && held.offset >= offset) return false;
    this.#records.set(key, { offset, record });
    this.#cached = null;
    return true;
  }

  #read(message: InboundMessage, partition: number): void {
    const key = message.key?.toString('utf8');
    if (key === undefined || key === '') return;
    const offset = BigInt(message.offset);
    const opened = this.#gate.open(partition, message);
    if (!opened.ok) return;
    if (message.value === null) {
      if (this.#apply(key, null, offset)) this.#schedule();
      return;
    }
    const parsed = opened.value;
    const result = DirectoryRecord.safeParse(parsed);
    if (!result.success) {
      this.#logger.error({ partition, offset: message.offset, key }, 'invalid directory record skipped');
      return;
    }
    if (this.#apply(key, result.data, offset)) this.#schedule();
  }

  /** One notification for a burst of records (a replay of the whole topic is one). */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#notify();
    });
  }

  #notify(): void {
    try {
      this.#onChange(this.state());
    } catch (error) {
      this.#logger.error({ error: error instanceof Error ? error.message : String(error) }, 'applying the SCIM directory failed');
    }
  }
}
