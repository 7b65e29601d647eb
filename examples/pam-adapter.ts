/**
 * A minimal PAM adapter: what a consumer of `access.grants.pam.v1` must do before it touches a
 * privileged account. It verifies every message (schema, Ed25519 signature against grantline's
 * JWKS, custody link, expiry) and refuses anything that does not verify, so a grant forged by
 * anyone with write access to the topic provisions nothing. Verified grants are "provisioned",
 * revocations "deprovisioned", and the outcome is reported on `access.fulfillment.results.v1`.
 *
 *   npx tsx examples/pam-adapter.ts [--brokers 127.0.0.1:9092] [--jwks http://127.0.0.1:8080/.well-known/jwks.json] [--prefix ""]
 *
 * A real adapter replaces `provision`/`deprovision` with calls to its PAM system and keeps its
 * own record of revocation ids it has applied (revocations may be re-sent until confirmed).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Jwks, verifyMessage, type VerifyReport } from '../src/custody/index.js';
import { createConsumer, createKafka, createProducer, type Kafka } from '../src/kafka/index.js';
import type { FulfillmentResult, Grant, Revocation } from '../src/model/index.js';
import { decodeCloudEvent } from '../src/pipeline/cloudevents.js';

export interface AdapterEvent {
  readonly outcome: 'provisioned' | 'revoked' | 'refused';
  readonly id: string;
  readonly report: VerifyReport;
}

export interface PamAdapterOptions {
  readonly kafka: Kafka;
  readonly grantsTopic: string;
  readonly resultsTopic: string;
  readonly jwks: () => Promise<Jwks>;
  readonly groupId?: string;
  readonly adapterName?: string;
  /** Called for every message, after the decision; the CLI prints these. */
  readonly onEvent?: (event: AdapterEvent) => void;
}

export interface PamAdapter {
  stop(): Promise<void>;
}

/** Starts the adapter; returns once it consumes. */
export async function startPamAdapter(options: PamAdapterOptions): Promise<PamAdapter> {
  const adapter = options.adapterName ?? 'example-pam';
  const producer = createProducer(options.kafka);
  await producer.connect();
  const consumer = createConsumer(options.kafka, { groupId: options.groupId ?? `${adapter}-${randomUUID()}`, readCommitted: true });
  await consumer.connect();
  await consumer.subscribe({ topics: [options.grantsTopic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const event = decodeCloudEvent(message.headers as Record<string, unknown> | undefined, message.value);
      const jwks = await options.jwks();
      // Never act on a message that does not verify: not on its type header, not on its body.
      const report = event.ok ? verifyMessage(event.data, jwks) : { ok: false, kind: 'unknown' as const, checks: [{ name: 'cloudevent', ok: false, detail: event.error }] };
      if (!report.ok || (report.kind !== 'grant' && report.kind !== 'revocation')) {
        options.onEvent?.({ outcome: 'refused', id: message.key?.toString() ?? '(no key)', report });
        return;
      }
      const at = new Date().toISOString();
      let result: FulfillmentResult;
      if (report.kind === 'grant') {
        const grant = (event as { data: Grant }).data;
        // provision(grant): here a PAM system would create or enable the account binding.
        result = { grantId: grant.grantId, action: 'provision', status: 'provisioned', adapter, reference: `pam-${grant.grantId.slice(3, 15)}`, at };
        options.onEvent?.({ outcome: 'provisioned', id: grant.grantId, report });
      } else {
        const revocation = (event as { data: Revocation }).data;
        // deprovision(revocation): idempotent on revocationId in a real adapter.
        result = { grantId: revocation.grantId, action: 'revoke', status: 'revoked', adapter, reference: revocation.revocationId, at };
        options.onEvent?.({ outcome: 'revoked', id: revocation.revocationId, report });
      }
      await producer.send(options.resultsTopic, [{ key: result.grantId, value: JSON.stringify(result) }]);
    },
  });
  return {
    stop: async () => {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}

/** JWKS from grantline's endpoint, cached for a minute and re-read when a kid is unknown. */
export function jwksFrom(url: string): () => Promise<Jwks> {
  let cached: { jwks: Jwks; at: number } | null = null;
  return async () => {
    if (cached && Date.now() - cached.at < 60_000) return cached.jwks;
    const res = await fetch(url);
    if (!res.ok) throw new Error(`JWKS ${url} answered ${res.status}`);
    cached = { jwks: Jwks.parse(await res.json()), at: Date.now() };
    return cached.jwks;
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092' },
      jwks: { type: 'string', default: 'http://127.0.0.1:8080/.well-known/jwks.json' },
      prefix: { type: 'string', default: '' },
    },
  });
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const kafka = createKafka({ brokers: values.brokers.split(','), clientId: 'example-pam-adapter', topicPrefix: values.prefix, partitions: 1 }, logger);
  const adapter = await startPamAdapter({
    kafka,
    grantsTopic: `${values.prefix}access.grants.pam.v1`,
    resultsTopic: `${values.prefix}access.fulfillment.results.v1`,
    jwks: jwksFrom(values.jwks),
    groupId: 'example-pam-adapter',
    onEvent: (e) => {
      const failed = e.report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
      console.log(`${e.outcome.toUpperCase().padEnd(11)} ${e.id}${failed.length ? `\n    ${failed.join('\n    ')}` : ''}`);
    },
  });
  console.log('example PAM adapter: consuming; Ctrl-C to stop');
  const stop = () => void adapter.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`example PAM adapter: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
