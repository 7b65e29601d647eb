import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evidenceTargets, type EvidenceReport, type EvidenceRun } from '../../bench/report/evidence.js';
import { resultsReadme } from '../../bench/report/markdown.js';

const run = (tickets: number, ticketMs: number, grantMs: number): EvidenceRun => ({
  tickets,
  perTicket: { custody: 5, signed: 2 },
  writeMs: tickets * 10,
  records: { 'access.custody.v1': tickets * 5 },
  byTicket: { samples: [ticketMs], medianMs: ticketMs, maxMs: ticketMs },
  byGrant: { samples: [grantMs], medianMs: grantMs, maxMs: grantMs },
  wholeTopicScan: { ms: tickets, records: tickets * 7 },
});

function report(small: EvidenceRun, large: EvidenceRun): EvidenceReport {
  const body = {
    kind: 'evidence' as const,
    name: 'evidence-test',
    startedAt: '2026-12-03T12:00:00.000Z',
    tickets: large.tickets,
    machine: { cpuModel: 'test cpu', memTotalBytes: 2 ** 30, nproc: 2, node: 'v24' },
    durationS: 1,
    shape: { partitions: 6, custodyEventsPerTicket: 5, signedMessagesPerTicket: 2, samples: 1 },
    small,
    large,
  };
  return { ...body, targets: evidenceTargets(body) };
}

describe('bench: the evidence results', () => {
  it('reports the lookups at N against 1k as met within 2 x, and missed beyond', () => {
    const flat = report(run(1000, 100, 120), run(100_000, 150, 250));
    expect(flat.targets.map((t) => [t.value, t.met])).toEqual([
      [1.5, true],
      [2.08, false],
    ]);
    expect(flat.targets[0]?.target).toContain('with 100000 tickets <= 2 x with 1000');
  });

  it('gets a section of its own in bench/results/README.md, beside the other results', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-evidence-report-'));
    try {
      writeFileSync(join(dir, 'evidence-test.json'), JSON.stringify(report(run(1000, 100, 120), run(100_000, 150, 250))));
      const readme = resultsReadme(dir);
      expect(readme).toContain('## evidence-test (evidence lookups, history of 100000 tickets');
      expect(readme).toContain('| `evidence --ticket KEY`: median (max) | 100 ms (100) | 150 ms (150) | 1.5 |');
      expect(readme).toContain('| records on access.custody.v1 | 5000 | 500000 | |');
      expect(readme).toContain('| evidence --grant (median) with 100000 tickets <= 2 x with 1000 (issue 15) | 2.08 | NO |');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
