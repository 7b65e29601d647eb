/**
 * The test broker's secured listeners, as `dev/kafka/start.sh --secure` made them and
 * scripts/test.sh exported them (global-setup.ts fails the run when any is missing), and config
 * sections that use them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runGrantline, type GrantlineRun } from './grantline.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set: run integration tests through scripts/test.sh`);
  return value;
}

/** Addresses, files and test credentials of the secured listeners. */
export const secure = {
  saslSslBroker: () => required('KAFKA_SASL_SSL_BROKERS').split(',')[0] ?? '',
  mtlsBroker: () => required('KAFKA_MTLS_BROKERS').split(',')[0] ?? '',
  plaintextBroker: () => required('KAFKA_BROKERS').split(',')[0] ?? '',
  tlsFile: (name: 'ca.pem' | 'client.pem' | 'client.key' | 'oauth-signing.pem') => join(required('KAFKA_TLS_DIR'), name),
  username: () => required('KAFKA_SASL_USERNAME'),
  password: () => required('KAFKA_SASL_PASSWORD'),
  oauthIssuer: () => required('KAFKA_OAUTH_ISSUER'),
  oauthAudience: () => required('KAFKA_OAUTH_AUDIENCE'),
  oauthSigningKey: () => readFileSync(join(required('KAFKA_TLS_DIR'), 'oauth-signing.pem'), 'utf8'),
};

/** `kafka.ssl` trusting the test CA, as a config file would write it. */
export function trustTestCa(): Record<string, unknown> {
  return { ca: `\${file:${secure.tlsFile('ca.pem')}}` };
}

/** The `kafka` fields for SCRAM over TLS on the SASL_SSL listener; the password through the environment. */
export function scramKafka(mechanism: 'scram-sha-512' | 'scram-sha-256' | 'plain' = 'scram-sha-512'): Record<string, unknown> {
  return {
    brokers: [secure.saslSslBroker()],
    ssl: trustTestCa(),
    sasl: { mechanism, username: secure.username(), password: '${env:KAFKA_SASL_PASSWORD}' },
  };
}

/** The `kafka` fields for mTLS on the SSL listener. */
export function mtlsKafka(): Record<string, unknown> {
  return {
    brokers: [secure.mtlsBroker()],
    ssl: { ...trustTestCa(), cert: `\${file:${secure.tlsFile('client.pem')}}`, key: `\${file:${secure.tlsFile('client.key')}}` },
  };
}

/** A CA and certificate the broker never saw (for "untrusted CA"), made with openssl in `dir`. */
export function makeStrangerCa(dir: string): string {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'stranger-ca.key', '-out', 'stranger-ca.pem', '-days', '1', '-subj', '/CN=stranger CA'], {
    cwd: dir,
    stdio: 'ignore',
  });
  return join(dir, 'stranger-ca.pem');
}

/** A running grantline command with its output collected. */
export type ServeRun = GrantlineRun;

/** Spawns `grantline <args>` with `env` (KAFKA_BROKERS removed: the config file decides). */
export function grantline(args: readonly string[], env: NodeJS.ProcessEnv = process.env): GrantlineRun {
  const childEnv = { ...env };
  delete childEnv.KAFKA_BROKERS;
  return runGrantline(args, childEnv);
}

/** Spawns `grantline serve --config FILE` with `env` (KAFKA_BROKERS removed: the file decides). */
export function serve(configPath: string, env: NodeJS.ProcessEnv = process.env): GrantlineRun {
  return grantline(['serve', '--config', configPath], env);
}
