import { Kafka, logLevel } from 'kafkajs';
import { probeRecipeOf } from './client.js';

export type KafkaCheck = { ok: true } | { ok: false; error: string };

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Kafka did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

// One probe client per service client: a kafkajs client is only configuration, the connection is
// opened and closed by each check.
const probes = new WeakMap<Kafka, Kafka>();

function probeClientFor(kafka: Kafka, timeoutMs: number): Kafka {
  const cached = probes.get(kafka);
  if (cached) return cached;
  const recipe = probeRecipeOf(kafka);
  if (!recipe) return kafka; // not made by createKafka: use it as is (its own retry applies)
  const probe = new Kafka({
    clientId: `${recipe.clientId}-readiness`,
    brokers: recipe.brokers,
    connectionTimeout: Math.min(recipe.connectionTimeoutMs ?? 1_000, timeoutMs),
    requestTimeout: timeoutMs,
    // One attempt per check: the probe itself is repeated by whoever polls readiness.
    retry: { retries: 0 },
    // A failed probe is reported through the result (and /readyz), not as kafkajs error logs
    // every few seconds during an outage.
    logLevel: logLevel.NOTHING,
  });
  probes.set(kafka, probe);
  return probe;
}

/**
 * Can this process talk to the Kafka cluster right now? Opens a fresh admin connection, asks for
 * the cluster description and closes it, all within `timeoutMs`. Never throws and never hangs:
 * used by `/readyz`, it turns false within `timeoutMs` of the broker going away and true as soon as
 * it answers again.
 */
export async function checkKafka(kafka: Kafka, timeoutMs: number): Promise<KafkaCheck> {
  const admin = probeClientFor(kafka, timeoutMs).admin({ retry: { retries: 0 } });
  const work = (async () => {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('the cluster reports no live broker');
  })();
  try {
    await withTimeout(work, timeoutMs);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  } finally {
    // After a timeout the attempt may still be running; close the connection once it settles.
    void work.catch(() => undefined).finally(() => admin.disconnect().catch(() => undefined));
  }
}
