import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/connector/secret.js';
import { kafkajsSecurity } from '../../src/kafka/security.js';
import { createLogger } from '../../src/log/index.js';

/** A logger writing JSON lines into an array. */
function memoryLogger(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ log: { level: 'info' } }, stream);
  return { logger, lines: () => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const password = new Secret('scram-password-never-logged');

describe('kafkajsSecurity', () => {
  it('gives kafkajs TLS and SCRAM options, and logs nothing for SCRAM over TLS', () => {
    const { logger, lines } = memoryLogger();
    const security = kafkajsSecurity({ ssl: { ca: 'CA PEM', rejectUnauthorized: true, servername: 'kafka.internal' }, sasl: { mechanism: 'scram-sha-512', username: 'grantline', password } }, logger);
    expect(security.ssl).toEqual({ ca: 'CA PEM', rejectUnauthorized: true, servername: 'kafka.internal' });
    expect(security.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'grantline', password: 'scram-password-never-logged' });
    expect(security.shape).toEqual({ ssl: true, clientCert: false, mechanism: 'scram-sha-512' });
    expect(lines()).toEqual([]);
  });

  it('warns on every client made with SASL over plaintext (allowPlaintextSasl), without the password', () => {
    const { logger, lines } = memoryLogger();
    kafkajsSecurity({ sasl: { mechanism: 'plain', username: 'grantline', password } }, logger);
    const [warning] = lines();
    expect(warning).toMatchObject({ level: 'warn', mechanism: 'plain' });
    expect(String(warning?.msg)).toContain('kafka.sasl without kafka.ssl');
    expect(JSON.stringify(lines())).not.toContain('scram-password-never-logged');
  });

  it('warns when broker certificates are not checked', () => {
    const { logger, lines } = memoryLogger();
    kafkajsSecurity({ ssl: { rejectUnauthorized: false } }, logger);
    expect(lines().map((l) => l.level)).toEqual(['warn']);
    expect(String(lines()[0]?.msg)).toContain('rejectUnauthorized is false');
  });

  it('hands OAUTHBEARER to its own authenticator, not to kafkajs built-in one', () => {
    const { logger } = memoryLogger();
    const security = kafkajsSecurity(
      { ssl: { rejectUnauthorized: true }, sasl: { mechanism: 'oauthbearer', tokenEndpoint: 'https://idp.example/token', clientId: 'c', clientSecret: new Secret('s'), clientAuth: 'basic' } },
      logger,
    );
    expect(security.sasl).toMatchObject({ mechanism: 'oauthbearer' });
    expect(typeof (security.sasl as { authenticationProvider?: unknown }).authenticationProvider).toBe('function');
  });
});
