import { describe, expect, it } from 'vitest';
import { explainBrokerFailure, KafkaConnectError, type ConnectionShape } from '../../src/kafka/failure.js';
import { OAuthTokenError } from '../../src/kafka/oauth.js';
import { OAuthBearerRefusedError } from '../../src/kafka/oauthbearer.js';

// Errors shaped as kafkajs 2.2.4 and Node raise them (seen against the test broker's listeners:
// name, message, code, type, and the retry wrapper's `cause`). The integration tests meet the real ones.
function kafkajsError(name: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name, ...extra });
}
const retried = (cause: Error) => kafkajsError('KafkaJSNumberOfRetriesExceeded', cause.message, { cause, retriable: false });

const plain: ConnectionShape = { ssl: false, clientCert: false, mechanism: undefined };
const tls: ConnectionShape = { ssl: true, clientCert: false, mechanism: undefined };
const scram: ConnectionShape = { ssl: true, clientCert: false, mechanism: 'scram-sha-512' };
const mtls: ConnectionShape = { ssl: true, clientCert: true, mechanism: undefined };
const oauth: ConnectionShape = { ssl: true, clientCert: false, mechanism: 'oauthbearer' };

describe('explainBrokerFailure', () => {
  it.each([
    [
      'a refused SCRAM password',
      kafkajsError('KafkaJSSASLAuthenticationError', 'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512'),
      scram,
      'SASL authentication failed (check kafka.sasl.username/password)',
      'config',
    ],
    [
      'a mechanism the listener does not offer',
      kafkajsError('KafkaJSSASLAuthenticationError', 'SASL SCRAM-SHA-512 mechanism is not supported by the server'),
      scram,
      'SASL mechanism SCRAM-SHA-512 is not enabled on this listener (kafka.sasl.mechanism)',
      'config',
    ],
    ['a refused OAuth token', kafkajsError('KafkaJSSASLAuthenticationError', 'SASL OAUTHBEARER authentication failed: x'), oauth, "SASL OAUTHBEARER authentication failed: the broker refused the token (check kafka.sasl.tokenEndpoint, clientId and scope, and the broker's expected issuer and audience)", 'config'],
    ['SASL on a listener without it', kafkajsError('KafkaJSProtocolError', 'Request is not valid given the current SASL state', { type: 'ILLEGAL_SASL_STATE' }), scram, 'SASL handshake refused: this listener does not use SASL (remove kafka.sasl, or use the SASL listener)', 'config'],
    [
      'a CA that did not sign the broker certificate',
      retried(kafkajsError('KafkaJSConnectionError', 'Connection error: self-signed certificate in certificate chain', { code: 'SELF_SIGNED_CERT_IN_CHAIN' })),
      tls,
      'TLS: certificate not trusted (kafka.ssl.ca) [SELF_SIGNED_CERT_IN_CHAIN]',
      'config',
    ],
    ['a leaf without its issuer', kafkajsError('KafkaJSConnectionError', 'Connection error: unable to verify the first certificate', { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }), tls, 'TLS: certificate not trusted (kafka.ssl.ca) [UNABLE_TO_VERIFY_LEAF_SIGNATURE]', 'config'],
    ['a certificate for another host', kafkajsError('KafkaJSConnectionError', 'Connection error: Hostname/IP does not match', { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), tls, "TLS: the broker's certificate does not name this host (kafka.ssl.servername)", 'config'],
    [
      'an mTLS listener and no client certificate',
      retried(kafkajsError('KafkaJSConnectionError', 'Connection error: ssl/tls alert bad certificate', { code: 'ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE' })),
      tls,
      'TLS: the broker requires a client certificate (kafka.ssl.cert and kafka.ssl.key)',
      'config',
    ],
    [
      'a client certificate the broker does not trust',
      kafkajsError('KafkaJSConnectionError', 'Connection error: ssl/tls alert bad certificate', { code: 'ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE' }),
      mtls,
      'TLS: the broker refused the client certificate (kafka.ssl.cert/key) [ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE]',
      'config',
    ],
    ['a plaintext client on a TLS listener', retried(kafkajsError('KafkaJSConnectionClosedError', 'Closed connection')), plain, 'connection closed during handshake: is this a TLS listener? (kafka.ssl is not set)', 'mismatch'],
    ['a TLS client without SASL on a SASL listener', kafkajsError('KafkaJSConnectionClosedError', 'Closed connection'), tls, 'connection closed during handshake: does this listener need SASL? (kafka.sasl is not set)', 'mismatch'],
    [
      'a TLS client on a plaintext listener',
      retried(kafkajsError('KafkaJSConnectionError', 'Connection error: Client network socket disconnected before secure TLS connection was established', { code: 'ECONNRESET' })),
      tls,
      'connection closed during the TLS handshake: is this a TLS listener? (kafka.ssl is set)',
      'mismatch',
    ],
    ['a broker that is down', retried(kafkajsError('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' })), plain, 'connection refused (is the broker running, and is this its port?)', 'transient'],
    ['a broker that does not answer', kafkajsError('KafkaJSConnectionError', 'Connection timeout'), plain, 'no connection within the connection timeout', 'transient'],
    [
      'a token the broker refused (its error challenge)',
      retried(new OAuthBearerRefusedError('invalid_token')),
      oauth,
      'SASL OAUTHBEARER authentication failed: the broker refused the token (invalid_token): check kafka.sasl.tokenEndpoint, clientId and scope, and the issuer and audience the broker expects',
      'config',
    ],
    ['a token endpoint that refuses the client', new OAuthTokenError('OAuth token endpoint https://idp/token: HTTP 401 invalid_client', { retriable: false, status: 401 }), oauth, 'SASL OAUTHBEARER: OAuth token endpoint https://idp/token: HTTP 401 invalid_client (check kafka.sasl.clientId/clientSecret/scope)', 'config'],
    ['a token endpoint that is down', new OAuthTokenError('OAuth token endpoint https://idp/token: no answer (ECONNREFUSED)', { retriable: true }), oauth, 'SASL OAUTHBEARER: OAuth token endpoint https://idp/token: no answer (ECONNREFUSED)', 'transient'],
  ])('%s', (_what, err, shape, problem, kind) => {
    expect(explainBrokerFailure(err, shape)).toEqual({ problem, kind });
  });

  it('makes one line naming the broker, and counts the other brokers that failed', () => {
    const failure = explainBrokerFailure(kafkajsError('KafkaJSSASLAuthenticationError', 'SASL PLAIN authentication failed'), { ...scram, mechanism: 'plain' });
    expect(new KafkaConnectError('10.0.0.1:9093', failure).message).toBe('kafka 10.0.0.1:9093: SASL authentication failed (check kafka.sasl.username/password)');
    expect(new KafkaConnectError('10.0.0.1:9093', failure, 2).message).toBe('kafka 10.0.0.1:9093: SASL authentication failed (check kafka.sasl.username/password) (and 2 other brokers failed too)');
    expect(new KafkaConnectError('10.0.0.1:9093', failure).retriable).toBe(false);
  });
});
