/**
 * Source requests per granted ticket with Jira's echoes of grantline's own notes: a fresh Jira
 * stub and grantline instance, the poller every second, and the stub behaving as Jira Cloud does
 * when a comment is added (the issue's `updated` moves, and a `comment_created` webhook is sent).
 * Tickets arrive at a steady rate below capacity; the run ends when the poller has looked past the
 * last note and nothing is left to fetch.
 */
import { Agent } from 'node:http';
import { startStubs } from '../../dev/harness.js';
import type { StubIssue } from '../../dev/stubs/jira-stub.js';
import { startGrantline } from '../grantline.js';
import { watchDecisions } from '../kafka.js';
import { log, runLoad, sleep, waitFor } from '../lib.js';
import { RequestTally, type StageCounts } from '../source-requests.js';
import { postCommentEcho, postDelivery, seedGranted } from '../tickets.js';
import { FETCH_CONCURRENCY, settle, type BenchContext } from './context.js';

export interface RequestsResults {
  tickets: number;
  ratePerSec: number;
  pollIntervalMs: number;
  granted: number;
  /** `comment_created` webhooks sent for grantline's notes. */
  echoWebhooks: number;
  stages: StageCounts;
  method: string;
}

const POLL_INTERVAL_MS = 1000;
/** Searches after the last ticket request before the run counts as over: the poller saw everything. */
const QUIET_POLLS = 3;

export async function requestsScenario(ctx: BenchContext, opts: { tickets: number; ratePerSec: number }): Promise<RequestsResults> {
  const stubs = await startStubs();
  stubs.jira.state.commentsTouchUpdated = true;
  const prefix = `bench-${ctx.runId}-req.`;
  log(`source requests with echoes: ${opts.tickets} tickets at ${opts.ratePerSec}/s, poll every ${POLL_INTERVAL_MS} ms`);
  const gl = await startGrantline({
    brokers: ctx.brokers,
    prefix,
    stubs,
    role: 'all',
    instanceId: `bench-${ctx.runId}-req`,
    pipeline: { fetchConcurrency: FETCH_CONCURRENCY, pollIntervalMs: POLL_INTERVAL_MS, pollLookbackMs: 0 },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const watch = await watchDecisions(ctx.kafka, prefix);
  const echoes: Promise<boolean>[] = [];
  let lastTicketRequest = performance.now();
  let searchesSince = 0;
  const tally = new RequestTally(
    stubs.jira.requests,
    (ref) => stubs.jira.state.issue(ref)?.id,
    (issueId) => {
      // Jira sends comment_created for the note grantline just wrote.
      const issue = stubs.jira.state.issue(issueId);
      const note = issue?.comments.findLast((c) => c.author.accountId === 'grantline-bot');
      if (issue && note) echoes.push(postCommentEcho(agent, gl.url, issue, note, stubs.jira.baseUrl));
    },
  );
  // Watches the raw log for the end of the run before the tally empties it.
  const pump = setInterval(() => {
    for (const r of stubs.jira.requests) {
      if (r.path.includes('/search')) searchesSince += 1;
      else {
        lastTicketRequest = performance.now();
        searchesSince = 0;
      }
    }
    tally.pump();
  }, 50);
  try {
    const issues = seedGranted(stubs, opts.tickets);
    const ids = new Set(issues.map((t) => t.id));
    await runLoad({
      count: issues.length,
      ratePerSec: opts.ratePerSec,
      concurrency: 256,
      maxMs: 120_000 + opts.tickets * 50,
      send: (i) => postDelivery(agent, gl.url, issues[i] as StubIssue),
    });
    await waitFor(() => issues.every((t) => watch.granted.has(t.key)), 120_000, 'grants');
    await settle(ctx, prefix, () => issues.every((t) => tally.hasNote(t.id)), 120_000);
    await waitFor(() => searchesSince >= QUIET_POLLS && performance.now() - lastTicketRequest > QUIET_POLLS * POLL_INTERVAL_MS, 120_000, 'the poller to look past the last note');
    await Promise.all(echoes);
    await sleep(500);
    const stages = tally.take(ids, true);
    log(`source requests per ticket: ${stages.totalPerTicket} (${Object.entries(stages.perTicket).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ')})`);
    return {
      tickets: opts.tickets,
      ratePerSec: opts.ratePerSec,
      pollIntervalMs: POLL_INTERVAL_MS,
      granted: issues.filter((t) => watch.granted.has(t.key)).length,
      echoWebhooks: echoes.length,
      stages,
      method:
        'a fresh Jira stub that moves `updated` when a comment is added and a comment_created webhook for every note; one signed delivery per ticket, open loop; counted until the poller (every 1 s, 50 per page) searched 3 times with no ticket read since',
    };
  } finally {
    clearInterval(pump);
    await watch.stop();
    const code = await gl.stop();
    if (code !== 0) log(`grantline (requests) exited with ${code}; log: ${gl.logFile}`);
    agent.destroy();
    await stubs.close();
  }
}
