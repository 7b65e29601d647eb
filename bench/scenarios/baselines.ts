/**
 * The baselines, on the same broker and stub as grantline, with grantline's Kafka settings
 * (bench/baselines.ts): raw produce, the consume → produce loop, the one-GET I/O-equivalent loop
 * (issue 8) and the minimal-I/O loop (issue 16: what one decision needs and no more). Each runs in
 * a process of its own, as grantline does, while the stub answers from the benchmark process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StubIssue } from '../../dev/stubs/jira-stub.js';
import type { BaselineSpec, LoopBaseline, ProduceBaseline } from '../baselines.js';
import { log, ROOT } from '../lib.js';
import { JIRA_AUTH } from '../tickets.js';
import { CONCURRENCY, FETCH_CONCURRENCY, type BenchContext } from './context.js';

export interface BaselineResults {
  rawProduceGrants: ProduceBaseline;
  rawProduceEventsSingles: ProduceBaseline;
  consumeProduceLoop: LoopBaseline;
  /** One GET and one grant-size message per event (issue 8's I/O-equivalent). */
  consumeGetProduceLoop: LoopBaseline;
  /** Two GETs (issue, approvals), three messages (grant, custody, state) in the transaction, one POST (the note) per event. */
  minimalIoLoop: LoopBaseline;
}

/** A note as grantline writes one: its marker line and a few lines a person can act on. */
const NOTE = JSON.stringify({
  body: '[grantline:gr_0123456789abcdef0123456789abcdef]\nAccess granted: db-orders-prod-readwrite on orders-db (prod) for service_account svc-orders.\nGrant id: gr_0123456789abcdef0123456789abcdef\nValid from 2026-01-01T00:00:00.000Z until 2026-01-01T04:00:00.000Z.',
  public: false,
});

/** Runs one baseline in a child process (bench/baseline-child.ts) and returns its result. */
async function inChild<T>(ctx: BenchContext, spec: BaselineSpec): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'grantline-baseline-'));
  const file = join(dir, 'spec.json');
  writeFileSync(file, JSON.stringify(spec));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'baseline-child.ts'), file], {
    cwd: ROOT,
    env: { ...process.env, KAFKA_BROKERS: ctx.brokers },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  const last = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || last === '') throw new Error(`baseline ${spec.kind} failed (exit ${code})`);
  return JSON.parse(last) as T;
}

export async function baselinesScenario(
  ctx: BenchContext,
  opts: { count: number; singles: number; issues: StubIssue[]; bytes: { grant: number; ticketEvent: number; custody: number; ticketState: number } },
): Promise<BaselineResults> {
  const prefix = `bench-${ctx.runId}-base.`;
  const { count, bytes } = opts;
  const base = ctx.stubs.jira.baseUrl;
  const ids = opts.issues.map((t) => t.id);
  const headers = { authorization: JIRA_AUTH, accept: 'application/json' };
  log('baselines (each in a process of its own)');
  const rawProduceGrants = await inChild<ProduceBaseline>(ctx, { kind: 'raw-batched', topic: `${prefix}raw-grants.v1`, count, bytes: bytes.grant, batch: 100 });
  log(`raw produce (grant size): ${rawProduceGrants.perSec}/s`);
  const rawProduceEventsSingles = await inChild<ProduceBaseline>(ctx, { kind: 'raw-singles', topic: `${prefix}raw-events.v1`, count: opts.singles, bytes: bytes.ticketEvent, concurrency: CONCURRENCY, maxMs: 90_000 });
  log(`raw produce (event size, singles): ${rawProduceEventsSingles.perSec}/s`);
  const loop = { count, inBytes: bytes.ticketEvent, fetchConcurrency: FETCH_CONCURRENCY, maxMs: 600_000 };
  const consumeProduce = await inChild<LoopBaseline>(ctx, { kind: 'loop', ids, options: { ...loop, prefix: `${prefix}plain.`, outBytes: [bytes.grant] } });
  log(`consume -> produce (tx per batch): ${consumeProduce.perSec}/s`);
  const consumeGetProduce = await inChild<LoopBaseline>(ctx, {
    kind: 'loop',
    ids,
    options: { ...loop, prefix: `${prefix}get.`, outBytes: [bytes.grant] },
    reads: { urls: [`${base}/rest/api/3/issue/{id}`], headers },
  });
  log(`consume -> GET -> produce (tx per batch): ${consumeGetProduce.perSec}/s`);
  const minimalIo = await inChild<LoopBaseline>(ctx, {
    kind: 'loop',
    ids,
    // The same three records a decision needs: the grant, its custody event and the ticket's state.
    options: { ...loop, prefix: `${prefix}min.`, outBytes: [bytes.grant, bytes.custody || bytes.grant, bytes.ticketState || bytes.grant] },
    reads: { urls: [`${base}/rest/api/3/issue/{id}?expand=changelog`, `${base}/rest/servicedeskapi/request/{id}/approval?start=0&limit=50`], headers },
    write: { url: `${base}/rest/servicedeskapi/request/{id}/comment`, body: NOTE, headers: { ...headers, 'content-type': 'application/json' } },
  });
  log(`minimal I/O: 2 GETs -> 3 messages in tx -> POST: ${minimalIo.perSec}/s`);
  ctx.stubs.jira.requests.splice(0);
  return { rawProduceGrants, rawProduceEventsSingles, consumeProduceLoop: consumeProduce, consumeGetProduceLoop: consumeGetProduce, minimalIoLoop: minimalIo };
}
