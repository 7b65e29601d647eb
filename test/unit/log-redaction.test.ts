import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/connector/secret.js';
import { createLogger } from '../../src/log/index.js';

function memoryLogger(level = 'debug') {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ log: { level }, service: { name: 'grantline', instanceId: 'test-1' } }, stream);
  return { logger, output: () => chunks.join('') };
}

const SECRETS = ['tok-AAA111', 'pw-BBB222', 'whs-CCC333', 'pem-DDD444', 'auth-EEE555', 'sig-FFF666', 'cookie-GGG777', 'api-HHH888', 'sec-III999'];

describe('logger redaction', () => {
  it('never writes a token, password, webhook secret, key or credential header, at any usual depth', () => {
    const { logger, output } = memoryLogger();
    logger.info({ token: SECRETS[0], password: SECRETS[1], ticket: 'OPS-1' }, 'top level');
    logger.info({ connector: { id: 'jira-main', webhookSecret: SECRETS[2], auth: { apiToken: SECRETS[7] } } }, 'nested');
    logger.info({ signing: { keys: [{ kid: 'k1', privateKeyPem: SECRETS[3] }] } }, 'in an array');
    logger.warn(
      { headers: { authorization: `Bearer ${SECRETS[4]}`, 'x-hub-signature': SECRETS[5], cookie: SECRETS[6], 'content-type': 'application/json' } },
      'webhook headers',
    );
    logger.child({ connector: 'servicenow-main' }).info({ req: { headers: { authorization: `Basic ${SECRETS[4]}` } }, secret: SECRETS[8] }, 'child');
    const out = output();
    for (const s of SECRETS) expect(out).not.toContain(s);
    // What is not secret still arrives, so the redaction is not just an empty log.
    expect(out).toContain('OPS-1');
    expect(out).toContain('jira-main');
    expect(out).toContain('application/json');
    expect(out).toContain('"connector":"servicenow-main"');
    expect(out.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(SECRETS.length);
  });

  it('prints a Secret value as [redacted] whatever field it is under', () => {
    const { logger, output } = memoryLogger();
    logger.info({ settings: { baseUrl: 'http://127.0.0.1:18080', credential: new Secret('opaque-JJJ000') } }, 'config');
    expect(output()).not.toContain('opaque-JJJ000');
    expect(output()).toContain('http://127.0.0.1:18080');
  });

  it('drops the request config an HTTP client error carries (Authorization header, basic-auth password)', () => {
    const { logger, output } = memoryLogger();
    const clientError = Object.assign(new Error('Request failed with status code 401'), {
      config: { headers: { Authorization: `Bearer ${SECRETS[0]}` }, auth: { username: 'svc', password: SECRETS[1] } },
      request: { _header: `Authorization: Bearer ${SECRETS[0]}` },
      response: { status: 401, config: { headers: { Authorization: `Bearer ${SECRETS[0]}` } } },
    });
    logger.error({ err: clientError }, 'source unavailable');
    logger.error({ err: new Error('fetch ticket OPS-1 failed', { cause: clientError }) }, 'source unavailable, wrapped');
    const out = output();
    expect(out).not.toContain(SECRETS[0]);
    expect(out).not.toContain(SECRETS[1]);
    expect(out).toContain('status code 401');
    expect(out).toContain('"status":401');
  });

  it('binds service name and instance and honours the level', () => {
    const { logger, output } = memoryLogger('warn');
    logger.info('hidden');
    logger.warn('shown');
    const lines = output().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', msg: 'shown', service: 'grantline', instance: 'test-1' });
  });
});
