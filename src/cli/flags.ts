/** Terminal access of a CLI command, replaceable in tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/**
 * A command's flags, or its exit code when there is nothing to run: a flag `parse` refuses prints
 * the error and the usage (2), `--help` prints the usage (0).
 */
export function readFlags<T extends { help?: boolean | undefined }>(command: string, usage: string, io: CliIo, parse: () => { values: T }): T | number {
  let values: T;
  try {
    ({ values } = parse());
  } catch (err) {
    io.err(`grantline ${command}: ${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    return 2;
  }
  if (values.help === true) {
    io.out(usage);
    return 0;
  }
  return values;
}
