import { GrantlineError } from '../connector/errors.js';

/**
 * Why a connection to a broker failed, in words an operator can act on, and whether trying again
 * can help. Judged from kafkajs's error classes, kafkajs `type`s and Node's TLS/socket `code`s,
 * never from a value that could hold a secret.
 */
export type BrokerFailure = {
  /** One line: what failed and which config field to check. */
  problem: string;
  /**
   * - `config`: retrying cannot help (refused credentials, untrusted certificate, SASL on a
   *   listener without it): stop now.
   * - `mismatch`: the broker closed the connection during the handshake; once is a hiccup, every
   *   time is a client and listener that do not speak the same protocol (TLS or SASL).
   * - `transient`: the broker is down, unreachable or slow: retry.
   */
  kind: 'config' | 'mismatch' | 'transient';
};

/** What the client was configured to do, for the hints. */
export type ConnectionShape = { ssl: boolean; clientCert: boolean; mechanism: string | undefined };

type ErrorLike = { name?: unknown; message?: unknown; code?: unknown; type?: unknown; cause?: unknown; originalError?: unknown; retriable?: unknown };

/** The error and what it wraps (kafkajs's retry wraps the last attempt's error in `cause`). */
function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let current: unknown = err;
  while (current !== null && typeof current === 'object' && out.length < 8 && !out.includes(current as ErrorLike)) {
    const e = current as ErrorLike;
    out.push(e);
    current = e.cause ?? e.originalError;
  }
  return out;
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const TRANSIENT_SOCKET = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE']);

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Explains a failed connection or authentication to one broker. */
export function explainBrokerFailure(err: unknown, shape: ConnectionShape): BrokerFailure {
  const errors = chain(err);
  const names = errors.map((e) => text(e.name));
  const codes = errors.map((e) => text(e.code)).filter((c) => c !== '');
  const messages = errors.map((e) => text(e.message));
  const mechanism = (shape.mechanism ?? '').toUpperCase();

  const oauth = errors.find((e) => e.name === 'OAuthTokenError');
  if (oauth !== undefined) {
    const refused = oauth.retriable === false;
    return { problem: `SASL OAUTHBEARER: ${text(oauth.message)}${refused ? ' (check kafka.sasl.clientId/clientSecret/scope)' : ''}`, kind: refused ? 'config' : 'transient' };
  }
  const refusedToken = errors.find((e) => e.name === 'OAuthBearerRefusedError');
  if (refusedToken !== undefined) {
    return { problem: `${text(refusedToken.message)}: check kafka.sasl.tokenEndpoint, clientId and scope, and the issuer and audience the broker expects`, kind: 'config' };
  }
  if (names.includes('KafkaJSSASLAuthenticationError')) {
    if (messages.some((m) => m.includes('mechanism is not supported by the server'))) {
      return { problem: `SASL mechanism ${mechanism} is not enabled on this listener (kafka.sasl.mechanism)`, kind: 'config' };
    }
    if (mechanism === 'OAUTHBEARER') {
      return { problem: "SASL OAUTHBEARER authentication failed: the broker refused the token (check kafka.sasl.tokenEndpoint, clientId and scope, and the broker's expected issuer and audience)", kind: 'config' };
    }
    return { problem: 'SASL authentication failed (check kafka.sasl.username/password)', kind: 'config' };
  }
  if (errors.some((e) => e.type === 'ILLEGAL_SASL_STATE')) {
    return { problem: 'SASL handshake refused: this listener does not use SASL (remove kafka.sasl, or use the SASL listener)', kind: 'config' };
  }

  const code = codes.find((c) => UNTRUSTED.has(c) || c.startsWith('CERT_') || c.startsWith('ERR_TLS_') || c.startsWith('ERR_SSL_'));
  if (code !== undefined) {
    if (UNTRUSTED.has(code)) return { problem: `TLS: certificate not trusted (kafka.ssl.ca) [${code}]`, kind: 'config' };
    if (code === 'CERT_HAS_EXPIRED') return { problem: "TLS: the broker's certificate has expired", kind: 'config' };
    if (code === 'CERT_NOT_YET_VALID') return { problem: "TLS: the broker's certificate is not valid yet (check this machine's clock)", kind: 'config' };
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { problem: "TLS: the broker's certificate does not name this host (kafka.ssl.servername)", kind: 'config' };
    if (/BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_UNKNOWN|HANDSHAKE_FAILURE/.test(code)) {
      return shape.clientCert
        ? { problem: `TLS: the broker refused the client certificate (kafka.ssl.cert/key) [${code}]`, kind: 'config' }
        : { problem: 'TLS: the broker requires a client certificate (kafka.ssl.cert and kafka.ssl.key)', kind: 'config' };
    }
    if (code.includes('WRONG_VERSION_NUMBER') || code.includes('PACKET_LENGTH_TOO_LONG')) {
      return { problem: `TLS handshake failed: the broker did not answer in TLS; is this a TLS listener? (kafka.ssl) [${code}]`, kind: 'config' };
    }
    return { problem: `TLS handshake failed [${code}]`, kind: 'config' };
  }

  // A TLS client on a plaintext listener: the broker reads the ClientHello as an oversized request
  // and hangs up before the handshake completes.
  if (shape.ssl && messages.some((m) => m.includes('before secure TLS connection was established'))) {
    return { problem: 'connection closed during the TLS handshake: is this a TLS listener? (kafka.ssl is set)', kind: 'mismatch' };
  }
  // The broker hung up on a connected client before answering: a plaintext client on a TLS
  // listener, or a client without SASL on a SASL listener.
  if (names.includes('KafkaJSConnectionClosedError') || messages.some((m) => m.includes('Connection closed by the server'))) {
    if (!shape.ssl) return { problem: 'connection closed during handshake: is this a TLS listener? (kafka.ssl is not set)', kind: 'mismatch' };
    if (mechanism === '') return { problem: 'connection closed during handshake: does this listener need SASL? (kafka.sasl is not set)', kind: 'mismatch' };
    return { problem: 'connection closed by the broker during handshake', kind: 'mismatch' };
  }

  const socket = codes.find((c) => TRANSIENT_SOCKET.has(c) || c === 'ECONNRESET');
  if (socket === 'ECONNREFUSED') return { problem: 'connection refused (is the broker running, and is this its port?)', kind: 'transient' };
  if (socket === 'ENOTFOUND' || socket === 'EAI_AGAIN') return { problem: `host not found [${socket}]`, kind: 'transient' };
  if (socket !== undefined) return { problem: `connection failed [${socket}]`, kind: 'transient' };
  if (messages.some((m) => m.includes('Connection timeout'))) return { problem: 'no connection within the connection timeout', kind: 'transient' };
  if (names.includes('KafkaJSRequestTimeoutError')) return { problem: 'the broker did not answer within the request timeout', kind: 'transient' };
  const last = errors.at(-1);
  return { problem: `${text(last?.name) || 'Error'}: ${text(last?.message).split('\n')[0] ?? ''}`.trim(), kind: 'transient' };
}

