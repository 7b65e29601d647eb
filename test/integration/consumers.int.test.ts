/**
 * The example consumers in other languages (examples/consumers/java and examples/consumers/python)
 * against a running grantline on the real broker: a Jira ticket is granted (its text with emoji and
 * other non-ASCII, which a careless re-serialization breaks), cancelled (a revocation on the same
 * topic and key) and a free-text ticket rejected; the test then writes tampered copies of those real
 * messages to the same topics. Each consumer must accept every genuine message, a re-serialized but
 * unaltered copy, and refuse every tampered one. What grantline wrote must also match asyncapi.yaml.
 */
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, startStubs, type Stack, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, nhiDualApproval, people, post, seedJiraTicket } from '../../dev/scenarios.js';
import { canonicalJson } from '../../src/custody/index.js';
import { createProducer } from '../../src/kafka/index.js';
import { CE_TYPES } from '../../src/pipeline/cloudevents.js';
import { SCHEMAS_DIR } from '../../scripts/gen-schemas.js';
import { addressMatches, fillTemplate, messageContracts, parseAsyncApi, type MessageContract } from '../fixtures/asyncapi.js';
import { REPO } from '../fixtures/requests/factory.js';
import { brokers, consumeAll, randomTopicSuffix, testKafka, type ConsumedMessage } from './helpers/kafka.js';

const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv | Ajv2020) => Ajv;

const JAVA_DIR = resolve(REPO, 'examples/consumers/java');
const PYTHON_DIR = resolve(REPO, 'examples/consumers/python');
// Debian's interpreter, which has Debian's python3-confluent-kafka; `python3` on PATH may be another.
const PYTHON = '/usr/bin/python3';

const prefix = `consumers-${randomTopicSuffix()}.`;
const topic = {
  pam: `${prefix}access.grants.pam.v1`,
  rejected: `${prefix}access.requests.rejected.v1`,
  custody: `${prefix}access.custody.v1`,
  decisionRequests: `${prefix}grantline.decision-requests.v1`,
};
const kafka = testKafka('grantline-consumers-it');

// Ticket text as people write it: quotes, markup, accents, emoji and a mathematical letter outside
// the BMP. Signed fields carry it verbatim.
const DESCRIPTION = 'Nightly reconciliation — «orders» "prod" <b>&amp;</b> café ✓ 😀 𝔸\ttab';
const FREE_TEXT = `Give me access like bob has 🙏 ${'𝔸😀'.repeat(120)}`;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function run(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Run> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** What the consumers need, checked up front so a missing tool fails with what to install. */
function missingTools(): string[] {
  const missing: string[] = [];
  const ok = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
  if (!ok('java', ['-version'])) missing.push('java (apt-get install -y openjdk-17-jdk-headless)');
  if (!ok('javac', ['-version'])) missing.push('javac (apt-get install -y openjdk-17-jdk-headless)');
  if (!ok('mvn', ['-v'])) missing.push('mvn (apt-get install -y maven)');
  if (!ok(PYTHON, ['-c', 'import confluent_kafka'])) missing.push(`confluent_kafka for ${PYTHON} (apt-get install -y python3-confluent-kafka)`);
  if (!ok(PYTHON, ['-c', 'import cryptography.hazmat.primitives.asymmetric.ed25519'])) missing.push(`cryptography for ${PYTHON} (apt-get install -y python3-cryptography)`);
  return missing;
}

interface ConsumerLine {
  topic: string;
  offset: number;
  key: string | null;
  ceType: string | null;
  verdict: 'accepted' | 'refused' | 'ignored';
  action: string;
  id?: string;
  kid?: string | null;
  detail: string;
}

/** What each message on the topics is, and what a consumer must do with it. */
interface Expected {
  readonly topic: string;
  readonly offset: number;
  readonly what: string;
  readonly verdict: ConsumerLine['verdict'];
  readonly action: string;
  readonly detail: RegExp;
}

let stubs: Stubs;
let stack: Stack;
let jwksUrl = '';
let grant: ConsumedMessage;
let revocation: ConsumedMessage;
let rejection: ConsumedMessage;
const expected: Expected[] = [];
/** `topic@offset` of the copies this test wrote. */
const copyPositions = new Set<string>();
let javaRun: Promise<Run>;
let pythonRun: Promise<Run>;
let javaBuild: Run;

function json(m: ConsumedMessage): Record<string, unknown> {
  return JSON.parse(m.value ?? 'null') as Record<string, unknown>;
}

function header(m: ConsumedMessage, name: string): string | undefined {
  const v = m.headers[name];
  return Array.isArray(v) ? v.at(-1) : v;
}

/** Every non-ASCII character as a `\uXXXX` escape: the same JSON value, other bytes. */
function asciiOnly(text: string): string {
  return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The same object with its members in reverse order, recursively. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)]));
  return value;
}

