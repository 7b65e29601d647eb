/**
 * docs/controls.md is a claim about this repository: every file, test, reason code, custody event
 * and command it names must exist, and it must name the framework identifiers the controls map is
 * asked for, each with its title. When code moves or a test is renamed, this fails.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CustodyEventKind, ReasonCode } from '../../src/model/index.js';
import { REPO } from '../fixtures/requests/factory.js';

const doc = readFileSync(join(REPO, 'docs', 'controls.md'), 'utf8');
const backticked = [...doc.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string);

describe('docs/controls.md', () => {
  it.each([
    ['OWASP NHI1:2025', 'Improper Offboarding'],
    ['OWASP NHI5:2025', 'Overprivileged NHI'],
    ['OWASP NHI7:2025', 'Long-Lived Secrets'],
    ['OWASP NHI8:2025', 'Environment Isolation'],
    ['NIST CSF 2.0 PR.AA-01', 'Identities and credentials for authorized users, services, and hardware are managed by the organization'],
    ['NIST CSF 2.0 PR.AA-05', 'Access permissions, entitlements, and authorizations are defined in a policy, managed, enforced, and reviewed, and incorporate the principles of least privilege and separation of duties'],
    ['NIST CSF 1.1 PR.AC-4', 'Access permissions and authorizations are managed, incorporating the principles of least privilege and separation of duties'],
    ['SOC 2 CC6.1', 'logical access security software'],
    ['SOC 2 CC6.2', 'registering and authorizing users'],
    ['SOC 2 CC6.3', 'segregation of duties'],
    ['ISO/IEC 27001:2022 Annex A 5.15', 'Access control'],
    ['ISO/IEC 27001:2022 Annex A 5.18', 'Access rights'],
    ['ISO/IEC 27001:2022 Annex A 8.2', 'Privileged access rights'],
  ])('lists %s with its title and where it was checked', (id, title) => {
    const row = doc.split('\n').find((line) => line.startsWith(`| ${id} |`));
    expect(row, `no row for ${id}`).toBeDefined();
    expect(row).toContain(title);
    expect(row).toMatch(/https:\/\/|same page|same \|/);
  });

  it('names only files that exist', () => {
    const paths = backticked.filter((t) => /^(src|test|connectors|schemas|docs|examples|adapters)\/[\w./-]+$/.test(t));
    expect(paths.length).toBeGreaterThan(15);
    expect(paths.filter((p) => !existsSync(join(REPO, p)))).toEqual([]);
  });

  it('names tests that exist in the files it cites', () => {
    const missing: string[] = [];
    for (const line of doc.split(/\n(?=- )/).filter((b) => b.startsWith('- Tests:'))) {
      // `file` "test name", "another"; the names belong to the file before them.
      for (const part of line.replace(/\n\s*/g, ' ').matchAll(/`([^`]+\.test\.ts)`((?:\s*"[^"]+",?)*)/g)) {
        const content = readFileSync(join(REPO, part[1] as string), 'utf8');
        for (const name of [...(part[2] ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1] as string)) {
          if (!content.includes(name)) missing.push(`${part[1]}: "${name}"`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('names only reason codes of the model, custody events that exist, and real commands', () => {
    const codes = backticked.filter((t) => /^[A-Z][A-Z_]+$/.test(t));
    expect(codes.length).toBeGreaterThan(15);
    expect(codes.filter((c) => !(ReasonCode.options as readonly string[]).includes(c))).toEqual([]);
    const custody = [...doc.replace(/\n\s*/g, ' ').matchAll(/custody `([a-z.-]+)`/g)].map((m) => m[1] as string);
    expect(custody.length).toBeGreaterThan(5);
    expect(custody.filter((k) => !(CustodyEventKind.options as readonly string[]).includes(k))).toEqual([]);
    const commands = [...doc.matchAll(/`grantline ([a-z]+)/g)].map((m) => m[1] as string);
    expect(new Set(commands)).toEqual(new Set(['evaluate', 'catalog', 'directory', 'revoke', 'verify', 'evidence', 'whatif']));
    expect(commands.filter((c) => !existsSync(join(REPO, 'src', 'cli', 'commands', `${c}.ts`)))).toEqual([]);
  });
});
