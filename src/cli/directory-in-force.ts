import { InvalidDocumentError, loadDirectory, MergedDirectory, scimStateOf } from '../catalog/index.js';
import { DirectoryRecord } from '../model/index.js';
import { readTopic } from '../pipeline/state-view.js';
import { cliGate, type CliKafka } from './kafka-cli.js';

/** The directory in force could not be read; `message` says which part and why. */
export class DirectoryUnavailableError extends Error {
  override readonly name = 'DirectoryUnavailableError';
  /** Which part could not be read: the directory file, or the SCIM directory topic. */
  readonly source: 'file' | 'scim';
  constructor(source: 'file' | 'scim', message: string) {
    super(message);
    this.source = source;
  }
}

/**
 * The directory in force, as a running grantline holds it: the directory file merged with what
 * the identity provider said over SCIM (`grantline.directory.v1`, read to its end) when
 * `scim.enabled`; the file alone otherwise (then nothing talks to Kafka). Throws
 * `DirectoryUnavailableError` when the file or the topic cannot be read.
 */
export async function directoryInForce(cli: CliKafka): Promise<MergedDirectory> {
  const path = cli.config.directory.path;
  let file;
  try {
    file = await loadDirectory(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!(err instanceof InvalidDocumentError) && code === undefined) throw err;
    throw new DirectoryUnavailableError('file', err instanceof InvalidDocumentError ? err.message : `cannot read ${path} (${code})`);
  }
  if (!cli.config.scim.enabled) return new MergedDirectory(file.document, { users: [], groups: [] });
  let messages;
  try {
    messages = await readTopic(cli.kafka, cli.topics.directory);
  } catch (err) {
    throw new DirectoryUnavailableError('scim', `cannot read the SCIM directory topic ${cli.topics.directory} (${err instanceof Error ? err.message : String(err)})`);
  }
  // The latest record of each key, as compaction keeps it.
  const latest = new Map<string, DirectoryRecord>();
  const gate = cliGate(cli, cli.topics.directory);
  for (const { message, partition } of messages) {
    const key = message.key?.toString('utf8');
    if (key === undefined) continue;
    const opened = gate.open(partition, message);
    if (!opened.ok) continue;
    if (message.value === null) {
      latest.delete(key);
      continue;
    }
    const record = DirectoryRecord.safeParse(opened.value);
    if (record.success) latest.set(key, record.data);
  }
  return new MergedDirectory(file.document, scimStateOf(latest.values()));
}
