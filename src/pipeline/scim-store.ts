import type { PolicyDocuments } from '../catalog/index.js';
import type { GrantlineProducer } from '../kafka/index.js';
import { directoryRecordKey, type IdentityLifecycleEvent, type ScimGroupRecord, type ScimUserRecord } from '../model/index.js';
import { ScimError } from '../scim/errors.js';
import type { ScimDirectoryContext, ScimStore, ScimWrite } from '../scim/service.js';
import { CE_TYPES, encodeCloudEvent } from './cloudevents.js';
import type { DirectoryView } from './directory-view.js';
import { withTimeout } from './ingress.js';

export interface KafkaScimStoreOptions {
  /** A transactional producer of its own: a record and the offboarding it causes are written together or not at all. */
  readonly producer: GrantlineProducer;
  readonly view: DirectoryView;
  readonly topics: { readonly directory: string; readonly lifecycle: string };
  /** How long to wait for the broker before answering 503 (`pipeline.produceTimeoutMs`). */
  readonly timeoutMs: number;
  /** Signs an offboarding event with grantline's key before it is written. */
  readonly sign: (event: IdentityLifecycleEvent) => IdentityLifecycleEvent;
}

/**
 * The SCIM endpoint's store: `grantline.directory.v1`, written the durable way ingress writes
 * webhooks (acks=all, idempotent; the IdP gets its answer only once the broker has the change, or
 * 503 so it retries), here in a Kafka transaction with the `identity.lifecycle.v1` events the change
 * causes. Once committed, the change is applied to this process's view (and so to the directory in
 * force) before the endpoint answers. Transactions run one at a time.
 */
export class KafkaScimStore implements ScimStore {
  readonly #o: KafkaScimStoreOptions;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(options: KafkaScimStoreOptions) {
    this.#o = options;
  }

  users(): readonly ScimUserRecord[] {
    return this.#o.view.users();
  }

  groups(): readonly ScimGroupRecord[] {
    return this.#o.view.groups();
  }

  async write(change: ScimWrite): Promise<void> {
    // A write that times out keeps going in the background (and is applied when it commits); the
    // next one waits for it, as a producer has one transaction open at a time.
    const run = this.#chain.then(() => this.#transaction(change));
    this.#chain = run.catch(() => undefined);
    try {
      await withTimeout(run, this.#o.timeoutMs, 'writing the SCIM change to Kafka');
    } catch (error) {
      throw new ScimError(503, `the change could not be stored (${error instanceof Error ? error.message : String(error)}); retry later`, undefined, 5);
    }
  }

  async #transaction(change: ScimWrite): Promise<void> {
    const { producer, topics } = this.#o;
    const now = new Date().toISOString();
    const records = change.records.map((record) => ({ key: directoryRecordKey(record), record }));
    const tx = await producer.transaction();
    let offsets: bigint[];
    try {
      const metadata = await tx.send(
        topics.directory,
        records.map(({ key, record }) => encodeCloudEvent(key, { id: `${key}@${record.lastModified}`, source: 'urn:grantline:scim', type: CE_TYPES.directoryRecord, time: now }, record)),
      );
      if (change.lifecycle.length > 0) {
        await tx.send(
          topics.lifecycle,
          change.lifecycle.map((event) =>
            encodeCloudEvent(event.principalId, { id: `scim:${event.type}:${event.principalId}:${event.at}`, source: 'urn:grantline:scim', type: CE_TYPES.identityLifecycle, time: now, subject: event.principalId }, this.#o.sign(event)),
          ),
        );
      }
      await tx.commit();
      // One partition, one record per write: its offset is the base offset of the batch, plus its place.
      const base = BigInt(metadata.find((m) => m.topicName === topics.directory)?.baseOffset ?? '-1');
      offsets = records.map((_, i) => base + BigInt(i));
    } catch (error) {
      await tx.abort().catch(() => undefined);
      throw error;
    }
    records.forEach(({ key, record }, i) => this.#o.view.applyOwn(key, record, offsets[i] as bigint));
  }
}

/** What the SCIM endpoint asks of the catalog and directory in force. */
export function scimDirectoryContext(documents: PolicyDocuments): ScimDirectoryContext {
  return {
    filePrincipalFor: (userName, emails) => {
      const file = documents.fileDirectory();
      const lower = userName.trim().toLowerCase();
      if (file.principal(lower) !== null) return lower;
      for (const value of [userName, ...emails]) {
        const id = file.resolve({ kind: 'email', value });
        if (id !== null) return id;
      }
      return null;
    },
    isNhi: (id) => documents.current().directory.nhi(id) !== null,
    isActive: (id) => documents.current().directory.principal(id)?.active === true,
    entriesNamingGroup: (name) =>
      documents
        .current()
        .catalog.entries()
        .filter((e) => (e.approvers.kind === 'groups' ? e.approvers.groups.map((g) => g.group) : e.approvers.pool).includes(name))
        .map((e) => e.id),
  };
}
