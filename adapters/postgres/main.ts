/**
 * `grantline-postgres-adapter --config FILE`: runs the PostgreSQL adapter as a process. Exit codes:
 * 0 stopped by a signal, 2 bad config (every bad field, with its path), 1 could not start.
 *
 *   npx tsx adapters/postgres/main.ts --config adapters/postgres/example.yaml
 */
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../src/config/index.js';
import { kafkaSettings } from '../../src/kafka/index.js';
import { createLogger, type Logger } from '../../src/log/index.js';
import { runAdapter, type AdapterHandle } from '../kit/index.js';
import { loadPostgresAdapterConfig, type PostgresAdapterConfig } from './config.js';
import { PostgresTarget } from './target.js';

function serve(handle: AdapterHandle, http: NonNullable<PostgresAdapterConfig['http']>, logger: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      handle.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': handle.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(handle.publicJwks()));
    } else if (req.method === 'GET' && req.url === '/readyz') {
      res.writeHead(handle.ready() ? 200 : 503).end(handle.ready() ? 'ready\n' : 'not ready\n');
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(http.port, http.host, () => {
      logger.info({ address: server.address() }, 'adapter HTTP: /metrics, /readyz, /.well-known/jwks.json');
      resolve(server);
    });
  });
}

/** Runs the adapter until SIGINT or SIGTERM; resolves with the exit code. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } } });
  if (values.config === undefined) {
    process.stderr.write('grantline-postgres-adapter: --config FILE is required\n');
    return 2;
  }
  let config: PostgresAdapterConfig;
  try {
    config = loadPostgresAdapterConfig(values.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const logger = createLogger(config);
  let target: PostgresTarget;
  try {
    target = await PostgresTarget.connect(config.postgres);
  } catch (err) {
    logger.fatal({ err }, 'cannot use the PostgreSQL database');
    return 1;
  }
  let handle: AdapterHandle;
  try {
    const settings = kafkaSettings(config.kafka, { clientIdSuffix: `-adapter-${config.adapter.name}` });
    handle = await runAdapter({
      name: config.adapter.name,
      channel: config.adapter.channel,
      brokers: settings.brokers,
      kafka: settings,
      jwks: config.jwks,
      signingKey: config.signingKey,
      target,
      onDrift: config.adapter.onDrift,
      reconcileIntervalMs: config.adapter.reconcileIntervalMs,
      logger,
    });
  } catch (err) {
    logger.fatal({ err }, 'the adapter could not start');
    await target.close();
    return 1;
  }
  const server = config.http === undefined ? null : await serve(handle, config.http, logger);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info('stopping');
  server?.close();
  await handle.stop();
  await target.close();
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`grantline-postgres-adapter: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
