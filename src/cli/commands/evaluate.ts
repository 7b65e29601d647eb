import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { InvalidDocumentError, formatPath, parseCatalog, parseDirectory } from '../../catalog/index.js';
import { EntitlementRequest } from '../../model/index.js';
import { requestIdFor } from '../../policy/ids.js';
import { decide } from '../../policy/index.js';
import { DEFAULT_CATALOG_PATH, DEFAULT_CONFIG_PATH, DEFAULT_DIRECTORY_PATH, InputError, readConfigDefaults, readText } from '../config-paths.js';

const USAGE = `usage: grantline evaluate --request REQUEST.json [--catalog CATALOG.yaml] [--directory DIRECTORY.yaml]
                         [--at ISO-TIME] [--config CONFIG.yaml]

Decides one canonical entitlement request against the catalog and directory, the way the processor
would, and prints the decision (a grant or a rejection with every reason) as JSON. Nothing is
published, signed or written back: this answers "why would this ticket be refused?".

  --request PATH    the EntitlementRequest as JSON (see schemas/entitlement-request.v1.json); its
                    requestId may be left out: grantline computes it from the request fields
  --catalog PATH    entitlement catalog YAML (default: catalog.path of the config, else ${DEFAULT_CATALOG_PATH})
  --directory PATH  directory YAML (default: directory.path of the config, else ${DEFAULT_DIRECTORY_PATH})
  --at ISO-TIME     decide as of this time instead of now (e.g. 2025-03-04T10:00:00Z)
  --config PATH     grantline config to take the catalog, directory and policy version from
                    (default: ${DEFAULT_CONFIG_PATH} when it exists); only those fields are read

exit status: 0 granted, 3 rejected, 2 invalid input`;

/** Terminal access, replaceable in tests. */
export interface EvaluateIo {
  out(text: string): void;
  err(text: string): void;
}

/** A request file: `requestId` may be left out (grantline computes it). */
const RequestFile = EntitlementRequest.extend({ requestId: z.string().min(1).optional() });

const defaultIo: EvaluateIo = { out: (t) => console.log(t), err: (t) => console.error(t) };

async function readRequest(path: string): Promise<EntitlementRequest> {
  const text = await readText(path, 'request');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(`request ${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const result = RequestFile.safeParse(value);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  - ${issue.path.length === 0 ? '(request)' : formatPath(issue.path)}: ${issue.message}`);
    throw new InputError(`request ${path} is not an EntitlementRequest:\n${lines.join('\n')}`);
  }
  // The id is grantline's, computed from the request fields as the pipeline computes it; a file that
  // names another one describes some other request.
  const { requestId: given, ...fields } = result.data;
  const requestId = requestIdFor(fields);
  if (given !== undefined && given !== requestId) {
    throw new InputError(`request ${path}: requestId ${given} is not this request's id; grantline computes it from the request fields (${requestId}), leave it out or use that`);
  }
  return { ...fields, requestId };
}

function parseAt(value: string | undefined): Date {
  if (value === undefined) return new Date();
  // Only full timestamps with an offset: a bare date or local time would decide at a guessed instant.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InputError(`--at expects an ISO 8601 time with an offset, such as 2025-03-04T10:00:00Z; got "${value}"`);
  }
  return new Date(value);
}

/** `grantline evaluate`: prints the decision as JSON; exit 0 granted, 3 rejected, 2 invalid input. */
export async function run(argv: string[], io: EvaluateIo = defaultIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        request: { type: 'string' },
        catalog: { type: 'string' },
        directory: { type: 'string' },
        at: { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    io.err(`grantline evaluate: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.out(USAGE);
    return 0;
  }
  if (values.request === undefined) {
    io.err(`grantline evaluate: --request is required\n\n${USAGE}`);
    return 2;
  }
  try {
    const now = parseAt(values.at);
    const configPath = values.config ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
    const defaults = configPath === undefined ? {} : await readConfigDefaults(configPath);
    const catalogPath = values.catalog ?? defaults.catalogPath ?? DEFAULT_CATALOG_PATH;
    const directoryPath = values.directory ?? defaults.directoryPath ?? DEFAULT_DIRECTORY_PATH;
    const request = await readRequest(values.request);
    const [catalogText, directoryText] = await Promise.all([readText(catalogPath, 'catalog'), readText(directoryPath, 'directory')]);
    const catalog = parseCatalog(catalogText, catalogPath);
    const directory = parseDirectory(directoryText, directoryPath);
    const decision = decide(request, catalog, directory, now, defaults.policyVersion === undefined ? {} : { policyVersion: defaults.policyVersion });
    io.out(JSON.stringify(decision, null, 2));
    return decision.outcome === 'granted' ? 0 : 3;
  } catch (err) {
    if (err instanceof InputError || err instanceof InvalidDocumentError) {
      io.err(`grantline evaluate: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
