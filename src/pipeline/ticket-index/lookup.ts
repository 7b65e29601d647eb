import { locationKey, partitionCount, partitionOf, readLocations, readPartitionsToEnd, TAIL_GROUP_PREFIX, type InboundMessage, type Kafka } from '../../kafka/index.js';
import { grantIndexKey, nameIndexKey, ticketKey, TicketIndexRecord, type IndexedRecord } from '../../model/index.js';
import type { Gate } from '../refusals.js';

/** A ticket as the index knows it: its locations in the order they were written. */
export interface IndexedTicket {
  readonly connectorId: string;
  readonly ticketId: string;
  /** The human key its latest custody events record. */
  readonly ticketKey: string;
  readonly records: readonly IndexedRecord[];
}

type Ticket = { connectorId: string; ticketId: string };

/**
 * Reads `grantline.ticket-index.v1` for one key at a time: only the partition the key hashes to,
 * never the custody, grant or rejection topics whole. Every record passes `gate` (grantline's MAC,
 * src/trust) and must name the key it is stored under; anything else is skipped.
 */
export class TicketIndexReader {
  private partitions: Promise<number> | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly gate: Gate,
  ) {}

  /** The index records stored under `key`, in the order they were written. */
  async entries(key: string): Promise<TicketIndexRecord[]> {
    this.partitions ??= partitionCount(this.kafka, this.topic);
    const partition = partitionOf(this.topic, key, await this.partitions);
    const wanted = Buffer.from(key, 'utf8');
    const out: TicketIndexRecord[] = [];
    await readPartitionsToEnd(
      this.kafka,
      this.topic,
      [partition],
      (message) => {
        // Other keys' records are passed over by their key bytes alone: no parse, no MAC check.
        if (message.key === null || !wanted.equals(message.key)) return;
        const opened = this.gate.open(partition, message);
        if (!opened.ok) return;
        const parsed = TicketIndexRecord.safeParse(opened.value);
        if (parsed.success && storedUnder(parsed.data) === key) out.push(parsed.data);
      },
      { groupPrefix: TAIL_GROUP_PREFIX },
    );
    return out;
  }

  /** The ticket a grant id was issued by, or that a name (human key or source id) names. */
  async find(by: { grant: string } | { name: string }): Promise<Ticket | null> {
    const records = 'grant' in by ? await this.entries(grantIndexKey(by.grant)) : await this.entries(nameIndexKey(by.name));
    const first = records[0];
    return first === undefined ? null : { connectorId: first.connectorId, ticketId: first.ticketId };
  }

  /** Everything the index holds of one ticket; null when it holds nothing. */
  async ticket(t: Ticket): Promise<IndexedTicket | null> {
    const records = (await this.entries(ticketKey(t.connectorId, t.ticketId))).flatMap((r) => (r.kind === 'ticket' ? [r] : []));
    const last = records.at(-1);
    if (last === undefined) return null;
    return { connectorId: t.connectorId, ticketId: t.ticketId, ticketKey: last.ticketKey, records: records.flatMap((r) => r.records) };
  }

  /** The records at the given locations, in the same order; null where a location holds none any more. */
  async read(records: readonly IndexedRecord[]): Promise<(InboundMessage | null)[]> {
    const found = await readLocations(this.kafka, records);
    return records.map((r) => found.get(locationKey(r)) ?? null);
  }
}

/** The key a genuine index record is stored under. */
function storedUnder(record: TicketIndexRecord): string {
  switch (record.kind) {
    case 'ticket':
      return ticketKey(record.connectorId, record.ticketId);
    case 'grant':
      return grantIndexKey(record.grantId);
    case 'name':
      return nameIndexKey(record.name);
  }
}
