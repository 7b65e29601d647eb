/**
 * `runAdapter`: the kit's loop. It reads the grant topic from its beginning with a consumer group
 * of its own (every instance reads every partition; nothing is committed, since the desired set is
 * derived from the whole topic), verifies each message, and converges the target: once after
 * reading to the end (so a replayed grant that was later revoked is never provisioned), after
 * each batch, at each grant's expiry, and every `reconcileIntervalMs`.
 */
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { loadSigningKeys, publicJwks, type PublicJwks, type SigningKeysInput } from '../../src/custody/index.js';
import type { AdapterAlert } from '../../src/model/index.js';
import { adapterGroupPrefix, createKafka, createProducer, topicNames, type KafkaSettings } from '../../src/kafka/index.js';
import { TopicTail } from '../../src/pipeline/state-view.js';
import { GrantBook } from './book.js';
import type { AdapterTarget, DriftPolicy, Privilege } from './contract.js';
import { intake, type RawMessage } from './intake.js';
import { jwksSource, type JwksSpec } from './jwks.js';
import { encodeAdapterAlert, Ledger } from './ledger.js';
import { createAdapterMetrics } from './metrics.js';
import { reconcile, type AdapterEvent, type ReconcileContext, type ReconcileSummary } from './reconcile.js';

/** Everything `runAdapter` needs. Only `name`, `channel`, `brokers`, `jwks`, `signingKey` and `target` are required. */
export interface AdapterOptions<P extends Privilege = Privilege> {
  /** The adapter's name in its reports and alerts, e.g. `postgres-orders`. */
  readonly name: string;
  /** The grant channel it serves: it reads `access.grants.<channel>.v1`. */
  readonly channel: string;
  /** Kafka bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  /** TLS, SASL, topic prefix and timeouts, as grantline's own `kafka` settings (`kafkaSettings`). */
  readonly kafka?: Partial<Omit<KafkaSettings, 'brokers'>>;
  /** grantline's JWKS URL (`http://grantline:8080/.well-known/jwks.json`), or the JWK Set itself. */
  readonly jwks: JwksSpec;
  /** The adapter's own Ed25519 key, which signs its fulfillment results (`grantline keygen`). */
  readonly signingKey: SigningKeysInput;
  readonly target: AdapterTarget<P>;
  /** Privilege no grant in force explains: `alert` (default) reports it; `revoke` also takes it away. */
  readonly onDrift?: DriftPolicy;
  /** Reconcile at least this often, even when nothing arrives; default 30 s. */
  readonly reconcileIntervalMs?: number;
  /** The time grants are judged at; default the wall clock. */
  readonly clock?: () => Date;
  readonly logger?: Logger;
  /** Where the metrics go; default a registry of the adapter's own (`handle.registry`). */
  readonly registry?: Registry;
  /** Called for everything the adapter does or finds (after it is logged). */
  readonly onEvent?: (event: AdapterEvent) => void;
  /** How long the first read of the topics may take; default 120 s. */
  readonly catchUpTimeoutMs?: number;
}

/** A running adapter. */
export interface AdapterHandle {
  readonly registry: Registry;
  /** The adapter's public key as a JWK Set: what verifies its fulfillment results. */
  publicJwks(): PublicJwks;
  /** True once the topic was read to its end, verified, and the target converged once. */
  ready(): boolean;
  /** Reconciles now (after whatever is running) and resolves when done. */
  reconcileNow(): Promise<ReconcileSummary | null>;
  /** Stops the loop, waits for a reconcile in progress, and disconnects. */
  stop(): Promise<void>;
}

const CHANNEL = /^[a-z0-9][a-z0-9-]*$/;

/**
 * Starts an adapter and resolves once it has read the grant topic to its end and reconciled once:
 * converged, when every message could be verified (`ready()`); otherwise (grantline's JWKS could
 * not be read) only what is known to have ended was taken away, and the kit keeps trying.
 * Throws (nothing started) on a bad option or when Kafka cannot be reached.
 */
