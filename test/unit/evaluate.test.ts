import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/evaluate.js';
import { Decision } from '../../src/model/index.js';
import { EXAMPLE_CATALOG_PATH, EXAMPLE_DIRECTORY_PATH, REPO } from '../fixtures/requests/factory.js';

const AT = '2025-03-06T10:00:00Z';
const example = (name: string) => resolve(REPO, 'examples', 'requests', name);

async function evaluate(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

const withExamples = (request: string, ...rest: string[]) => ['--request', request, '--catalog', EXAMPLE_CATALOG_PATH, '--directory', EXAMPLE_DIRECTORY_PATH, '--at', AT, ...rest];

describe('grantline evaluate on the example requests', () => {
  it.each([
    ['nhi-dual-approval.granted.json', 0, 'granted', []],
    ['payments-key.granted.json', 0, 'granted', []],
    ['break-glass.granted.json', 0, 'granted', []],
    ['free-text.rejected.json', 3, 'rejected', ['FREE_TEXT_REQUEST']],
    ['self-approval.rejected.json', 3, 'rejected', ['INSUFFICIENT_APPROVALS', 'SELF_APPROVAL']],
  ])('%s → exit %d, %s %j', async (file, exit, outcome, codes) => {
    const { code, out, err } = await evaluate(withExamples(example(file)));
    expect(err).toBe('');
    expect(code).toBe(exit);
    const decision = Decision.parse(JSON.parse(out));
    expect(decision.outcome).toBe(outcome);
    expect(decision.decidedAt).toBe('2025-03-06T10:00:00.000Z');
    if (decision.outcome === 'rejected') expect(decision.reasons.map((r) => r.code).sort()).toEqual(codes);
  });

  it('computes the request id from the request fields when the file leaves it out, as the pipeline does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'grantline-eval-'));
    const { requestId, ...fields } = JSON.parse(readFileSync(example('payments-key.granted.json'), 'utf8')) as Record<string, unknown>;
    const path = join(dir, 'no-id.json');
    writeFileSync(path, JSON.stringify(fields));
    const { code, out } = await evaluate(withExamples(path));
    expect(code).toBe(0);
    expect(requestId).toMatch(/^rq_/);
    expect(JSON.parse(out)).toMatchObject({ requestId });
  });

  it('prints the break-glass review deadline and the capped default TTL', async () => {
    const decision = JSON.parse((await evaluate(withExamples(example('break-glass.granted.json')))).out) as Record<string, unknown>;
    expect(decision).toMatchObject({ ttlSeconds: 3600, ttlSource: 'catalog-default', expiresAt: '2025-03-06T11:00:00.000Z', breakGlass: { active: true, reviewDueAt: '2025-03-07T10:00:00.000Z' } });
  });

  it('tells the free-text requester what to do', async () => {
    const { out } = await evaluate(withExamples(example('free-text.rejected.json')));
    expect(out).toContain('Choose an entitlement from the catalog field; free text cannot be granted. You wrote: \\"pls give me access to the prod analytics stuff like bob has\\"');
  });

  it('takes catalog, directory and policy version from a config file, relative to the config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'grantline-eval-'));
    writeFileSync(join(dir, 'cat.yaml'), readFileSync(EXAMPLE_CATALOG_PATH));
    writeFileSync(join(dir, 'dir.yaml'), readFileSync(EXAMPLE_DIRECTORY_PATH));
    writeFileSync(join(dir, 'grantline.yaml'), 'catalog:\n  path: cat.yaml\ndirectory:\n  path: dir.yaml\npolicy:\n  version: "2031-07"\nkafka:\n  brokers: ["${env:NOT_NEEDED}"]\n');
    const { code, out } = await evaluate(['--request', example('nhi-dual-approval.granted.json'), '--config', join(dir, 'grantline.yaml'), '--at', AT]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ policy: { version: '2031-07' } });
  });

  it('decides against "now" without --at', async () => {
    const before = Date.now();
    const { out } = await evaluate(['--request', example('free-text.rejected.json'), '--catalog', EXAMPLE_CATALOG_PATH, '--directory', EXAMPLE_DIRECTORY_PATH]);
    expect(Date.parse((JSON.parse(out) as { decidedAt: string }).decidedAt)).toBeGreaterThanOrEqual(before - 1000);
  });
});

describe('grantline evaluate on invalid input (exit 2, says what is wrong)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grantline-eval-bad-'));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const valid = JSON.parse(readFileSync(example('nhi-dual-approval.granted.json'), 'utf8')) as Record<string, unknown>;

  it.each([
    ['no --request', () => ['--at', AT], /--request is required/],
    ['an unknown option', () => ['--request', 'x.json', '--colour', 'red'], /Unknown option '--colour'/],
    ['an unreadable request file', () => withExamples(join(dir, 'missing.json')), /cannot read request .*missing\.json \(ENOENT\)/],
    ['a request that is not JSON', () => withExamples(file('bad.json', '{ "requestId": ')), /request .*bad\.json is not valid JSON/],
    [
      'a request that fails the schema, naming each path',
      () => withExamples(file('schema.json', JSON.stringify({ ...valid, ttlSeconds: -5, breakGlass: 'yes', subject: { type: 'robot', id: 'x' } }))),
      /is not an EntitlementRequest:\n(.|\n)*- subject\.type: (.|\n)*- ttlSeconds: (.|\n)*- breakGlass: /,
    ],
    ['a requestId that is not the one grantline computes for the request', () => withExamples(file('other-id.json', JSON.stringify({ ...valid, requestId: 'jira-0123' }))), /requestId jira-0123 is not this request's id; grantline computes it from the request fields \(rq_[A-Za-z0-9_-]{43}\)/],
    ['an unreadable catalog', () => ['--request', example('free-text.rejected.json'), '--catalog', join(dir, 'nope.yaml'), '--directory', EXAMPLE_DIRECTORY_PATH], /cannot read catalog .*nope\.yaml \(ENOENT\)/],
    [
      'an invalid catalog, with the bad field',
      () => ['--request', example('free-text.rejected.json'), '--catalog', file('cat.yaml', 'entitlements:\n  - id: x\n    kind: role\n'), '--directory', EXAMPLE_DIRECTORY_PATH],
      /cat\.yaml is invalid \(\d+ issues\):\n(.|\n)*entitlements\[0\]\.system/,
    ],
    ['an invalid directory', () => ['--request', example('free-text.rejected.json'), '--catalog', EXAMPLE_CATALOG_PATH, '--directory', file('dir.yaml', 'principals: nope\n')], /dir\.yaml is invalid/],
    ['a time without an offset', () => [...withExamples(example('free-text.rejected.json')), '--at', '2025-03-06 10:00'], /--at expects an ISO 8601 time with an offset/],
    ['an unreadable config', () => ['--request', example('free-text.rejected.json'), '--config', join(dir, 'none.yaml')], /cannot read config .*none\.yaml/],
  ])('%s', async (_name, args, message) => {
    const { code, out, err } = await evaluate(args());
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(message);
  });

  it('prints usage with --help and exits 0', async () => {
    const { code, out } = await evaluate(['--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/exit status: 0 granted, 3 rejected, 2 invalid input/);
  });
});
