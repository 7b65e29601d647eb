/**
 * What the group coordinator says a consumer group's members own: the broker's view, independent of
 * what each grantline process reports about itself. Reads kafkajs' admin API directly (tests only:
 * grantline's own code reaches Kafka through src/kafka).
 */
import { AssignerProtocol, type Kafka } from 'kafkajs';

export interface MemberAssignment {
  readonly clientId: string;
  readonly memberId: string;
  /** Partitions of `topic` assigned to the member, ascending. */
  readonly partitions: number[];
}

/** The members of `groupId` and the partitions of `topic` each is assigned (a group in a stable state). */
export async function groupAssignment(kafka: Kafka, groupId: string, topic: string): Promise<{ state: string; members: MemberAssignment[] }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    if (group === undefined) return { state: 'Dead', members: [] };
    const members = group.members.map((m) => {
      const decoded = m.memberAssignment.length === 0 ? null : AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      const partitions = [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b);
      return { clientId: m.clientId, memberId: m.memberId, partitions };
    });
    return { state: group.state, members };
  } finally {
    await admin.disconnect();
  }
}