/**
 * grantline cannot use the Kafka cluster: every broker failed, and at least one for a reason
 * retrying cannot fix, or they kept failing until the start deadline. The message is one line,
 * `kafka HOST:PORT: what failed (what to check)`, with no secret in it.
 */
export class KafkaConnectError extends GrantlineError {
  readonly broker: string;
  constructor(broker: string, failure: BrokerFailure, others = 0) {
    super(`kafka ${broker}: ${failure.problem}${others > 0 ? ` (and ${others} other broker${others === 1 ? '' : 's'} failed too)` : ''}`, { retriable: failure.kind !== 'config' });
    this.broker = broker;
  }
}

/**
 * Whether a failed `send` of an idempotent producer may be sent again, as the same batch, to learn
 * its outcome. kafkajs takes back a failed batch's sequence numbers, so after a timeout or a lost
 * connection (the broker may have appended it) the next batch to the partition reuses them: sent
 * again, the same batch is appended once or dropped by the broker as a duplicate (exactly once); a
 * different batch of the same size would be dropped as that duplicate and reported as written.
 * Not resendable: the broker answered with an error retrying cannot fix (the batch is too large,
 * not authorized, ...), or the producer refused it before sending (disconnected, invalid).
 */
export function resendable(err: unknown): boolean {
  const errors = chain(err);
  if (errors.some((e) => e.name === 'KafkaJSProtocolError' && e.retriable === false)) return false;
  const innermost = errors.at(-1);
  if (innermost === undefined) return true;
  if (innermost.name === 'KafkaJSNonRetriableError') return false;
  // kafkajs' producer, once disconnected: it would fail the same way forever.
  return !(innermost.name === 'KafkaJSError' && text(innermost.message).includes('producer is disconnect'));
}