async function waitForMessage(name: string, match: (m: ConsumedMessage) => boolean): Promise<ConsumedMessage> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = (await consumeAll(kafka, name, { timeoutMs: 2_000 })).find(match);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no matching message on ${name}`);
  }
}

/** Why the shared setup failed, if it did: every test then fails with it (a failing hook would only mark them skipped). */
let setupError: unknown;

function ready(): void {
  if (setupError !== undefined) throw setupError;
}

async function setUp(): Promise<void> {
  const missing = missingTools();
  if (missing.length > 0) {
    throw new Error(`the consumer examples need tools this machine lacks (.ci/run installs them): ${missing.join('; ')}`);
  }
  // Compiled once per run, while grantline decides; Maven keeps the jars in ~/.m2.
  const build = run('mvn', ['-q', '-B', '-Dstyle.color=never', 'process-classes'], JAVA_DIR, 300_000);

  stubs = await startStubs();
  stack = await startStack({ brokers: brokers().join(','), topicPrefix: prefix, stubs });
  jwksUrl = `${stack.url}/.well-known/jwks.json`;
  const secret = jiraWebhookSecret(stack.config);

  const granted = seedJiraTicket(stubs.jira, nhiDualApproval({ ttlHours: 4, description: DESCRIPTION }));
  const freeText = seedJiraTicket(stubs.jira, { entitlement: null, requester: 'alice', summary: 'Access please', description: FREE_TEXT });
  expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(granted, secret))).status).toBe(202);
  expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(freeText, secret))).status).toBe(202);
  grant = await waitForMessage(topic.pam, (m) => header(m, 'ce_type') === CE_TYPES.grantIssued);
  rejection = await waitForMessage(topic.rejected, (m) => (json(m).source as { ticketKey: string }).ticketKey === freeText.key);

  const alice = people.get('alice')?.identities.jiraAccountId ?? 'alice';
  stubs.jira.state.transition(granted.id, 'Cancelled', { accountId: alice, displayName: 'alice' }, new Date());
  expect((await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(granted, secret))).status).toBe(202);
  revocation = await waitForMessage(topic.pam, (m) => header(m, 'ce_type') === CE_TYPES.grantRevoked);
  // The trap consumers must know: a revocation shares its grant's topic and key; only ce_type tells them apart.
  expect(revocation.key).toBe(grant.key);

  // Copies of the real messages, as someone with write access to the topics (or a careless
  // pipeline in between) might produce them.
  const g = json(grant);
  const copies: { topic: string; what: string; key: string; value: string; headers: Record<string, string | string[]>; verdict: Expected['verdict']; action: string; detail: RegExp }[] = [
    {
      topic: topic.pam,
      what: 'a grant with a widened TTL',
      key: String(g.grantId),
      value: JSON.stringify({ ...g, ttlSeconds: 7 * 86_400, expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString() }),
      headers: grant.headers,
      verdict: 'refused',
      action: 'none',
      detail: /signature does not match/,
    },
    {
      topic: topic.pam,
      what: 'a grant whose ticket text was edited',
      key: String(g.grantId),
      value: JSON.stringify({ ...g, justification: { text: DESCRIPTION.replace('😀', '🙂') } }),
      headers: grant.headers,
      verdict: 'refused',
      action: 'none',
      detail: /signature does not match/,
    },
    {
      topic: topic.pam,
      what: 'the genuine grant re-serialized: members reversed, indented, non-ASCII escaped',
      key: String(g.grantId),
      value: asciiOnly(JSON.stringify(reversed(g), null, 2)),
      headers: grant.headers,
      verdict: 'accepted',
      action: 'provision',
      detail: /^provision db-orders-prod-readwrite on orders-db \(prod\) for service_account svc-orders until /,
    },
    {
      topic: topic.pam,
      what: 'the genuine grant labelled as a revocation',
      key: String(g.grantId),
      value: grant.value ?? '',
      headers: { ...grant.headers, ce_type: CE_TYPES.grantRevoked },
      verdict: 'refused',
      action: 'none',
      detail: /outcome is granted/,
    },
    {
      topic: topic.pam,
      what: 'the genuine grant under another key',
      key: 'gr_someone-else',
      value: grant.value ?? '',
      headers: grant.headers,
      verdict: 'refused',
      action: 'none',
      detail: /key gr_someone-else is not/,
    },
    {
      topic: topic.rejected,
      what: 'a rejection with a reason removed',
      key: rejection.key ?? '',
      value: JSON.stringify({ ...json(rejection), reasons: [{ code: 'TICKET_NOT_ACTIONABLE', message: 'closed' }] }),
      headers: rejection.headers,
      verdict: 'refused',
      action: 'none',
      detail: /signature does not match/,
    },
  ];
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    for (const c of copies) await producer.send(c.topic, [{ key: c.key, value: c.value, headers: c.headers }]);
  } finally {
    await producer.disconnect();
  }

  // Everything on the two topics, in the order each consumer will see it per partition.
  const onTopics = [...(await consumeAll(kafka, topic.pam, { timeoutMs: 3_000 })), ...(await consumeAll(kafka, topic.rejected, { timeoutMs: 3_000 }))];
  const copyOf = (m: ConsumedMessage) => copies.find((c) => c.topic === m.topic && c.key === m.key && c.value === m.value && header(m, 'ce_type') === (Array.isArray(c.headers.ce_type) ? c.headers.ce_type.at(-1) : c.headers.ce_type));
  for (const m of onTopics) {
    const copy = copyOf(m);
    const type = header(m, 'ce_type');
    if (copy !== undefined) copyPositions.add(`${m.topic}@${m.offset}`);
    if (copy !== undefined) expected.push({ topic: m.topic, offset: Number(m.offset), what: copy.what, verdict: copy.verdict, action: copy.action, detail: copy.detail });
    else if (type === CE_TYPES.grantIssued) expected.push({ topic: m.topic, offset: Number(m.offset), what: 'the grant', verdict: 'accepted', action: 'provision', detail: /^provision db-orders-prod-readwrite/ });
    else if (type === CE_TYPES.grantRevoked) expected.push({ topic: m.topic, offset: Number(m.offset), what: 'the revocation', verdict: 'accepted', action: 'deprovision', detail: /\(ticket-cancelled\)$/ });
    else if (type === CE_TYPES.requestRejected) expected.push({ topic: m.topic, offset: Number(m.offset), what: 'the rejection', verdict: 'accepted', action: 'record-rejection', detail: /^ACC-\d+ rejected: FREE_TEXT_REQUEST$/ });
    else throw new Error(`unexpected message on ${m.topic}: ${type ?? 'no ce_type'}`);
  }
  expect(expected.filter((e) => e.what === 'the grant')).toHaveLength(1);
  expect(expected.filter((e) => e.what === 'the revocation').length).toBeGreaterThanOrEqual(1);

  const consumerArgs = ['--brokers', brokers().join(','), '--topic', topic.pam, '--topic', topic.rejected, '--jwks', jwksUrl, '--max-messages', String(expected.length), '--idle-timeout-ms', '60000'];
  javaBuild = await build;
  if (javaBuild.code !== 0) throw new Error(`mvn process-classes failed in ${JAVA_DIR}:\n${javaBuild.stdout}${javaBuild.stderr}`);
  javaRun = run('java', ['-cp', `target/classes:target/lib/*`, 'dev.grantline.consumer.GrantConsumer', ...consumerArgs], JAVA_DIR, 120_000);
  pythonRun = run(PYTHON, ['grant_consumer.py', ...consumerArgs], PYTHON_DIR, 120_000);
}

beforeAll(async () => {
  try {
    await setUp();
  } catch (error) {
    setupError = error;
  }
}, 420_000);

afterAll(async () => {
  await Promise.allSettled([javaRun, pythonRun].filter((p) => p !== undefined));
  await stack?.stop();
  await stubs?.close();
});

function lines(r: Run): ConsumerLine[] {
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ConsumerLine);
}

function checkConsumer(name: string, r: Run): void {
  expect(r.code, `${name} exited ${String(r.code)}; stderr:\n${r.stderr}`).toBe(0);
  const out = lines(r);
  const seen = out.map((l) => ({ topic: l.topic, offset: l.offset, verdict: l.verdict, action: l.action }));
  const want = expected.map((e) => ({ topic: e.topic, offset: e.offset, verdict: e.verdict, action: e.action }));
  const order = (a: { topic: string; offset: number }, b: { topic: string; offset: number }) => a.topic.localeCompare(b.topic) || a.offset - b.offset;
  expect(seen.sort(order)).toEqual(want.sort(order));
  for (const e of expected) {
    const line = out.find((l) => l.topic === e.topic && l.offset === e.offset);
    expect(line?.detail, `${name} on ${e.what}`).toMatch(e.detail);
  }
  const g = json(grant);
  const granted = out.find((l) => l.topic === topic.pam && l.offset === Number(grant.offset));
  expect(granted).toMatchObject({ id: g.grantId, kid: stack.config.signing.activeKid, key: g.grantId });
}

describe('consumers in other languages, against a running grantline on the real broker', () => {
  it('the Java consumer (Nimbus JOSE + JWT, java-json-canonicalization, kafka-clients) accepts every real message and refuses every tampered copy', async () => {
    ready();
    const r = await javaRun;
    process.stdout.write(`java consumer: build ${javaBuild.ms} ms, run ${r.ms} ms for ${expected.length} messages\n`);
    checkConsumer('java', r);
  });

  it('the Python consumer (cryptography, confluent-kafka, RFC 8785 in a few lines) accepts every real message and refuses every tampered copy', async () => {
    ready();
    const r = await pythonRun;
    process.stdout.write(`python consumer: run ${r.ms} ms for ${expected.length} messages\n`);
    checkConsumer('python', r);
  });

  it("the Python consumer's canonicalizer agrees with grantline's on awkward values", () => {
    ready();
    const values: unknown[] = [
      { b: 1, a: 2, '€': 3, '😀': 4, 'דּ': 5, '\u0080': 6 },
      ['\u2028\u2029', '\u007f\u001f\u0000\b\t\n\f\r"\\/', 'é😀𝔸', ''],
      [0, -0, 1, -1.5, 100, 1e21, 1e20, 1e-7, 1e-6, 0.000001234, 5e-324, 1.7976931348623157e308, 2 ** 53, 0.1, 1 / 3, 4.5e-7, 123456789012345680000],
      { nested: { z: [null, true, false, { y: 'x' }], a: {} } },
    ];
    const script = 'import json, sys\nfrom grantline_verify import canonicalize\nfor v in json.load(sys.stdin): print(canonicalize(v))';
    const child = spawnSync(PYTHON, ['-c', script], { cwd: PYTHON_DIR, input: JSON.stringify(values), encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.stdout.trimEnd().split('\n')).toEqual(values.map((v) => canonicalJson(v)));
  });

  it('what grantline wrote on its public topics matches asyncapi.yaml: topic, headers, key, ce_subject and payload schema', async () => {
    ready();
    const parsed = await parseAsyncApi();
    if (parsed.document === undefined) throw new Error('asyncapi.yaml did not parse');
    const contracts = messageContracts(parsed.document);
    const headerAjv = new Ajv({ strict: false, allErrors: true });
    addFormats(headerAjv);
    const payload2020 = new Ajv2020({ strict: true, allErrors: true });
    addFormats(payload2020);
    payload2020.addKeyword('version');
    const payload07 = new Ajv({ strict: true, allErrors: true });
    addFormats(payload07);
    payload07.addKeyword('version');
    const compiled = new Map<string, [ValidateFunction, ValidateFunction]>();
    // Each schema file as written (2020-12), and as a draft-07 reader of asyncapi.yaml takes it.
    const validators = (file: string): [ValidateFunction, ValidateFunction] => {
      let pair = compiled.get(file);
      if (pair === undefined) {
        const schema = JSON.parse(readFileSync(resolve(SCHEMAS_DIR, file), 'utf8')) as Record<string, unknown>;
        const { $schema: _s, ...draft07 } = schema;
        pair = [payload2020.compile(schema), payload07.compile(draft07)];
        compiled.set(file, pair);
      }
      return pair;
    };

    // The copies this test wrote reuse grantline's headers; only grantline's own messages count here.
    const own = (await Promise.all(Object.values(topic).map((t) => consumeAll(kafka, t, { timeoutMs: 3_000 }))))
      .flat()
      .filter((m) => !copyPositions.has(`${m.topic}@${m.offset}`));
    expect(new Set(own.map((m) => header(m, 'ce_type')))).toEqual(new Set([CE_TYPES.grantIssued, CE_TYPES.grantRevoked, CE_TYPES.requestRejected, CE_TYPES.custody, CE_TYPES.decisionRequest]));

    const problems: string[] = [];
    for (const m of own) {
      const where = `${m.topic}@${m.offset} (${header(m, 'ce_type') ?? '?'})`;
      const contract: MessageContract | undefined = contracts.find((c) => c.ceType === header(m, 'ce_type'));
      if (contract === undefined) {
        problems.push(`${where}: no message in asyncapi.yaml has this ce_type`);
        continue;
      }
      if (!addressMatches(contract.address, m.topic.slice(prefix.length))) problems.push(`${where}: on a topic that is not ${contract.address}`);
      const flat = Object.fromEntries(Object.keys(m.headers).map((k) => [k, header(m, k)]));
      if (contract.headers !== undefined && !headerAjv.validate(contract.headers, flat)) problems.push(`${where}: headers ${headerAjv.errorsText()}`);
      const value = json(m);
      if (contract.keyFrom !== undefined && m.key !== fillTemplate(contract.keyFrom, value)) problems.push(`${where}: key ${m.key ?? 'null'} is not ${contract.keyFrom}`);
      if (contract.subjectFrom !== undefined && flat.ce_subject !== fillTemplate(contract.subjectFrom, value)) problems.push(`${where}: ce_subject is not ${contract.subjectFrom}`);
      const [v2020, v07] = validators(contract.payloadFile);
      if (!v2020(value)) problems.push(`${where}: payload (2020-12) ${payload2020.errorsText(v2020.errors)}`);
      if (!v07(value)) problems.push(`${where}: payload (draft-07) ${payload07.errorsText(v07.errors)}`);
    }
    expect(problems).toEqual([]);
  });
});
