/**
 * The quick-start demo (run by scripts/run-local.sh). Starts the Jira and ServiceNow stubs on the
 * ports of the config's connectors, waits until grantline answers `/readyz`, then files access
 * tickets in the stubs and delivers each one to grantline's real webhook endpoint with a real
 * signature, the way Jira and the shipped ServiceNow business rule would. It then reads what landed
 * on the grant and rejection topics and prints, per ticket: outcome, entitlement, subject,
 * approvers with their record ids, TTL and expiry, or every rejection reason; whether the message's
 * signature verifies against grantline's `/.well-known/jwks.json` (and its custody chain); and the
 * note grantline wrote back on the ticket. The stubs keep running afterwards so grantline's
 * write-backs and pollers keep working; SIGINT or SIGTERM stops them.
 *
 *   node_modules/.bin/tsx scripts/demo.ts [--config PATH] [--url URL] [--once] [--timeout SECONDS]
 *
 * --config  the config grantline runs with (default $GRANTLINE_CONFIG, else examples/grantline.yaml):
 *           connector ids, stub ports, webhook secrets, topics and brokers ($KAFKA_BROKERS wins)
 * --url     grantline's base URL (default http://127.0.0.1:<http.port of the config>)
 * --once    exit after the summary: 0 when every ticket was decided as expected, 1 otherwise
 */
import { sep } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCatalog } from '../src/catalog/index.js';
import { openCli } from '../src/cli/kafka-cli.js';
import { Jwks, verifyMessage } from '../src/custody/index.js';
import { kafkaSettings } from '../src/kafka/index.js';
import { TopicTail } from '../src/pipeline/state-view.js';
import { startPostgresDemo } from './demo-postgres.js';
import { startStubs, type Stubs } from '../dev/harness.js';
import { type AccessTicket, jiraDelivery, jiraWebhookSecret, nhiDualApproval, post, seedJiraTicket, seedServiceNowTicket, seedServiceNowUsers, serviceNowDelivery, serviceNowHmacKey, type ServiceNowTicket } from '../dev/scenarios.js';

type Json = Record<string, unknown>;

/** One demo ticket: what it asks, in which system, and what grantline should answer. */
interface Scenario {
  title: string;
  jira?: AccessTicket;
  servicenow?: ServiceNowTicket;
  expect: { outcome: 'granted' } | { outcome: 'rejected'; codes: string[] };
}

const SCENARIOS: Scenario[] = [
  {
    title: 'NHI production access with dual approval',
    jira: nhiDualApproval({
      ttlHours: 4,
      summary: 'svc-orders needs read-write on the orders DB',
      description: 'Nightly reconciliation job writes corrections back to the orders database.',
    }),
    expect: { outcome: 'granted' },
  },
  {
    title: "Catalog request approved by the requester's manager",
    servicenow: {
      item: 'analytics-readonly',
      requester: 'alice',
      subject: { type: 'human', id: 'alice' },
      environment: 'prod',
      resource: 'analytics-warehouse',
      ttlHours: 72,
      justification: 'Quarterly revenue report',
      approvedBy: ['dave'],
    },
    expect: { outcome: 'granted' },
  },
  {
    title: 'Break-glass: pre-approved, short TTL, post-event review',
    jira: {
      entitlement: 'prod-breakglass-admin',
      requester: 'grace',
      subject: { type: 'human', id: 'grace' },
      environment: 'prod',
      resource: 'prod-fleet',
      ttlHours: 1,
      breakGlass: true,
      summary: 'INC-4711: prod hosts unreachable, need admin now',
      description: 'Incident INC-4711: the deploy agent is wedged on every prod host.',
    },
    expect: { outcome: 'granted' },
  },
  {
    title: 'Free text only (Jira)',
    jira: {
      entitlement: null,
      requester: 'alice',
      summary: 'Need access to the prod database',
      description: 'Please give me the same access as Bob has. Thanks!',
    },
    expect: { outcome: 'rejected', codes: ['FREE_TEXT_REQUEST'] },
  },
  {
    title: 'Free text only (ServiceNow "other access")',
    servicenow: {
      item: 'other-access',
      requester: 'alice',
      shortDescription: 'need access to the prod db pls',
      description: 'whatever bob has',
    },
    expect: { outcome: 'rejected', codes: ['FREE_TEXT_REQUEST'] },
  },
  {
    title: 'Self-approval',
    jira: {
      entitlement: 'analytics-readonly',
      requester: 'alice',
      subject: { type: 'human', id: 'alice' },
      environment: 'nonprod',
      resource: 'analytics-warehouse',
      ttlHours: 24,
      approvedBy: ['alice'],
      summary: 'Analytics read-only for me',
    },
    expect: { outcome: 'rejected', codes: ['SELF_APPROVAL', 'INSUFFICIENT_APPROVALS'] },
  },
  {
    title: '"Approved" written as a comment',
    jira: {
      entitlement: 'analytics-readonly',
      requester: 'erin',
      subject: { type: 'human', id: 'erin' },
      environment: 'nonprod',
      resource: 'analytics-warehouse',
      ttlHours: 24,
      comments: [{ by: 'bob', text: 'Approved, go ahead.' }],
      summary: 'Analytics read-only for erin',
    },
    expect: { outcome: 'rejected', codes: ['APPROVAL_NOT_STRUCTURED', 'INSUFFICIENT_APPROVALS'] },
  },
];

