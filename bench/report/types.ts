/** The shape of a results file (`bench/results/<name>.json`), as written by bench/main.ts. */
import type { E2eResults, LoadRun } from '../scenarios/e2e.js';
import type { BaselineResults } from '../scenarios/baselines.js';
import type { HistoryResults } from '../scenarios/history.js';
import type { IngressRun } from '../scenarios/ingress.js';
import type { RequestsResults } from '../scenarios/requests.js';
import type { StageCounts } from '../source-requests.js';

export interface Target {
  target: string;
  value: number | null;
  met: boolean;
}

interface Common {
  name: string;
  startedAt: string;
  tickets: number;
  machine: { cpuModel: string; memTotalBytes: number; nproc: number; loadAverageAtStart?: number[]; loadAverageAtEnd?: number[]; node: string };
  durationS: number;
  targets: Target[];
}

export interface E2eReport extends Common {
  kind: 'e2e';
  load: { warmup: number; concurrency: number; fetchConcurrency: number; openLoopRates: readonly number[]; openLoopSeconds: number; ingressFixedRate: number; ingressFixedSeconds: number; burst: { tickets: number; updates: number } };
  messageBytes: E2eResults['messageBytes'];
  baselines: BaselineResults;
  ingress: { fixedRate: IngressRun; saturation: IngressRun };
  e2e: { saturation: LoadRun; openLoop: LoadRun[] };
  sourceRequests: { saturation: StageCounts; bursts: StageCounts; withEchoes: RequestsResults | null };
  kafkaRecords: E2eResults['kafkaRecords'];
  cpu: E2eResults['cpu'];
  burst: E2eResults['burst'];
  ratios: { ingressVsRawProduceSingles: number; e2eVsMinimalIo: number; e2eVsIoEquivalentLoop: number; e2eVsPlainLoop: number; e2eVsRawProduce: number };
  memory: E2eResults['memory'];
}

export interface HistoryReport extends Common {
  kind: 'history';
  history: HistoryResults;
}
