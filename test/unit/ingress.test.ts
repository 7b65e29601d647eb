import type { Message, RecordMetadata } from 'kafkajs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { JiraConfig, jiraConnector, signJiraBody } from '../../connectors/jira/index.js';
import type { Connector, Delivery } from '../../src/connector/contract.js';
import { principalResolver } from '../../src/connector/resolve.js';
import type { GrantlineProducer } from '../../src/kafka/index.js';
import { Ingress, type IngressOptions } from '../../src/pipeline/ingress.js';
import { createPipelineMetrics } from '../../src/pipeline/metrics.js';

const SECRET = 'jira-webhook-secret';

function jira(): Connector {
  return jiraConnector.create(
    JiraConfig.parse({
      baseUrl: 'http://127.0.0.1:9',
      deployment: 'cloud',
      auth: { kind: 'basic', email: 'bot@example.com', apiToken: 'token' },
      webhook: { secret: SECRET },
      projects: ['ACC'],
      fields: { entitlement: { fieldId: 'customfield_10100', options: {} } },
      approvals: { mode: 'jsm' },
    }),
    { connectorId: 'jira-main', logger: pino({ level: 'silent' }), directory: principalResolver(() => null) },
  );
}

/** A producer port that records what it was asked to send; `gate` holds sends until released. */
export class FakeProducer implements GrantlineProducer {
  readonly sent: Message[] = [];
  readonly transactional = false;
  failWith: Error | undefined;
  gate: Promise<void> | undefined;
  connect = async (): Promise<void> => undefined;
  disconnect = async (): Promise<void> => undefined;
  async send(_topic: string, messages: Message[]): Promise<RecordMetadata[]> {
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    this.sent.push(...messages);
    return [];
  }
  sendBatch = (): Promise<RecordMetadata[]> => Promise.reject(new Error('not used'));
  transaction = (): never => {
    throw new Error('not used');
  };
}

function ingress(producer: FakeProducer, extra: Partial<IngressOptions> = {}): Ingress {
  return new Ingress({
    connectors: new Map([['jira-main', jira()]]),
    producer,
    topic: 'ticket-events',
    logger: pino({ level: 'silent' }),
    metrics: createPipelineMetrics(new Registry()),
    produceTimeoutMs: 1_000,
    ...extra,
  });
}

const now = new Date();
function signed(raw: string | Buffer, headers: Record<string, string> = {}, receivedAt = now): Delivery {
  const rawBody = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
  return { rawBody, headers: { ...signJiraBody(rawBody, SECRET), ...headers }, receivedAt };
}
function issueEvent(id: string, at = now): string {
  return JSON.stringify({ timestamp: at.getTime(), webhookEvent: 'jira:issue_updated', issue: { id, key: `ACC-${id}`, fields: { project: { key: 'ACC' } } } });
}

describe('Ingress: verdicts', () => {
  it('answers a validly signed body that is not JSON with 400 malformed and publishes nothing', async () => {
    const producer = new FakeProducer();
    const result = await ingress(producer).ingest('jira-main', signed('webhookEvent=jira:issue_updated'));
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject({ error: { code: 'malformed' } });
    expect(producer.sent).toHaveLength(0);
  });

  it('still answers a forged body 401 and a genuine one 202', async () => {
    const producer = new FakeProducer();
    const forged = { ...signed(issueEvent('10001')), headers: signJiraBody(Buffer.from(issueEvent('10001')), 'guess') };
    expect((await ingress(producer).ingest('jira-main', forged)).status).toBe(401);
    expect((await ingress(producer).ingest('jira-main', signed(issueEvent('10001')))).status).toBe(202);
    expect(producer.sent).toHaveLength(1);
  });
});
