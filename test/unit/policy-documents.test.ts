/**
 * The holder of the catalog and directory in force, with an in-memory file system as the fake: what
 * a reload applies, what it refuses (and that the old version then stays in force whole), and the
 * problems it names.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PolicyDocuments, PolicyDocumentsError, type PolicySnapshot, type ReadText } from '../../src/catalog/index.js';
import { EXAMPLE_CATALOG_PATH, EXAMPLE_DIRECTORY_PATH } from '../fixtures/requests/factory.js';

const FILES = { catalog: '/policy/catalog.yaml', directory: '/policy/directory.yaml' };
const CATALOG = readFileSync(EXAMPLE_CATALOG_PATH, 'utf8');
const DIRECTORY = readFileSync(EXAMPLE_DIRECTORY_PATH, 'utf8');

type Doc = Record<string, unknown> & { groups: Record<string, string[]>; entitlements: Record<string, unknown>[] };

/** Files in memory; a missing one fails the way the file system does. */
function fakeFiles(initial: Record<string, string> = { [FILES.catalog]: CATALOG, [FILES.directory]: DIRECTORY }) {
  const files = new Map(Object.entries(initial));
  const read: ReadText = async (file) => {
    const text = files.get(file);
    if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${file}'`), { code: 'ENOENT' });
    return text;
  };
  const edit = (file: string, change: (doc: Doc) => void) => {
    const doc = parseYaml(files.get(file) ?? '') as Doc;
    change(doc);
    files.set(file, stringifyYaml(doc));
  };
  return { files, read, edit };
}

async function loadError(promise: Promise<unknown>): Promise<PolicyDocumentsError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof PolicyDocumentsError)) throw new Error(`expected a PolicyDocumentsError, got ${String(err)}`);
  return err;
}

