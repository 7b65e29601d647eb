/**
 * `grantline catalog check`: every problem a catalog has, as a list, without failing to load, and a
 * non-zero exit status when there is any.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { run } from '../../src/cli/commands/catalog.js';
import type { CatalogProblem } from '../../src/policy/index.js';
import { captureCli } from '../fixtures/cli.js';
import { EXAMPLE_CATALOG_PATH, EXAMPLE_DIRECTORY_PATH } from '../fixtures/requests/factory.js';

const dir = mkdtempSync(join(tmpdir(), 'grantline-catalog-check-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** The example directory plus a group whose only member (mallory) has left. */
const directoryDoc = parseYaml(readFileSync(EXAMPLE_DIRECTORY_PATH, 'utf8')) as { groups: Record<string, string[]> };
directoryDoc.groups['departed'] = ['mallory'];
const DIRECTORY = file('directory.yaml', stringify(directoryDoc));

const entry = (id: string, extra: Record<string, unknown>) => ({
  id,
  kind: 'role',
  system: 'postgres',
  resource: id,
  environments: ['prod'],
  sensitivity: 'high',
  subjectTypes: ['human'],
  approvers: { groups: [{ group: 'security', min: 1 }] },
  ttl: { defaultSeconds: '1h', maxSeconds: '8h' },
  channel: 'pam',
  ...extra,
});

const CATALOG = file(
  'catalog.yaml',
  stringify({
    entitlements: [
      entry('fine', {}),
      entry('typo-group', { approvers: { groups: [{ group: 'securty', min: 1 }] } }),
      entry('left-group', { approvers: { groups: [{ group: 'departed', min: 1 }] } }),
      entry('three-owners', { approvers: { groups: [{ group: 'data-platform-owners', min: 3 }] } }),
      entry('nhi-prod', { subjectTypes: ['service_account'], approvers: { groups: [{ group: 'platform-team', min: 1 }] } }),
      entry('long-default', { ttl: { defaultSeconds: '9h', maxSeconds: '8h' } }),
      entry('glass-nobody', { breakGlass: { allowed: true, maxTtlSeconds: '1h', reviewWithinSeconds: '1d', allowedGroups: ['departed'] } }),
      entry('manager-saves', { managerMayApprove: true, approvers: { pool: ['departed'], minDistinct: 1 } }),
      entry('bad-field', { sensitivity: 'extreme' }),
    ],
  }),
);

const check = (...args: string[]) => captureCli(run, ['check', ...args]);

describe('grantline catalog check', () => {
  it('says the example catalog has no problems and exits 0', async () => {
    const out = await check('--catalog', EXAMPLE_CATALOG_PATH, '--directory', EXAMPLE_DIRECTORY_PATH);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(`${EXAMPLE_CATALOG_PATH}: no problems (checked against ${EXAMPLE_DIRECTORY_PATH})`);
  });

  it('lists every problem of a catalog that would not even load, and exits 1', async () => {
    const out = await check('--catalog', CATALOG, '--directory', DIRECTORY, '--json');
    expect(out.code).toBe(1);
    const problems = (JSON.parse(out.stdout) as { problems: CatalogProblem[] }).problems;
    const summary = problems.map((p) => [p.code, p.entry, p.path]);
    expect(summary).toEqual([
      ['ttl-default-above-cap', 'long-default', 'entitlements[5].ttl.defaultSeconds'],
      ['invalid', 'bad-field', 'entitlements[8].sensitivity'],
      ['unknown-group', 'typo-group', 'entitlements[1].approvers'],
      ['no-approvers', 'typo-group', 'entitlements[1].approvers'],
      ['no-approvers', 'left-group', 'entitlements[2].approvers'],
      ['no-approvers', 'three-owners', 'entitlements[3].approvers'],
      ['no-approvers', 'nhi-prod', 'entitlements[4].approvers'],
      ['break-glass-unreachable', 'glass-nobody', 'entitlements[6].breakGlass.allowedGroups'],
      ['empty-group', null, 'entitlements[2].approvers'],
    ]);
    const says = (code: string, entryId: string | null) => problems.find((p) => p.code === code && p.entry === entryId)?.message;
    expect(says('ttl-default-above-cap', 'long-default')).toBe("the default TTL 9h is above the entry's cap, ttl.maxSeconds 8h: a request taking the default could never be granted");
    expect(says('no-approvers', 'three-owners')).toBe(
      'entry "three-owners" needs 3 distinct approvers (3 approvers from data-platform-owners), but only 2 active people in those groups can fill them: no such request can be approved',
    );
    expect(says('no-approvers', 'nhi-prod')).toMatch(/needs 2 distinct approvers for a non-human identity in production .* only 1 active person/);
    expect(says('empty-group', null)).toBe('group "departed" has no active member, yet "left-group", "glass-nobody", "manager-saves" name it');
  });

  it('prints the same problems as lines a person reads', async () => {
    const out = await check('--catalog', CATALOG, '--directory', DIRECTORY);
    expect(out.code).toBe(1);
    const lines = out.stdout.split('\n');
    expect(lines[0]).toBe(`${CATALOG}: 9 problems (checked against ${DIRECTORY})`);
    expect(lines).toContain('  entitlements[1].approvers: entry "typo-group" names approver group "securty", which the directory does not define [unknown-group]');
    expect(lines).toContain('  entitlements[6].breakGlass.allowedGroups: entry "glass-nobody" allows break-glass only to departed, and no active person is in it: nobody can invoke it [break-glass-unreachable]');
  });

  it('reports a catalog that is not YAML as its problem, exit 1', async () => {
    const out = await check('--catalog', file('broken.yaml', 'entitlements: [\n  - id: x\n'), '--directory', DIRECTORY);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/1 problem .*\n {2}\(document\): not valid YAML/);
  });

  it('exits 2 for an unreadable catalog, an invalid directory, or no subcommand', async () => {
    const missing = await check('--catalog', join(dir, 'nope.yaml'), '--directory', DIRECTORY);
    expect([missing.code, missing.stderr]).toEqual([2, `grantline catalog: cannot read catalog ${join(dir, 'nope.yaml')} (ENOENT)`]);
    const badDirectory = await check('--catalog', CATALOG, '--directory', file('bad-directory.yaml', 'principals: 3\n'));
    expect(badDirectory.code).toBe(2);
    expect(badDirectory.stderr).toMatch(/bad-directory\.yaml is invalid/);
    expect((await captureCli(run, [])).code).toBe(2);
  });
});
