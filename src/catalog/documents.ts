import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseCatalog, type Catalog } from './catalog.js';
import { checkCatalogAgainstDirectory } from './check.js';
import { parseDirectory, type YamlDirectory } from './directory.js';
import { InvalidDocumentError } from './errors.js';
import { MergedDirectory, type ScimDirectoryState } from './merge.js';

/** The two policy documents grantline decides by. */
export type PolicyDocumentName = 'catalog' | 'directory';
export const POLICY_DOCUMENTS: readonly PolicyDocumentName[] = ['catalog', 'directory'];

/** Where each document is read from (absolute paths, as the config resolves them). */
export type PolicyDocumentFiles = Readonly<Record<PolicyDocumentName, string>>;

/**
 * A catalog and a directory that are in force together, checked against each other. The
 * directory is the file's merged with what the identity provider said over SCIM (`MergedDirectory`).
 */
export interface PolicySnapshot {
  readonly catalog: Catalog;
  readonly directory: MergedDirectory;
}

/** One reason a version of a document cannot be used: which file, which field, what is wrong. */
export interface PolicyProblem {
  readonly document: PolicyDocumentName;
  readonly file: string;
  /** Path of the bad field inside the document (`entitlements[2].ttl`); empty for the file itself. */
  readonly path: string;
  readonly message: string;
}

/** Reads a file's text. Throws the file system's error (`code` such as `ENOENT`) when it cannot. */
export type ReadText = (file: string) => Promise<string>;

const readUtf8: ReadText = (file) => readFile(file, 'utf8');

