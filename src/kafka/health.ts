import { Kafka, logLevel } from 'kafkajs';
import { probeRecipeOf } from './client.js';
import { explainBrokerFailure, KafkaConnectError, type BrokerFailure, type ConnectionShape } from './failure.js';

export type KafkaCheck = { ok: true } | { ok: false; error: string };

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Kafka did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

type Probe = { broker: string; client: Kafka };
type ProbeSet = { probes: Probe[]; shape: ConnectionShape };

// Probe clients per service client, one per bootstrap broker so a failure names its broker. A
// kafkajs client is only configuration: each check opens its own connection and closes it.
const probeSets = new WeakMap<Kafka, ProbeSet>();

function probesFor(kafka: Kafka, timeoutMs: number): ProbeSet {
  const cached = probeSets.get(kafka);
  if (cached) return cached;
  const recipe = probeRecipeOf(kafka);
  // Not made by createKafka: use it as is (its own retry applies), brokers unknown.
  if (!recipe) return { probes: [{ broker: 'cluster', client: kafka }], shape: { ssl: false, clientCert: false, mechanism: undefined } };
  const probes = recipe.brokers.map((broker) => ({
    broker,
    client: new Kafka({
      clientId: `${recipe.clientId}-readiness`,
      brokers: [broker],
      connectionTimeout: Math.min(recipe.connectionTimeoutMs ?? 1_000, timeoutMs),
      requestTimeout: timeoutMs,
      // The service client's own TLS and SASL: the probe must fail exactly when the service would.
      ...(recipe.ssl === undefined ? {} : { ssl: recipe.ssl }),
      ...(recipe.sasl === undefined ? {} : { sasl: recipe.sasl }),
      // One attempt per check: the probe itself is repeated by whoever polls readiness.
      retry: { retries: 0 },
      // A failed probe is reported through the result (and /readyz), not as kafkajs error logs
      // every few seconds during an outage.
      logLevel: logLevel.NOTHING,
    }),
  }));
  const set = { probes, shape: recipe.shape };
  probeSets.set(kafka, set);
  return set;
}

/** One connection (TLS, SASL, cluster description) to one broker; the failure explained. */
async function probeOnce(probe: Probe, shape: ConnectionShape, timeoutMs: number): Promise<BrokerFailure | undefined> {
  const admin = probe.client.admin({ retry: { retries: 0 } });
  const work = (async () => {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('the cluster reports no live broker');
  })();
  try {
    await withTimeout(work, timeoutMs);
    return undefined;
  } catch (err) {
    return explainBrokerFailure(err, shape);
  } finally {
    // After a timeout the attempt may still be running; close the connection once it settles.
    void work.catch(() => undefined).finally(() => admin.disconnect().catch(() => undefined));
  }
}

type Attempt = { ok: true } | { ok: false; broker: string; failure: BrokerFailure; others: number };

/**
 * Tries the bootstrap brokers in order until one answers, all within `timeoutMs`; else the most
 * telling failure. Usually the first answers, so a check is one connection.
 */
async function attempt(kafka: Kafka, timeoutMs: number): Promise<Attempt> {
  const { probes, shape } = probesFor(kafka, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  const failures: { broker: string; failure: BrokerFailure }[] = [];
  for (const probe of probes) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    const failure = await probeOnce(probe, shape, left);
    if (failure === undefined) return { ok: true };
    failures.push({ broker: probe.broker, failure });
  }
  // A refused password says more than a broker that happened to be down.
  const rank = { config: 0, mismatch: 1, transient: 2 } as const;
  const worst = [...failures].sort((a, b) => rank[a.failure.kind] - rank[b.failure.kind])[0] ?? { broker: 'cluster', failure: { problem: 'no broker configured', kind: 'config' as const } };
  return { ok: false, ...worst, others: failures.length - 1 };
}

/**
 * Can this process talk to the Kafka cluster right now? Opens a fresh connection to a bootstrap
 * broker with the service's own TLS and SASL, asks for the cluster description and closes it, all
 * within `timeoutMs`. Never throws and never hangs: used by `/readyz`, it turns false
 * when the brokers go away (or refuse the credentials) and true as soon as one answers again. The
 * error names the broker and what failed, as `KafkaConnectError` words it.
 */
export async function checkKafka(kafka: Kafka, timeoutMs: number): Promise<KafkaCheck> {
  const result = await attempt(kafka, timeoutMs);
  return result.ok ? result : { ok: false, error: new KafkaConnectError(result.broker, result.failure, result.others).message };
}

/** Options of `awaitKafka`. */
export type AwaitKafkaOptions = {
  /** Give up after this long (default 20 s). */
  deadlineMs?: number;
  /** Per connection attempt (default 5 s). */
  attemptTimeoutMs?: number;
  /** Pause between attempts (default 1 s). */
  pauseMs?: number;
};

// A broker that hangs up mid-handshake this many times in a row is not restarting: the client
// and the listener speak different protocols.
const MISMATCH_ATTEMPTS = 3;

/**
 * Waits at start until the cluster answers with these credentials. Throws `KafkaConnectError` (one
 * line naming the broker and what to check) at once for what retrying cannot fix (credentials
 * refused, certificate not trusted, SASL or TLS on the wrong listener), and at the deadline for a
 * cluster that stays unreachable. kafkajs would instead retry a TLS or protocol mismatch like an
 * outage and report only "Closed connection".
 */
export async function awaitKafka(kafka: Kafka, options: AwaitKafkaOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.deadlineMs ?? 20_000);
  let mismatches = 0;
  for (;;) {
    const result = await attempt(kafka, options.attemptTimeoutMs ?? 5_000);
    if (result.ok) return;
    mismatches = result.failure.kind === 'mismatch' ? mismatches + 1 : 0;
    if (result.failure.kind === 'config' || mismatches >= MISMATCH_ATTEMPTS || Date.now() >= deadline) {
      throw new KafkaConnectError(result.broker, result.failure, result.others);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 1_000));
  }
}