const USAGE = 'usage: tsx scripts/demo.ts [--config PATH] [--url URL] [--once] [--timeout SECONDS]';

/** A filed ticket: where it lives and how to find its messages and notes. */
interface Filed {
  scenario: Scenario;
  connectorId: string;
  ticketId: string;
  ticketKey: string;
  status: number;
}

function say(line = ''): void {
  console.log(line);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function portOf(url: unknown, what: string): number {
  const port = typeof url === 'string' ? Number(new URL(url).port) : NaN;
  if (!Number.isInteger(port) || port <= 0) throw new Error(`${what} has no explicit local port to start a stub on`);
  return port;
}

function json(value: Buffer | null): Json | undefined {
  if (value === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}

function sourceOf(message: Json | undefined): { connectorId?: string; ticketId?: string } | undefined {
  return (message?.source ?? message?.ticket) as { connectorId?: string; ticketId?: string } | undefined;
}

function isFor(message: Json | undefined, ticket: Filed): boolean {
  const source = sourceOf(message);
  return source?.connectorId === ticket.connectorId && source.ticketId === ticket.ticketId;
}

function duration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

// Wrap for the terminal when there is one (at most 110 columns, so lines stay readable).
const WIDTH = Math.min(110, Math.max(72, process.stdout.columns || 110));
const LABEL = 15;

/** Prints `label` then `text`, word-wrapped at WIDTH columns under the text's first column. */
function field(label: string, text: string): void {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && LABEL + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  say(`    ${label.padEnd(LABEL - 4)}${lines[0]}`);
  for (const rest of lines.slice(1)) say(`${' '.repeat(LABEL)}${rest}`);
}

async function waitReady(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await sleep(500);
  }
  return false;
}

/** grantline's notes on a ticket, without the idempotency marker line. */
function notesOn(stubs: Stubs, ticket: Filed): string[] {
  const strip = (text: string) =>
    text
      .split('\n')
      .filter((line) => !/^\[grantline:[^\]]*\]$/.test(line.trim()))
      .join('\n');
  if (ticket.connectorId === 'servicenow-main') {
    return stubs.servicenow.state
      .journal(ticket.ticketId, 'work_notes')
      .map((j) => String(j.value))
      .filter((v) => v.includes('[grantline:'))
      .map(strip);
  }
  return stubs.jira.state
    .comments(ticket.ticketId)
    .filter((c) => c.text.includes('[grantline:'))
    .map((c) => strip(c.text));
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        url: { type: 'string' },
        once: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '180' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    say(USAGE);
    return 0;
  }
  const cli = openCli('demo', values.config ?? process.env.GRANTLINE_CONFIG ?? 'examples/grantline.yaml');
  if ('exitCode' in cli) return cli.exitCode;
  const { config, kafka, topics } = cli;
  const timeoutMs = Number(values.timeout) * 1000;
  const url = values.url ?? `http://127.0.0.1:${config.http.port}`;

  const jiraConn = config.connectors.find((c) => c.id === 'jira-main');
  const snConn = config.connectors.find((c) => c.id === 'servicenow-main');
  const jsonConn = config.connectors.find((c) => c.type === 'json-webhook');
  if (!jiraConn || !snConn) {
    console.error('demo: the config needs the example connectors jira-main and servicenow-main');
    return 2;
  }
  const stubs = await startStubs({
    jira: portOf((jiraConn.config as { baseUrl?: unknown }).baseUrl, 'connectors jira-main baseUrl'),
    servicenow: portOf((snConn.config as { instanceUrl?: unknown }).instanceUrl, 'connectors servicenow-main instanceUrl'),
    ...(jsonConn ? { json: portOf((jsonConn.config as { baseUrl?: unknown }).baseUrl, `connectors ${jsonConn.id} baseUrl`) } : {}),
  });
  seedServiceNowUsers(stubs.servicenow);
  const tails: TopicTail[] = [];
  let postgres: { stop(): Promise<void> } | null = null;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await postgres?.stop().catch(() => undefined);
    await Promise.allSettled(tails.map((t) => t.stop()));
    await stubs.close();
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  say(`demo: Jira stub on ${stubs.jira.baseUrl}, ServiceNow stub on ${stubs.servicenow.baseUrl}`);
  say(`demo: waiting for grantline at ${url}/readyz ...`);
  const startedWaiting = Date.now();
  if (!(await waitReady(url, timeoutMs))) {
    console.error(`demo: grantline did not become ready at ${url}/readyz within ${values.timeout} s; see its log`);
    await stop(1);
    return 1;
  }
  say(`demo: grantline is ready (${((Date.now() - startedWaiting) / 1000).toFixed(1)} s)`);
  const jwksUrl = `${url}/.well-known/jwks.json`;
  const jwks = Jwks.parse(await (await fetch(jwksUrl)).json());
  // The PostgreSQL adapter, when a server is there: the membership appears and disappears with the grant.
  postgres = await startPostgresDemo(kafkaSettings(config.kafka, { clientIdSuffix: '-demo-postgres' }), jwksUrl, say);

  // Follow the decision topics from their beginning before any ticket is delivered.
  const catalog = await loadCatalog(config.catalog.path);
  const grantTopics = [...new Set(catalog.entries().map((e) => e.channel))].map((c) => topics.grants(c));
  const decisions: { topic: string; value: Json }[] = [];
  const custody: Json[] = [];
  for (const topic of [...grantTopics, topics.rejected]) {
    tails.push(
      new TopicTail(kafka, topic, (m) => {
        const value = json(m.value);
        if (value) decisions.push({ topic, value });
      }),
    );
  }
  const custodyTail = new TopicTail(kafka, topics.custody, (m) => {
    const value = json(m.value);
    if (value) custody.push(value);
  });
  tails.push(custodyTail);
  await Promise.all(tails.map((t) => t.start()));

  // File each ticket in its stub and deliver it, signed, to grantline's webhook endpoint.
  const jiraSecret = jiraWebhookSecret(config, jiraConn.id);
  const snKey = serviceNowHmacKey(config, snConn.id);
  say();
  say(`demo: filing ${SCENARIOS.length} tickets and delivering each, signed, to ${url}/webhooks/<connector>`);
  const filed: Filed[] = [];
  for (const scenario of SCENARIOS) {
    let ticket: Filed;
    let res: { status: number };
    if (scenario.jira) {
      const issue = seedJiraTicket(stubs.jira, scenario.jira);
      res = await post(`${url}/webhooks/${jiraConn.id}`, jiraDelivery(issue, jiraSecret));
      ticket = { scenario, connectorId: jiraConn.id, ticketId: issue.id, ticketKey: issue.key, status: res.status };
    } else if (scenario.servicenow) {
      const ritm = seedServiceNowTicket(stubs.servicenow, scenario.servicenow);
      res = await post(`${url}/webhooks/${snConn.id}`, serviceNowDelivery(ritm, snKey));
      ticket = { scenario, connectorId: snConn.id, ticketId: String(ritm.sys_id), ticketKey: String(ritm.number), status: res.status };
    } else {
      throw new Error(`scenario "${scenario.title}" names no source system`);
    }
    filed.push(ticket);
    say(`  ${ticket.ticketKey.padEnd(12)} POST /webhooks/${ticket.connectorId.padEnd(16)} ${res.status}  ${scenario.title}`);
  }

  // Wait for a decision on every accepted ticket, then for the custody events that record them.
  const decisionOf = (t: Filed) => decisions.find((d) => isFor(d.value, t) && (d.value.outcome === 'granted' || d.value.outcome === 'rejected'));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && filed.some((t) => t.status === 202 && !decisionOf(t))) await sleep(250);
  await custodyTail.catchUp().catch(() => undefined);
  // Write-backs follow the decision through their own topic; give them a moment.
  const noteDeadline = Date.now() + 15_000;
  while (Date.now() < noteDeadline && filed.some((t) => decisionOf(t) && notesOn(stubs, t).length === 0)) await sleep(250);

  say();
  let asExpected = 0;
  for (const t of filed) {
    const decision = decisionOf(t);
    if (!decision) {
      say(`${t.ticketKey}  NO DECISION within ${values.timeout} s (webhook answered ${t.status}); see grantline's log`);
      say();
      continue;
    }
    const d = decision.value;
    const expect = t.scenario.expect;
    const codes = d.outcome === 'rejected' ? (d.reasons as { code: string; message: string }[]).map((r) => r.code) : [];
    const ok = d.outcome === expect.outcome && (expect.outcome === 'granted' || expect.codes.every((c) => codes.includes(c)));
    if (ok) asExpected += 1;
    const subject = d.subject as { type: string; id: string } | null;
    const head = `${t.ticketKey}  ${String(d.outcome).toUpperCase()}  ${String(d.entitlementId ?? '(no entitlement named)')}${subject ? ` for ${subject.type} ${subject.id}` : ''}`;
    say(`${head}${ok ? '' : '   << NOT AS EXPECTED'}`);
    field('ticket', `${t.scenario.title} (${t.connectorId})`);
    if (d.outcome === 'granted') {
      const approvals = d.approvals as { approverPrincipalId: string | null; evidence: { kind: string; recordId: string } }[];
      field('topic', `${decision.topic}, grant ${String(d.grantId)}`);
      field(
        'approvals',
        approvals.length === 0
          ? 'none needed: break-glass is pre-approved'
          : approvals.map((a) => `${a.approverPrincipalId ?? '?'} (${a.evidence.kind} ${a.evidence.recordId})`).join(', '),
      );
      field('ttl', `${duration(Number(d.ttlSeconds))} ${d.ttlSource === 'requested' ? 'as requested' : '(catalog default)'}, expires ${String(d.expiresAt)}`);
      const bg = d.breakGlass as { active: boolean; reviewDueAt: string | null };
      if (bg.active) field('review', `post-event review due ${String(bg.reviewDueAt)}`);
    } else {
      field('topic', decision.topic);
      for (const r of d.reasons as { code: string; message: string }[]) field('reason', `${r.code}: ${r.message}`);
    }
    if (typeof d.signature === 'string') {
      const events = custody.filter((e) => isFor(e, t));
      const report = verifyMessage(d, jwks, { custodyEvents: events });
      const failed = report.checks.filter((c) => !c.ok);
      const kid = report.checks.find((c) => c.name === 'signature-header')?.detail ?? '';
      field(
        'signature',
        failed.length === 0
          ? `valid (${kid}) against ${jwksUrl}; custody chain of ${events.length} events intact`
          : `NOT VERIFIED: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
      );
    } else field('signature', 'NONE');
    const notes = notesOn(stubs, t);
    if (notes.length === 0) field('note', '(not written back yet)');
    for (const note of notes) {
      const lines = note.split('\n').filter((l) => l.trim() !== '');
      if (d.outcome === 'rejected' && lines.length > 1) {
        // The rest of a rejection note repeats the reasons above, each with how to fix it.
        field('note', `${lines[0] ?? ''} [then the reasons above, each with how to fix it]`);
      } else for (const [i, line] of lines.entries()) field(i === 0 ? 'note' : '', line);
    }
    say();
  }

  const reviews = [...stubs.jira.state.issues.values()].filter((i) => !i.key.startsWith('ACC-'));
  for (const r of reviews) say(`Review ticket opened by grantline: ${r.key} "${String(r.fields.summary ?? '')}"`);
  say(`${asExpected} of ${filed.length} tickets decided as expected.`);
  const configFlag = values.config ?? process.env.GRANTLINE_CONFIG ?? 'examples/grantline.yaml';
  const firstGrant = filed.map(decisionOf).find((d) => d?.value.outcome === 'granted')?.value;
  const grantKey = filed.find((t) => decisionOf(t)?.value === firstGrant)?.ticketKey ?? 'ACC-1';
  say();
  say('Look closer, in another terminal:');
  // run-local.sh put a project-local Node 24 first on PATH (the machine's is older); another terminal needs it too.
  const localNode = process.execPath.split(sep).join('/').match(/^(.*\/\.tools\/node24\/node_modules)\//);
  if (localNode) say(`  export PATH="${localNode[1]}/.bin:$PATH"   # the Node ${process.versions.node} run-local.sh uses`);
  say(`  npm run -s grantline -- evidence --ticket ${grantKey} --config ${configFlag}`);
  say(`  npm run -s grantline -- revoke ${String(firstGrant?.grantId ?? '<grantId>')} --reason "demo over" --actor erin --key examples/keys/dev-operator-erin.pem --config ${configFlag}`);
  say('  npm run -s grantline -- evaluate --request examples/requests/self-approval.rejected.json');
  if (values.once) {
    await stop(asExpected === filed.length ? 0 : 1);
    return asExpected === filed.length ? 0 : 1;
  }
  say();
  say('The stubs keep running so write-backs and pollers keep working; notes grantline writes on these');
  say('tickets from now on (a revocation, the break-glass grant expiring in an hour) show up below.');
  say('Ctrl-C stops everything.');
  const seen = new Map(filed.map((t) => [t, notesOn(stubs, t).length]));
  setInterval(() => {
    for (const t of filed) {
      const notes = notesOn(stubs, t);
      for (const note of notes.slice(seen.get(t) ?? 0)) say(`${new Date().toISOString()}  ${t.ticketKey} note: ${note.split('\n').filter((l) => l.trim() !== '').join(' | ')}`);
      seen.set(t, notes.length);
    }
  }, 1000);
  await new Promise<never>(() => undefined);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
