/**
 * `breakGlass.maxActivePerPerson` on the real broker: the holding a processor writes with a
 * break-glass grant is what another instance (with nothing in memory) counts, and the revocation
 * releases it. Topics under a prefix of their own.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startStack, startStubs, writeStackConfig, type Stack, type StackOptions, type Stubs } from '../../dev/harness.js';
import { jiraDelivery, jiraWebhookSecret, post, seedJiraTicket, type AccessTicket } from '../../dev/scenarios.js';
import { run as revoke } from '../../src/cli/commands/revoke.js';
import type { InboundMessage } from '../../src/kafka/index.js';
import { CE_TYPES } from '../../src/pipeline/cloudevents.js';
import { TopicTail } from '../../src/pipeline/state-view.js';
import { brokers, randomTopicSuffix, testKafka } from './helpers/kafka.js';

const EXAMPLES = resolve(fileURLToPath(new URL('../../examples/', import.meta.url)));
const prefix = `bgl-${randomTopicSuffix()}.`;
const kafka = testKafka('grantline-break-glass-reader');
const work = mkdtempSync(join(tmpdir(), 'grantline-bg-limit-'));
const catalogFile = join(work, 'catalog.yaml');
const configFile = join(work, 'grantline.yaml');
const topic = {
  pam: `${prefix}access.grants.pam.v1`,
  rejected: `${prefix}access.requests.rejected.v1`,
  breakGlass: `${prefix}grantline.break-glass.v1`,
};

interface Seen {
  key: string | null;
  type: string;
  value: Record<string, unknown>;
}
const seen = new Map<string, Seen[]>();
const tails: TopicTail[] = [];
let stubs: Stubs;
let stack: Stack;
let options: StackOptions;

async function follow(name: string): Promise<void> {
  const list: Seen[] = [];
  seen.set(name, list);
  const tail = new TopicTail(kafka, name, (m: InboundMessage) => {
    list.push({ key: m.key?.toString('utf8') ?? null, type: m.headers?.ce_type?.toString() ?? '', value: JSON.parse(m.value?.toString('utf8') ?? '{}') as Record<string, unknown> });
  });
  tails.push(tail);
  await tail.start();
}

async function waitFor(name: string, match: (s: Seen) => boolean, timeoutMs = 30_000): Promise<Seen> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (seen.get(name) ?? []).find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`nothing matching on ${name} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ticketOf = (s: Seen) => (s.value.source as { ticketKey?: string } | undefined)?.ticketKey;

function breakGlassTicket(): AccessTicket {
  return { entitlement: 'prod-breakglass-admin', requester: 'alice', subject: { type: 'human', id: 'alice' }, environment: 'prod', resource: 'prod-fleet', breakGlass: true, description: 'Prod outage.' };
}

/** Files a break-glass ticket for alice and returns its key once delivered. */
async function file(): Promise<string> {
  const issue = seedJiraTicket(stubs.jira, breakGlassTicket());
  const res = await post(`${stack.url}/webhooks/jira-main`, jiraDelivery(issue, jiraWebhookSecret(stack.config)));
  expect(res.status).toBe(202);
  return issue.key;
}

async function startAs(instanceId: string): Promise<void> {
  stack = await startStack({ ...options, instanceId });
}

beforeAll(async () => {
  const catalog = parseYaml(readFileSync(join(EXAMPLES, 'catalog.yaml'), 'utf8')) as { entitlements: { id: string; breakGlass?: Record<string, unknown> }[] };
  const entry = catalog.entitlements.find((e) => e.id === 'prod-breakglass-admin');
  if (!entry?.breakGlass) throw new Error('the example catalog has no break-glass entry');
  entry.breakGlass.maxActivePerPerson = 1;
  writeFileSync(catalogFile, stringifyYaml(catalog));
  stubs = await startStubs();
  options = {
    brokers: brokers().join(','),
    topicPrefix: prefix,
    stubs,
    roles: ['ingress', 'processor'],
    edit: (tree) => {
      tree.catalog = { path: catalogFile };
    },
  };
  writeStackConfig(options, configFile);
  await startAs('bg-a');
  await Promise.all(Object.values(topic).map((t) => follow(t)));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await Promise.all(tails.map((t) => t.stop()));
  await stubs?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('break-glass per-person limit on the real broker', () => {
  it('refuses a second break-glass grant on another instance, and grants again once the first is revoked', async () => {
    const first = await file();
    const grant = await waitFor(topic.pam, (s) => s.type === CE_TYPES.grantIssued && ticketOf(s) === first);
    const grantId = String(grant.value.grantId);
    const held = await waitFor(topic.breakGlass, (s) => s.key === grantId);
    expect(held.value).toMatchObject({ grantId, holder: 'alice', entitlementId: 'prod-breakglass-admin', releasedAt: null });

    // Another instance, started after the grant: it knows of it only from the topic.
    await stack.stop();
    await startAs('bg-b');
    const second = await file();
    const rejection = await waitFor(topic.rejected, (s) => ticketOf(s) === second);
    expect((rejection.value.reasons as { code: string }[]).map((r) => r.code)).toEqual(['BREAK_GLASS_LIMIT_REACHED']);
    expect((rejection.value.reasons as { message: string }[])[0]?.message).toContain(`alice already holds 1 active break-glass grant (prod-breakglass-admin on ${first}`);
    expect((rejection.value.custody as { decidedBy: string }).decidedBy).toContain('processor@bg-b');
    expect((seen.get(topic.pam) ?? []).filter((s) => s.type === CE_TYPES.grantIssued && ticketOf(s) === second)).toEqual([]);

    // Revoking the first grant releases the holding; the next break-glass is granted.
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      // erin's DEV ONLY operator key, which the example config lists in trust.operators.
      expect(await revoke([grantId, '--reason', 'outage over', '--actor', 'erin', '--key', join(EXAMPLES, 'keys/dev-operator-erin.pem'), '--config', configFile])).toBe(0);
    } finally {
      log.mockRestore();
    }
    await waitFor(topic.breakGlass, (s) => s.key === grantId && s.value.releasedAt !== null);
    const third = await file();
    await waitFor(topic.pam, (s) => s.type === CE_TYPES.grantIssued && ticketOf(s) === third);
  }, 180_000);
});
