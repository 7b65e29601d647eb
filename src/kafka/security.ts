import type { ConnectionOptions } from 'node:tls';
import type { Mechanism, SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { Secret } from '../connector/secret.js';
import type { ConnectionShape } from './failure.js';
import { createOAuthTokenSource, type OAuthClientCredentials } from './oauth.js';
import { oauthBearerMechanism } from './oauthbearer.js';

/** TLS to the brokers (`kafka.ssl`). PEM text; the key stays a `Secret` until the socket needs it. */
export type KafkaTls = {
  /** CAs that sign the brokers' certificates; absent: Node's bundled public CAs. */
  ca?: string | undefined;
  /** Client certificate (chain) and key, for listeners that require mTLS. */
  cert?: string | undefined;
  key?: Secret | undefined;
  rejectUnauthorized: boolean;
  servername?: string | undefined;
};

/** SASL authentication (`kafka.sasl`). */
export type KafkaSasl =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: Secret }
  | ({ mechanism: 'oauthbearer' } & OAuthClientCredentials);

/** What `createKafka` hands kafkajs, built once per client and shared with its readiness probes. */
export type KafkajsSecurity = { ssl: ConnectionOptions | undefined; sasl: SASLOptions | Mechanism | undefined; shape: ConnectionShape };

function tlsOptions(tls: KafkaTls): ConnectionOptions {
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key.reveal() }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
  };
}

function saslOptions(sasl: KafkaSasl): SASLOptions | Mechanism {
  if (sasl.mechanism === 'oauthbearer') {
    // One token source per client: kafkajs authenticates every connection (and re-authentication) with it.
    return oauthBearerMechanism(createOAuthTokenSource(sasl));
  }
  const credentials = { username: sasl.username, password: sasl.password.reveal() };
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', ...credentials };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', ...credentials };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', ...credentials };
  }
}

/**
 * The kafkajs `ssl` and `sasl` options for these settings. SASL without TLS only passes the config
 * with `allowPlaintextSasl`, and even then is logged as a warning here, on every client made.
 */
export function kafkajsSecurity(settings: { ssl?: KafkaTls | undefined; sasl?: KafkaSasl | undefined }, logger: Logger): KafkajsSecurity {
  if (settings.sasl !== undefined && settings.ssl === undefined) {
    logger.warn(
      { mechanism: settings.sasl.mechanism },
      'kafka.sasl without kafka.ssl: credentials and data cross the network unencrypted (kafka.allowPlaintextSasl); never do this outside a local test broker',
    );
  }
  if (settings.ssl !== undefined && !settings.ssl.rejectUnauthorized) {
    logger.warn("kafka.ssl.rejectUnauthorized is false: the brokers' certificates are not checked, so anyone on the path can impersonate them");
  }
  return {
    ssl: settings.ssl === undefined ? undefined : tlsOptions(settings.ssl),
    sasl: settings.sasl === undefined ? undefined : saslOptions(settings.sasl),
    shape: { ssl: settings.ssl !== undefined, clientCert: settings.ssl?.cert !== undefined, mechanism: settings.sasl?.mechanism },
  };
}
