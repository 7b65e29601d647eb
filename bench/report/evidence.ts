/** The evidence bench's results file (`bench/evidence.ts`): its shape, its targets, its README section. */
import type { Target } from './types.js';

/** Times of one kind of `grantline evidence` lookup over the sampled tickets. */
export interface Lookup {
  samples: number[];
  medianMs: number;
  maxMs: number;
}

/** One history: how long writing it took, what the topics hold, and the lookups' times. */
export interface EvidenceRun {
  tickets: number;
  perTicket: { custody: number; signed: number };
  writeMs: number;
  /** Records per topic (without the prefix), end minus start offsets summed over partitions (transaction markers included). */
  records: Record<string, number>;
  byTicket: Lookup;
  byGrant: Lookup;
  /** Reading the custody, grant and rejection topics whole (what `evidence` did before the index); null when skipped. */
  wholeTopicScan: { ms: number; records: number } | null;
}

export interface EvidenceReport {
  kind: 'evidence';
  name: string;
  startedAt: string;
  tickets: number;
  machine: { cpuModel: string; memTotalBytes: number; nproc: number; loadAverageAtStart?: number[]; loadAverageAtEnd?: number[]; node: string };
  durationS: number;
  /** Which build of the index was measured, when it is not the commit the file is in. */
  measuredWith?: string;
  shape: { partitions: number; custodyEventsPerTicket: number; signedMessagesPerTicket: number; samples: number };
  small: EvidenceRun;
  large: EvidenceRun;
  targets: Target[];
}

const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

/** Issue 15: evidence by ticket or grant in time that does not grow with the topic (reported, never asserted). */
export function evidenceTargets(r: Omit<EvidenceReport, 'targets'>): Target[] {
  const within = (what: string, large: number, small: number): Target => {
    const value = ratio(large, small);
    return { target: `${what} with ${r.large.tickets} tickets <= 2 x with ${r.small.tickets} (issue 15)`, value, met: Number.isFinite(value) && value <= 2 };
  };
  return [within('evidence --ticket (median)', r.large.byTicket.medianMs, r.small.byTicket.medianMs), within('evidence --grant (median)', r.large.byGrant.medianMs, r.small.byGrant.medianMs)];
}

const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The results README's section of one evidence results file. */
export function evidenceSection(r: EvidenceReport, machineLine: string, targets: string[]): string[] {
  const { small, large } = r;
  const lines = [`## ${r.name} (evidence lookups, history of ${r.tickets} tickets, ${r.startedAt})`, '', machineLine, ''];
  if (r.measuredWith !== undefined) lines.push(`Measured with: ${r.measuredWith}.`, '');
  lines.push(
    `Each ticket: ${r.shape.custodyEventsPerTicket} custody events and ${r.shape.signedMessagesPerTicket} signed messages (granted, then revoked), written by grantline's per-ticket processing and transactional committer; ${r.shape.partitions} partitions per topic; ${r.shape.samples} tickets asked about per history, spread over it. Times are of \`grantline evidence\`'s \`run\` in the bench process (connect, read, verify, print), without Node's start-up.`,
    '',
  );
  lines.push(`| measure | ${small.tickets} tickets | ${large.tickets} tickets | ratio |`, '|---|---|---|---|');
  lines.push(`| \`evidence --ticket KEY\`: median (max) | ${small.byTicket.medianMs} ms (${small.byTicket.maxMs}) | ${large.byTicket.medianMs} ms (${large.byTicket.maxMs}) | ${ratio(large.byTicket.medianMs, small.byTicket.medianMs)} |`);
  lines.push(`| \`evidence --grant ID\`: median (max) | ${small.byGrant.medianMs} ms (${small.byGrant.maxMs}) | ${large.byGrant.medianMs} ms (${large.byGrant.maxMs}) | ${ratio(large.byGrant.medianMs, small.byGrant.medianMs)} |`);
  if (small.wholeTopicScan && large.wholeTopicScan) {
    lines.push(`| reading custody, grant and rejection topics whole (before the index, for any ticket) | ${sec(small.wholeTopicScan.ms)} (${small.wholeTopicScan.records} records) | ${sec(large.wholeTopicScan.ms)} (${large.wholeTopicScan.records} records) | ${ratio(large.wholeTopicScan.ms, small.wholeTopicScan.ms)} |`);
  }
  lines.push(`| writing the history (${r.shape.partitions} transactions in flight) | ${sec(small.writeMs)} | ${sec(large.writeMs)} | |`);
  for (const topic of Object.keys(large.records)) lines.push(`| records on ${topic} | ${small.records[topic] ?? 'n/a'} | ${large.records[topic]} | |`);
  lines.push('');
  return [...lines, ...targets];
}