/** The catalog and directory could not be loaded; `problems` lists every one. */
export class PolicyDocumentsError extends Error {
  readonly problems: readonly PolicyProblem[];
  constructor(problems: readonly PolicyProblem[]) {
    super(`the catalog and directory cannot be used (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${describeProblem(p)}`).join('\n')}`);
    this.name = 'PolicyDocumentsError';
    this.problems = problems;
  }
}

/** `FILE: path: message`, the way problems are logged and listed. */
export function describeProblem(problem: PolicyProblem): string {
  return `${problem.file}: ${problem.path === '' ? '' : `${problem.path}: `}${problem.message}`;
}

/** What became of one document in a reload. */
export type DocumentOutcome =
  /** A new version is in force. */
  | 'reloaded'
  /** The file means what the version in force means (comments and formatting do not count). */
  | 'unchanged'
  /** The new version is invalid on its own or against the other document; the old one stays. */
  | 'invalid'
  /** The new version is valid but was not applied: the other document is invalid, or preparing failed. */
  | 'refused';

/** The outcome of one reload, for metrics, logs and alerts. */
export interface ReloadReport {
  /** `invalid` when any document is, `refused` when preparing failed, else whether anything changed. */
  readonly outcome: 'reloaded' | 'unchanged' | 'invalid' | 'refused';
  readonly documents: Readonly<Record<PolicyDocumentName, { readonly outcome: DocumentOutcome; readonly valid: boolean }>>;
  /** Every problem found; empty unless the outcome is `invalid` or `refused`. */
  readonly problems: readonly PolicyProblem[];
  /** What is in force after the reload (the old snapshot unless the outcome is `reloaded`). */
  readonly snapshot: PolicySnapshot;
  readonly previous: PolicySnapshot;
}

export interface PolicyDocumentsOptions {
  readonly read?: ReadText;
  /**
   * Called each time another directory comes into force (a file reload or a SCIM change), with the
   * new and the previous one: for reporting conflicts between the file and SCIM. Must not throw.
   */
  readonly onDirectory?: (next: MergedDirectory, previous: MergedDirectory | null) => void;
  /**
   * Runs after a new version validated and before it takes effect, e.g. to create the grant topic of
   * a channel the new catalog adds. A throw refuses the new version: the old one stays in force.
   */
  readonly prepare?: (next: PolicySnapshot, previous: PolicySnapshot) => Promise<void>;
}

interface DocumentRead<T> {
  readonly value: T | null;
  readonly problems: PolicyProblem[];
  /** SHA-256 of the bytes read; null when the file could not be read. */
  readonly digest: string | null;
}

async function readDocument<T>(document: PolicyDocumentName, file: string, read: ReadText, parse: (text: string, name: string) => T): Promise<DocumentRead<T>> {
  let text: string;
  try {
    text = await read(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    return { value: null, digest: null, problems: [{ document, file, path: '', message: `cannot read the file (${code})` }] };
  }
  const digest = createHash('sha256').update(text, 'utf8').digest('hex');
  try {
    return { value: parse(text, file), digest, problems: [] };
  } catch (err) {
    if (!(err instanceof InvalidDocumentError)) throw err;
    return { value: null, digest, problems: err.issues.map((issue) => ({ document, file, path: issue.path, message: issue.message })) };
  }
}

/** Both documents as read now, each validated on its own and, when both are, against each other. */
interface PolicyRead {
  readonly catalog: DocumentRead<Catalog>;
  /** The file's directory alone. */
  readonly directory: DocumentRead<YamlDirectory>;
  /** The file's directory merged with the SCIM state of the moment; null when the file is invalid. */
  readonly merged: MergedDirectory | null;
  /** Catalog entries naming groups the merged directory lacks; only when both documents are valid. */
  readonly cross: PolicyProblem[];
}

const EMPTY_SCIM: ScimDirectoryState = { users: [], groups: [] };

async function readBoth(files: PolicyDocumentFiles, read: ReadText, scim: () => ScimDirectoryState): Promise<PolicyRead> {
  const [catalog, directory] = await Promise.all([
    readDocument('catalog', files.catalog, read, parseCatalog),
    readDocument<YamlDirectory>('directory', files.directory, read, parseDirectory),
  ]);
  const merged = directory.value === null ? null : new MergedDirectory(directory.value.document, scim());
  const cross =
    catalog.value !== null && merged !== null
      ? checkCatalogAgainstDirectory(catalog.value, merged).map((issue) => ({ document: 'catalog' as const, file: files.catalog, path: issue.path, message: issue.message }))
      : [];
  return { catalog, directory, merged, cross };
}

/** What `applyScim` did: the new directory in force, and catalog entries that name groups it lacks. */
export interface ScimApplyReport {
  readonly snapshot: PolicySnapshot;
  readonly previous: PolicySnapshot;
  /**
   * The identity provider's word on people takes effect even so (a deactivation must never wait);
   * an entry naming a missing group can then be approved by nobody.
   */
  readonly problems: readonly PolicyProblem[];
}

/**
 * The one home of "the catalog and directory in force". Everything that decides, resolves
 * identities or checks owners reads `current()` at the moment it needs them, so a reload takes
 * effect for the next decision without a restart. A reload validates both files whole, and against
 * each other, before anything changes: an invalid version leaves the one in force untouched. The
 * swap is one assignment, so a reader sees the old pair or the new pair, never half of each.
 */
export class PolicyDocuments {
  readonly files: PolicyDocumentFiles;
  #current: PolicySnapshot;
  /** The directory file's version in force, before SCIM is merged over it. */
  #file: YamlDirectory;
  #scim: ScimDirectoryState = EMPTY_SCIM;
  readonly #read: ReadText;
  readonly #prepare: PolicyDocumentsOptions['prepare'];
  readonly #onDirectory: PolicyDocumentsOptions['onDirectory'];
  /** Bytes seen at the last read, so a re-read of unchanged files is a no-op (`refresh`). */
  #digests: Record<PolicyDocumentName, string | null>;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(files: PolicyDocumentFiles, catalog: Catalog, file: YamlDirectory, merged: MergedDirectory, digests: Record<PolicyDocumentName, string | null>, options: PolicyDocumentsOptions) {
    this.files = files;
    this.#current = { catalog, directory: merged };
    this.#file = file;
    this.#digests = digests;
    this.#read = options.read ?? readUtf8;
    this.#prepare = options.prepare;
    this.#onDirectory = options.onDirectory;
    this.#onDirectory?.(merged, null);
  }

  /** Reads and validates both files. Throws `PolicyDocumentsError` listing every problem. */
  static async load(files: PolicyDocumentFiles, options: PolicyDocumentsOptions = {}): Promise<PolicyDocuments> {
    const read = await readBoth(files, options.read ?? readUtf8, () => EMPTY_SCIM);
    const problems = [...read.catalog.problems, ...read.directory.problems, ...read.cross];
    if (problems.length > 0 || read.catalog.value === null || read.directory.value === null || read.merged === null) throw new PolicyDocumentsError(problems);
    return new PolicyDocuments(files, read.catalog.value, read.directory.value, read.merged, { catalog: read.catalog.digest, directory: read.directory.digest }, options);
  }

  /** The catalog and directory in force now. Read it per decision; do not keep it. */
  current(): PolicySnapshot {
    return this.#current;
  }

  /** The directory file's version in force, before SCIM is merged over it (to seed principal ids). */
  fileDirectory(): YamlDirectory {
    return this.#file;
  }

  /**
   * Puts what the identity provider says now (every user and group record, the latest of each)
   * over the directory file, at once: the next decision, identity lookup and owner check see it,
   * and the directory's version changes with it. Synchronous, so a SCIM write is in force before
   * the endpoint answers.
   */
  applyScim(state: ScimDirectoryState): ScimApplyReport {
    this.#scim = state;
    const previous = this.#current;
    const directory = new MergedDirectory(this.#file.document, state);
    const snapshot: PolicySnapshot = { catalog: previous.catalog, directory };
    this.#current = snapshot;
    this.#onDirectory?.(directory, previous.directory);
    const problems = checkCatalogAgainstDirectory(previous.catalog, directory).map((issue) => ({ document: 'catalog' as const, file: this.files.catalog, path: issue.path, message: issue.message }));
    return { snapshot, previous, problems };
  }

  /** Reads both files again and applies them when they are valid (see `ReloadReport`). Reloads run one at a time. */
  reload(): Promise<ReloadReport> {
    return this.#serialized(() => this.#reload(false) as Promise<ReloadReport>);
  }

  /**
   * Like `reload`, but resolves null without validating anything when neither file's bytes changed
   * since the last read: periodic checks and file events then cost a read, and an invalid file is
   * reported once per edit, not once per check.
   */
  refresh(): Promise<ReloadReport | null> {
    return this.#serialized(() => this.#reload(true));
  }

  #serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves null only when `skipUnchangedBytes` is set and neither file's bytes changed. */
  async #reload(skipUnchangedBytes: boolean): Promise<ReloadReport | null> {
    let used = this.#scim;
    const read = await readBoth(this.files, this.#read, () => (used = this.#scim));
    const digests = { catalog: read.catalog.digest, directory: read.directory.digest };
    if (skipUnchangedBytes && digests.catalog === this.#digests.catalog && digests.directory === this.#digests.directory) return null;

    const previous = this.#current;
    const changed: Record<PolicyDocumentName, boolean> = {
      catalog: read.catalog.value === null || read.catalog.value.version !== previous.catalog.version,
      directory: read.merged === null || read.merged.version !== previous.directory.version,
    };
    // A group missing from the directory is the catalog's problem unless only the directory changed
    // (someone deleted a group the catalog still names).
    const blamed: PolicyDocumentName = !changed.catalog && changed.directory ? 'directory' : 'catalog';
    const cross = read.cross.map((p) => (blamed === 'catalog' ? p : { ...p, document: 'directory' as const, file: this.files.directory }));
    const problems: PolicyProblem[] = [...read.catalog.problems, ...read.directory.problems, ...cross];
    const invalid = new Set(problems.map((p) => p.document));

    let outcome: ReloadReport['outcome'];
    let snapshot = previous;
    if (problems.length > 0 || read.catalog.value === null || read.directory.value === null || read.merged === null) {
      outcome = 'invalid';
    } else if (!changed.catalog && !changed.directory) {
      outcome = 'unchanged';
    } else {
      const file = read.directory.value;
      const next: PolicySnapshot = {
        catalog: changed.catalog ? read.catalog.value : previous.catalog,
        directory: changed.directory ? read.merged : previous.directory,
      };
      try {
        await this.#prepare?.(next, previous);
        // SCIM may have changed while reading or preparing: merge over the state of now.
        const before = this.#current;
        this.#file = file;
        const directory = !changed.directory ? before.directory : this.#scim === used ? read.merged : new MergedDirectory(file.document, this.#scim);
        snapshot = { catalog: next.catalog, directory };
        this.#current = snapshot;
        if (directory !== before.directory) this.#onDirectory?.(directory, before.directory);
        outcome = 'reloaded';
      } catch (err) {
        const document: PolicyDocumentName = changed.catalog ? 'catalog' : 'directory';
        const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        problems.push({ document, file: this.files[document], path: '', message: `the new version could not be prepared (${reason})` });
        outcome = 'refused';
      }
    }
    // A refused version is tried again at the next refresh (the topic may be creatable by then);
    // an invalid one only once its bytes change.
    if (outcome !== 'refused') this.#digests = digests;
    const documentOutcome = (document: PolicyDocumentName): DocumentOutcome => {
      if (invalid.has(document)) return 'invalid';
      if (!changed[document]) return 'unchanged';
      return outcome === 'reloaded' ? 'reloaded' : 'refused';
    };
    return {
      outcome,
      documents: {
        catalog: { outcome: documentOutcome('catalog'), valid: !invalid.has('catalog') },
        directory: { outcome: documentOutcome('directory'), valid: !invalid.has('directory') },
      },
      problems,
      snapshot,
      previous,
    };
  }
}
