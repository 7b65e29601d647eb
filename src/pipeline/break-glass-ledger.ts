import type { Logger } from 'pino';
import { TopicTail, type InboundMessage, type Kafka } from '../kafka/index.js';
import { BreakGlassHolding } from '../model/index.js';
import type { Output } from './cloudevents.js';
import type { BreakGlassPort } from './ports.js';
import type { Gate } from './refusals.js';

/** The message that records a holding (or its release) on `grantline.break-glass.v1`. */
export function holdingMessage(topic: string, holding: BreakGlassHolding): Output {
  return { topic, message: { key: holding.grantId, value: JSON.stringify(holding), headers: {} } };
}

function parseHolding(value: string): BreakGlassHolding | null {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return null;
  }
  const parsed = BreakGlassHolding.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/** The holdings that outputs bound for `topic` write, in order. */
function holdingsIn(topic: string, outputs: readonly Output[]): BreakGlassHolding[] {
  const out: BreakGlassHolding[] = [];
  for (const o of outputs) {
    if (o.topic !== topic) continue;
    const h = parseHolding(o.message.value);
    if (h !== null) out.push(h);
  }
  return out;
}

/** Read-only holdings by grant id, with another layer's records on top. */
class Layered implements BreakGlassPort {
  constructor(
    private readonly topic: string,
    private readonly base: BreakGlassLedger,
    private readonly staged: ReadonlyMap<string, BreakGlassHolding>,
  ) {}

  heldBy(person: string): BreakGlassHolding[] {
    const merged = new Map(this.base.entries(person).map((h) => [h.grantId, h]));
    for (const h of this.staged.values()) if (h.holder === person) merged.set(h.grantId, h);
    return [...merged.values()].filter((h) => h.releasedAt === null);
  }

  withStaged(outputs: readonly Output[]): BreakGlassPort {
    const next = new Map(this.staged);
    for (const h of holdingsIn(this.topic, outputs)) next.set(h.grantId, h);
    return new Layered(this.topic, this.base, next);
  }

  committed(outputs: readonly Output[]): void {
    this.base.committed(outputs);
  }
}

/**
 * The break-glass holdings of every person, as the compacted `grantline.break-glass.v1` topic holds
 * them (each record is one grant: written when it is issued, written again released when it is
 * revoked, always by the processor of the grant's ticket, in that ticket's transaction). Every
 * processor reads the whole topic, so the per-person limit counts grants decided on any partition
 * by any instance, and applies its own committed writes at once.
 *
 * Race window, said plainly: two break-glass requests of one person decided at the same moment on
 * partitions owned by different processes do not see each other (neither transaction is committed
 * when the other decides), and a grant another instance committed is seen only once this reader has
 * fetched it (usually well under a second). Both can be granted then: the limit can be exceeded by
 * as many requests as race within that window. Requests of one person on one partition, or in one
 * chunk, never race.
 */
export class BreakGlassLedger implements BreakGlassPort {
  private readonly byGrant = new Map<string, BreakGlassHolding>();
  private readonly byHolder = new Map<string, Set<string>>();
  private tail: TopicTail | null = null;

  constructor(
    readonly topic: string,
    private readonly logger?: Logger,
    /** Authenticates each record read (grantline's MAC, src/trust); a refused one is reported and never applied. */
    private readonly gate?: Gate,
  ) {}

  /** Applies one record: the latest record of a grant wins; a released grant is dropped. */
  apply(holding: BreakGlassHolding): void {
    const grants = this.byHolder.get(holding.holder) ?? new Set<string>();
    if (holding.releasedAt === null) {
      this.byGrant.set(holding.grantId, holding);
      grants.add(holding.grantId);
      this.byHolder.set(holding.holder, grants);
      return;
    }
    this.byGrant.delete(holding.grantId);
    grants.delete(holding.grantId);
    if (grants.size === 0) this.byHolder.delete(holding.holder);
  }

  /** Every active holding of a person this ledger holds. */
  entries(person: string): BreakGlassHolding[] {
    const ids = this.byHolder.get(person);
    if (ids === undefined) return [];
    return [...ids].flatMap((id) => {
      const h = this.byGrant.get(id);
      return h === undefined ? [] : [h];
    });
  }

  heldBy(person: string): BreakGlassHolding[] {
    return this.entries(person);
  }

  withStaged(outputs: readonly Output[]): BreakGlassPort {
    return new Layered(this.topic, this, new Map()).withStaged(outputs);
  }

  committed(outputs: readonly Output[]): void {
    for (const h of holdingsIn(this.topic, outputs)) this.apply(h);
  }

  private read(message: InboundMessage, partition: number): void {
    if (message.value === null) return;
    if (this.gate !== undefined && !this.gate.open(partition, message).ok) return;
    const holding = parseHolding(message.value.toString('utf8'));
    if (holding === null) {
      this.logger?.error({ topic: this.topic, partition, offset: message.offset }, 'invalid break-glass holding skipped');
      return;
    }
    this.apply(holding);
  }

  /** Follows the topic (its own consumer group) and reads it to its end. */
  async start(kafka: Kafka): Promise<void> {
    this.tail = new TopicTail(kafka, this.topic, (message, partition) => this.read(message, partition));
    await this.tail.start();
    await this.tail.catchUp();
  }

  async stop(): Promise<void> {
    await this.tail?.stop();
    this.tail = null;
  }
}