describe('loading the catalog and directory', () => {
  it('holds both, checked against each other', async () => {
    const fs = fakeFiles();
    const documents = await PolicyDocuments.load(FILES, { read: fs.read });
    expect(documents.current().catalog.get('db-orders-prod-readwrite')).not.toBeNull();
    expect(documents.current().directory.isMember('bob', 'data-platform-owners')).toBe(true);
    expect(documents.current().catalog.version).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('names each file it cannot read', async () => {
    const err = await loadError(PolicyDocuments.load(FILES, { read: fakeFiles({}).read }));
    expect(err.problems).toEqual([
      { document: 'catalog', file: FILES.catalog, path: '', message: 'cannot read the file (ENOENT)' },
      { document: 'directory', file: FILES.directory, path: '', message: 'cannot read the file (ENOENT)' },
    ]);
  });

  it('lists every approver group the directory lacks, each at its catalog entry', async () => {
    const fs = fakeFiles();
    fs.edit(FILES.directory, (doc) => {
      delete doc.groups['data-platform-owners'];
      delete doc.groups.security;
    });
    const err = await loadError(PolicyDocuments.load(FILES, { read: fs.read }));
    expect(err.problems.map((p) => [p.document, p.path, p.message])).toEqual([
      ['catalog', 'entitlements[0].approvers', 'entry "db-orders-prod-readwrite" names approver group "data-platform-owners", which the directory does not define'],
      ['catalog', 'entitlements[1].approvers', 'entry "payments-api-key" names approver group "security", which the directory does not define'],
      ['catalog', 'entitlements[3].approvers', 'entry "analytics-readonly" names approver group "data-platform-owners", which the directory does not define'],
      ['catalog', 'entitlements[4].approvers', 'entry "prod-breakglass-admin" names approver group "security", which the directory does not define'],
    ]);
    expect(err.message).toContain(`${FILES.catalog}: entitlements[0].approvers: entry "db-orders-prod-readwrite"`);
  });

  it('lists the bad fields of both documents at once', async () => {
    const fs = fakeFiles();
    fs.edit(FILES.catalog, (doc) => {
      (doc.entitlements[0] as Record<string, unknown>).channel = 'PAM!';
    });
    fs.edit(FILES.directory, (doc) => {
      doc.groups.security = ['nobody'];
    });
    const err = await loadError(PolicyDocuments.load(FILES, { read: fs.read }));
    expect(err.problems.map((p) => `${p.document} ${p.path}`)).toEqual(['catalog entitlements[0].channel', 'directory groups.security[0]']);
  });
});

describe('reloading', () => {
  it('applies a valid new directory: bob no longer approves for data-platform-owners', async () => {
    const fs = fakeFiles();
    const documents = await PolicyDocuments.load(FILES, { read: fs.read });
    const before = documents.current();
    fs.edit(FILES.directory, (doc) => {
      doc.groups['data-platform-owners'] = ['carol'];
    });
    const report = await documents.reload();
    expect(report.outcome).toBe('reloaded');
    expect(report.documents).toEqual({ catalog: { outcome: 'unchanged', valid: true }, directory: { outcome: 'reloaded', valid: true } });
    expect(documents.current().directory.isMember('bob', 'data-platform-owners')).toBe(false);
    expect(documents.current().directory.version).not.toBe(before.directory.version);
    // The catalog object in force is the same one: nothing about it changed.
    expect(documents.current().catalog).toBe(before.catalog);
    expect(report.previous).toBe(before);
  });

  it('calls a formatting-only edit unchanged', async () => {
    const fs = fakeFiles();
    const documents = await PolicyDocuments.load(FILES, { read: fs.read });
    const before = documents.current();
    fs.files.set(FILES.catalog, `# reviewed 2026-01\n${CATALOG.replace('maxSeconds: 8h', 'maxSeconds: 28800')}`);
    const report = await documents.reload();
    expect(report.outcome).toBe('unchanged');
    expect(documents.current()).toBe(before);
  });

  it('keeps the old pair in force whole when one new document is invalid', async () => {
    const fs = fakeFiles();
    const documents = await PolicyDocuments.load(FILES, { read: fs.read });
    const before = documents.current();
    // A valid catalog edit together with a broken directory: neither takes effect.
    fs.edit(FILES.catalog, (doc) => {
      (doc.entitlements[3] as Record<string, unknown>).description = 'changed';
    });
    fs.edit(FILES.directory, (doc) => {
      (doc.principals as Record<string, unknown>[])[0]!.active = 'yes';
      (doc.nhis as Record<string, unknown>[])[1]!.type = 'robot';
    });
    const report = await documents.reload();
    expect(report.outcome).toBe('invalid');
    expect(report.documents).toEqual({ catalog: { outcome: 'refused', valid: true }, directory: { outcome: 'invalid', valid: false } });
    expect(report.problems.map((p) => `${p.file}: ${p.path}: ${p.message}`)).toEqual([
      `${FILES.directory}: principals[0].active: Invalid input: expected boolean, received string`,
      `${FILES.directory}: nhis[1].type: Invalid option: expected one of "service_account"|"api_key"|"ci_token"|"automation_role"|"workload"`,
    ]);
    expect(documents.current()).toBe(before);
    expect(report.snapshot).toBe(before);
  });

  it('blames the directory when only it changed and dropped a group the catalog names', async () => {
    const fs = fakeFiles();
    const documents = await PolicyDocuments.load(FILES, { read: fs.read });
    fs.edit(FILES.directory, (doc) => {
      delete doc.groups['platform-team'];
    });
    const report = await documents.reload();
    expect(report.outcome).toBe('invalid');
    expect(report.documents.directory).toEqual({ outcome: 'invalid', valid: false });
    expect(report.documents.catalog).toEqual({ outcome: 'unchanged', valid: true });
    expect(report.problems).toEqual([
      { document: 'directory', file: FILES.directory, path: 'entitlements[2].approvers', message: 'entry "ci-deploy-token-staging" names approver group "platform-team", which the directory does not define' },
      { document: 'directory', file: FILES.directory, path: 'entitlements[4].approvers', message: 'entry "prod-breakglass-admin" names approver group "platform-team", which the directory does not define' },
    ]);
    expect(documents.current().directory.hasGroup('platform-team')).toBe(true);
  });

  it('prepares a new version before it takes effect, and refuses it when preparing fails', async () => {
    const fs = fakeFiles();
    const prepared: [PolicySnapshot, PolicySnapshot][] = [];
    let topicsWork = false;
    const documents = await PolicyDocuments.load(FILES, {
      read: fs.read,
      prepare: async (next, previous) => {
        prepared.push([next, previous]);
        if (!topicsWork) throw new Error('cannot create access.grants.warehouse.v1');
      },
    });
    const before = documents.current();
    fs.edit(FILES.catalog, (doc) => {
      (doc.entitlements[3] as Record<string, unknown>).channel = 'warehouse';
    });
    const refused = await documents.reload();
    expect(refused.outcome).toBe('refused');
    expect(refused.documents.catalog).toEqual({ outcome: 'refused', valid: true });
    expect(refused.problems).toEqual([{ document: 'catalog', file: FILES.catalog, path: '', message: 'the new version could not be prepared (Error: cannot create access.grants.warehouse.v1)' }]);
    expect(documents.current()).toBe(before);
    expect(prepared[0]?.[0].catalog.get('analytics-readonly')?.channel).toBe('warehouse');
    expect(prepared[0]?.[1]).toBe(before);

    // A refused version is tried again at the next refresh even though its bytes did not change.
    topicsWork = true;
    const applied = await documents.refresh();
    expect(applied?.outcome).toBe('reloaded');
    expect(documents.current().catalog.get('analytics-readonly')?.channel).toBe('warehouse');
  });

  it('refresh reads again but reports only when the bytes changed, so an invalid file is reported once per edit', async () => {
    const fs = fakeFiles();
    const documents = await PolicyDocuments.load(FILES, { read: fs.read });
    expect(await documents.refresh()).toBeNull();
    fs.files.set(FILES.directory, 'principals: [\n');
    const report = await documents.refresh();
    expect(report?.outcome).toBe('invalid');
    expect(report?.problems[0]?.message).toMatch(/^not valid YAML/);
    expect(await documents.refresh()).toBeNull();
    // An explicit reload (SIGHUP) reports again.
    expect((await documents.reload()).outcome).toBe('invalid');
    fs.files.set(FILES.directory, DIRECTORY);
    expect((await documents.refresh())?.outcome).toBe('unchanged');
  });

  it('runs reloads one at a time, each reading the files as they are when it starts', async () => {
    const fs = fakeFiles();
    const documents = await PolicyDocuments.load(FILES, { read: fs.read });
    fs.edit(FILES.directory, (doc) => {
      doc.groups['data-platform-owners'] = ['carol'];
    });
    const first = documents.reload();
    const second = documents.reload();
    expect((await first).outcome).toBe('reloaded');
    expect((await second).outcome).toBe('unchanged');
  });
});