export async function runAdapter<P extends Privilege>(options: AdapterOptions<P>): Promise<AdapterHandle> {
  if (options.name.trim() === '') throw new Error('runAdapter: name must not be empty');
  if (!CHANNEL.test(options.channel)) throw new Error(`runAdapter: channel ${JSON.stringify(options.channel)} must be lowercase letters, digits and "-"`);
  const { name, channel, target } = options;
  const keys = loadSigningKeys(options.signingKey);
  const logger = (options.logger ?? pino({ level: 'info' })).child({ component: 'adapter-kit', adapter: name });
  const clock = options.clock ?? (() => new Date());
  const registry = options.registry ?? new Registry();
  const metrics = createAdapterMetrics(registry);
  const interval = options.reconcileIntervalMs ?? 30_000;
  const prefix = options.kafka?.topicPrefix ?? '';
  const names = topicNames(prefix);
  const topic = names.grants(channel);
  const kafka = createKafka({ partitions: 1, clientId: `grantline-adapter-${name}`, ...options.kafka, topicPrefix: prefix, brokers: [...options.brokers] }, logger);
  const jwks = jwksSource(options.jwks);
  const book = new GrantBook();
  const ledger = new Ledger(name, keys);
  const queue: RawMessage[] = [];
  const producer = createProducer(kafka);

  const emit = (event: AdapterEvent): void => {
    if (event.type === 'failed' || event.type === 'drift' || event.type === 'refused') logger.warn({ event }, `adapter ${event.type}`);
    else logger.info({ event }, `adapter ${event.type}`);
    options.onEvent?.(event);
  };
  const ctx: ReconcileContext<P> = {
    adapter: name,
    topic,
    target,
    book,
    ledger,
    keys,
    onDrift: options.onDrift ?? 'alert',
    metrics,
    driftSeen: new Map(),
    emit,
    publish: async (results, alerts) => {
      const batches = [
        { topic: names.fulfillmentResults, messages: [...results] },
        { topic: names.alerts, messages: [...alerts] },
      ].filter((b) => b.messages.length > 0);
      if (batches.length > 0) await producer.sendBatch(batches);
    },
  };

  // Refusal alerts not yet on the topic: kept until a send succeeds, so none is lost to a hiccup.
  const pendingAlerts: AdapterAlert[] = [];

  /** Verifies what arrived, in order. False when it had to stop (the JWKS could not be read). */
  const drain = async (): Promise<boolean> => {
    const alerts = pendingAlerts;
    let complete = true;
    while (queue.length > 0) {
      const message = queue[0] as RawMessage;
      const result = await intake(message, jwks, channel, clock());
      if (result.kind === 'unavailable') {
        logger.warn({ reason: result.reason }, 'cannot verify the grant topic now; will try again');
        complete = false;
        break;
      }
      queue.shift();
      metrics.messages.inc({ adapter: name, outcome: result.kind });
      if (result.kind === 'grant') book.addGrant(result.grant);
      else if (result.kind === 'revocation') book.addRevocation(result.revocation);
      else if (result.kind === 'amendment') book.addAmendment(result.amendment);
      else if (result.kind === 'refused') {
        const alertId = `${name}:refused:${topic}:${message.partition}:${message.offset}`;
        const subject = result.grantId ?? `${message.partition}:${message.offset}`;
        emit({ type: 'refused', subject, failed: result.failed });
        if (!ledger.hasAlert(alertId)) {
          const what = result.failed.map((f) => `${f.name}: ${f.detail}`).join('; ');
          alerts.push({ alertId, kind: 'adapter.message.refused', adapter: name, topic, subject, grantId: result.grantId, failedChecks: [...result.failed], message: `${name} refused message ${message.partition}:${message.offset} on ${topic}; nothing was provisioned for it. ${what}`, raisedAt: clock().toISOString() });
        }
      }
    }
    if (alerts.length > 0) {
      await producer.send(names.alerts, alerts.map(encodeAdapterAlert));
      for (const a of alerts.splice(0)) ledger.noteAlert(a.alertId);
    }
    return complete;
  };

  let started = false;
  let stopped = false;
  let isReady = false;
  let again = false;
  let running: Promise<ReconcileSummary | null> | null = null;
  let expiryTimer: NodeJS.Timeout | null = null;

  const cycle = async (): Promise<ReconcileSummary | null> => {
    const end = metrics.reconciles.startTimer({ adapter: name });
    try {
      const complete = await drain();
      const summary = await reconcile(ctx, clock(), complete);
      end({ result: 'ok' });
      if (complete && !isReady) {
        isReady = true;
        metrics.ready.set({ adapter: name }, 1);
        logger.info({ summary, grants: book.size }, 'adapter ready: read the grant topic to its end and converged the target');
      }
      return summary;
    } catch (err) {
      end({ result: 'failed' });
      logger.error({ err }, 'reconcile failed; will try again');
      return null;
    } finally {
      scheduleExpiry();
    }
  };
  const wake = (): Promise<ReconcileSummary | null> => {
    if (!started || stopped) return Promise.resolve(null);
    if (running !== null) {
      again = true;
      return running;
    }
    running = (async () => {
      let summary: ReconcileSummary | null = null;
      do {
        again = false;
        summary = await cycle();
      } while (again && !stopped);
      return summary;
    })().finally(() => {
      running = null;
    });
    return running;
  };
  // Expiry is enforced by the kit itself, on time, whether or not grantline's revocation arrives.
  const scheduleExpiry = (): void => {
    if (expiryTimer !== null) clearTimeout(expiryTimer);
    expiryTimer = null;
    const next = book.nextExpiry(clock());
    if (next === null || stopped) return;
    expiryTimer = setTimeout(() => void wake(), Math.min(Math.max(next - clock().getTime() + 5, 0), interval));
    expiryTimer.unref();
  };

  // Consumer groups `<groups>-<uuid>`, `<groups>-results-<uuid>`, ...: what the adapter role's ACL allows.
  const groups = adapterGroupPrefix(prefix, name);
  const tails = [
    new TopicTail(
      kafka,
      topic,
      (m, partition) => {
        queue.push({ partition, offset: m.offset, key: m.key, value: m.value, headers: m.headers as Record<string, unknown> | undefined });
        // After the batch this message came in (a batch is handed over in one synchronous loop).
        setImmediate(() => void wake());
      },
      groups,
    ),
    new TopicTail(kafka, names.fulfillmentResults, (m) => ledger.readResult(m.value), `${groups}-results`),
    new TopicTail(kafka, names.alerts, (m) => ledger.readAlert(m.value), `${groups}-alerts`),
  ];
  const ticker = setInterval(() => void wake(), interval);
  ticker.unref();
  const stop = async (): Promise<void> => {
    stopped = true;
    clearInterval(ticker);
    if (expiryTimer !== null) clearTimeout(expiryTimer);
    await running;
    await Promise.allSettled(tails.map((t) => t.stop()));
    await producer.disconnect();
    metrics.ready.set({ adapter: name }, 0);
  };

  try {
    await producer.connect();
    await Promise.all(tails.map((t) => t.start()));
    await Promise.all(tails.map((t) => t.catchUp(options.catchUpTimeoutMs ?? 120_000)));
    started = true;
    await wake();
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { registry, publicJwks: () => publicJwks(keys), ready: () => isReady, reconcileNow: wake, stop };
}
