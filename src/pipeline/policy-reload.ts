import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { describeProblem, POLICY_DOCUMENTS, watchFiles, type FileWatch, type PolicyDocuments, type ReloadReport, type WatchOptions } from '../catalog/index.js';
import { describeError } from '../connector/errors.js';
import type { PolicyAlert } from '../model/index.js';
import type { Component } from '../service/service.js';
import type { PipelineMetrics } from './metrics.js';

/** What set a reload off; logged with its outcome. */
export type ReloadTrigger = 'signal' | 'file-change' | 'poll' | 'start';

export interface PolicyReloaderOptions {
  readonly documents: PolicyDocuments;
  readonly metrics: Pick<PipelineMetrics, 'policyReloads' | 'policyDocumentValid'>;
  readonly logger: Logger;
  /** Publishes alerts on `grantline.alerts.v1`. A failure is logged; the reload's outcome stands. */
  readonly publish: (alerts: PolicyAlert[]) => Promise<void>;
  /** `service@instance`, recorded in alerts. */
  readonly raisedBy: string;
  /** Re-read the files this often besides on change and SIGHUP: file events are not delivered on every file system. */
  readonly pollMs: number;
  readonly debounceMs?: number;
  readonly watch?: (files: readonly string[], onChange: () => void, options: WatchOptions) => FileWatch;
  readonly now?: () => Date;
}

/**
 * Keeps the catalog and directory in force current while the process runs: re-reads them when
 * either file changes, every `pollMs`, and on SIGHUP (`reload`, which the service calls), and
 * reports each outcome: metrics, a log line (every problem with its file and path) and, when a new
 * version is refused, an alert. Invalid versions never take effect (`PolicyDocuments` sees to that).
 */
export class PolicyReloader implements Component {
  readonly name = 'policy-documents';
  readonly #options: PolicyReloaderOptions;
  #watch: FileWatch | null = null;
  #timer: NodeJS.Timeout | null = null;
  readonly #running = new Set<Promise<unknown>>();
  /** The last alert published, so a file that stays invalid is alerted once, not at every check. */
  #alerted: string | null = null;
  /** An alert Kafka did not take; sent again at the next poll. */
  #unsent: PolicyAlert | null = null;

  constructor(options: PolicyReloaderOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const { documents, logger } = this.#options;
    for (const document of POLICY_DOCUMENTS) this.#options.metrics.policyDocumentValid.set({ document }, 1);
    const watch = this.#options.watch ?? watchFiles;
    this.#watch = watch([documents.files.catalog, documents.files.directory], () => this.#background('file-change'), {
      ...(this.#options.debounceMs === undefined ? {} : { debounceMs: this.#options.debounceMs }),
      onError: (error, directory) => logger.warn({ directory, error: describeError(error) }, 'cannot watch the policy documents\' directory; re-reading them periodically and trying again'),
    });
    this.#timer = setInterval(() => this.#background('poll'), this.#options.pollMs);
    this.#timer.unref();
    // An edit between the first load and the watch would otherwise wait for the next poll.
    await this.refresh('start');
  }

  async stop(): Promise<void> {
    this.#watch?.close();
    this.#watch = null;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await Promise.allSettled([...this.#running]);
  }

  /** SIGHUP: read both files again and report the outcome, even when their bytes did not change. */
  async reload(): Promise<void> {
    await this.reloadNow('signal');
  }

  async reloadNow(trigger: ReloadTrigger): Promise<ReloadReport> {
    const report = await this.#options.documents.reload();
    await this.#report(report, trigger);
    return report;
  }

  /** Re-reads the files and reports the outcome when their bytes changed since the last read; else null. */
  async refresh(trigger: ReloadTrigger): Promise<ReloadReport | null> {
    const report = await this.#options.documents.refresh();
    if (report !== null) await this.#report(report, trigger);
    return report;
  }

  #background(trigger: ReloadTrigger): void {
    const run = (trigger === 'poll' && this.#unsent !== null ? this.#publish(this.#unsent) : Promise.resolve())
      .then(() => this.refresh(trigger))
      .catch((error: unknown) => this.#options.logger.error({ trigger, error: describeError(error) }, 'reloading the catalog and directory failed; the version in force stays'))
      .finally(() => this.#running.delete(run));
    this.#running.add(run);
  }

  async #report(report: ReloadReport, trigger: ReloadTrigger): Promise<void> {
    const { metrics, logger } = this.#options;
    for (const document of POLICY_DOCUMENTS) {
      const { outcome, valid } = report.documents[document];
      metrics.policyReloads.inc({ document, outcome });
      metrics.policyDocumentValid.set({ document }, valid ? 1 : 0);
    }
    const inForce = { catalogVersion: report.snapshot.catalog.version, directoryVersion: report.snapshot.directory.version };
    const fields = { trigger, outcome: report.outcome, catalog: report.documents.catalog.outcome, directory: report.documents.directory.outcome, ...inForce };
    if (report.outcome === 'reloaded' || report.outcome === 'unchanged') {
      // Valid again: a later invalid version is news, and an alert not sent yet is moot.
      this.#alerted = null;
      this.#unsent = null;
    }
    if (report.outcome === 'reloaded') {
      logger.info({ ...fields, previous: { catalogVersion: report.previous.catalog.version, directoryVersion: report.previous.directory.version } }, 'catalog and directory reloaded: the new version decides from now on');
      return;
    }
    if (report.outcome === 'unchanged') {
      // Asked for by a signal: say so. Periodic checks that find nothing new stay quiet.
      logger[trigger === 'signal' ? 'info' : 'debug'](fields, 'catalog and directory reloaded: nothing changed');
      return;
    }
    const problems = report.problems.map((p) => ({ document: p.document, file: p.file, path: p.path, message: p.message }));
    const message = `a new version of the ${[...new Set(problems.map((p) => p.document))].join(' and ')} was refused (${problems.length} problem${problems.length === 1 ? '' : 's'}); the version in force stays:\n${problems.map((p) => `  ${describeProblem(p)}`).join('\n')}`;
    logger.error({ ...fields, problems }, message);
    const alertId = `policy.reload.failed:${createHash('sha256').update(JSON.stringify([problems, inForce])).digest('hex').slice(0, 24)}`;
    if (alertId === this.#alerted || alertId === this.#unsent?.alertId) return;
    await this.#publish({
      alertId,
      kind: 'policy.reload.failed',
      problems,
      inForce,
      raisedBy: this.#options.raisedBy,
      message,
      raisedAt: (this.#options.now?.() ?? new Date()).toISOString(),
    });
  }

  async #publish(alert: PolicyAlert): Promise<void> {
    try {
      await this.#options.publish([alert]);
      this.#alerted = alert.alertId;
      this.#unsent = null;
    } catch (error) {
      this.#unsent = alert;
      this.#options.logger.error({ alertId: alert.alertId, error: describeError(error) }, 'could not publish the policy alert; trying again at the next periodic check');
    }
  }
}
