import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, resolveConfigPath } from '../../config/index.js';
import { createLogger } from '../../log/index.js';
import { wiredConnectorTypes } from '../../service/connector-types.js';
import { ROLE_NAMES, selectRoles } from '../../service/roles.js';
import { ComponentStartError } from '../../service/service.js';
import { buildService } from '../../service/wiring.js';

const USAGE = `usage: grantline serve [--config PATH] [--role ${ROLE_NAMES.join('|')}|all]

Runs grantline until SIGTERM or SIGINT, then stops gracefully (exit 0). SIGHUP re-reads the
catalog and directory (as a change to either file does); an invalid version is refused, logged
and alerted, and the one in force stays.

  --config PATH   config file (default: $GRANTLINE_CONFIG, else ./grantline.yaml)
  --role ROLE     which role this process runs (default: all registered roles)

Exit codes: 0 clean stop, 1 failed start or unclean stop, 2 bad usage or invalid config.`;

// After the service has stopped, anything still holding the event loop open (a socket a library
// forgot) must not keep a stopped process alive.
const EXIT_GRACE_MS = 5_000;

/**
 * One line for stderr: which component could not start and why, e.g. `failed to start
 * (kafka-topics): kafka 10.0.0.1:9093: SASL authentication failed (check kafka.sasl.username/password)`.
 * The JSON log on stdout has the details; errors never carry secrets.
 */
function startFailureLine(err: unknown): string {
  const cause = err instanceof ComponentStartError ? err.cause : err;
  const reason = cause instanceof Error ? cause.message : String(cause);
  const where = err instanceof ComponentStartError ? ` (${err.component})` : '';
  return `failed to start${where}: ${reason.replace(/\s*\n\s*/g, ' ')}`;
}

/** `grantline serve`: load config, build the roles, serve HTTP, run until signalled. */
export async function run(argv: string[]): Promise<number> {
  let values: { config?: string; role?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, role: { type: 'string', default: 'all' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    console.error(`grantline serve: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }

  const selected = selectRoles(values.role ?? 'all');
  if (!selected.ok) {
    console.error(`grantline serve: ${selected.error}`);
    return 2;
  }

  // Node's default for SIGHUP is to exit. Until the service listens for it (`run`), a SIGHUP is
  // remembered, not fatal; the documents read while building are then read again once running.
  let early = false;
  const earlySighup = () => {
    early = true;
  };
  process.on('SIGHUP', earlySighup);
  try {
    const path = resolveConfigPath(values.config);
    let config;
    try {
      config = loadConfig(path, process.env, { connectorTypes: wiredConnectorTypes() });
    } catch (err) {
      if (err instanceof ConfigError) {
        console.error(err.message);
        return 2;
      }
      throw err;
    }

    const logger = createLogger(config);
    logger.info({ roles: selected.roles, config: path }, 'grantline starting');
    let service;
    try {
      ({ service } = await buildService(config, logger, selected.roles));
    } catch (err) {
      // The catalog or directory is missing, invalid or inconsistent: a config error like any other.
      if (err instanceof ConfigError) {
        console.error(new ConfigError(path, err.issues).message);
        return 2;
      }
      throw err;
    }
    const running = service.run();
    if (early) void service.reload();
    const code = await running;
    if (service.startError !== undefined) console.error(`grantline serve: ${startFailureLine(service.startError)}`);
    logger.info({ exitCode: code }, 'grantline stopped');
    setTimeout(() => {
      logger.warn('handles still open after stop; exiting anyway');
      process.exit(code);
    }, EXIT_GRACE_MS).unref();
    return code;
  } finally {
    process.off('SIGHUP', earlySighup);
  }
}
