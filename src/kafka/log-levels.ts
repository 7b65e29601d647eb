import { createRequire } from 'node:module';

/**
 * kafkajs logs every broker error response at ERROR, also the routine ones it retries on its own:
 * a transaction still finishing (`CONCURRENT_TRANSACTIONS`), a coordinator that moved or is still
 * loading, a rebalance, a partition leader that changed. A clean run then wrote a dozen error
 * lines, so `level: error` in grantline's log meant nothing. Those conditions are logged lower
 * here; when kafkajs gives up on one, the caller fails and grantline logs that at error itself.
 */

type ProtocolErrorCode = { type: string; message: string };

// kafkajs's own table of Kafka error codes (type, message), the one its protocol errors are made
// from: a broker error in a log entry carries only the message. Not an export of the package; the
// pinned kafkajs version keeps it where it is, and the unit test fails if it moves.
const { errorCodes } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes: ProtocolErrorCode[] };

/** Retried conditions of coordinators and transactions: nothing an operator needs to see. */
const DEBUG_TYPES = ['CONCURRENT_TRANSACTIONS', 'GROUP_LOAD_IN_PROGRESS', 'GROUP_COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR_FOR_GROUP', 'NOT_CONTROLLER'];
/** Retried conditions worth a warning when they recur: rebalances, leadership changes, a topic still being created. */
const WARN_TYPES = ['REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'UNKNOWN_TOPIC_OR_PARTITION'];

function levelsByMessage(): Map<string, 'debug' | 'warn'> {
  const byType = new Map(errorCodes.map((e) => [e.type, e.message]));
  const levels = new Map<string, 'debug' | 'warn'>();
  for (const [types, level] of [[DEBUG_TYPES, 'debug'], [WARN_TYPES, 'warn']] as const) {
    for (const type of types) {
      const message = byType.get(type);
      if (message === undefined) throw new Error(`kafkajs has no error type ${type}: the log level mapping needs updating`);
      levels.set(message, level);
    }
  }
  return levels;
}

const ROUTINE = levelsByMessage();

/** `Failed to send messages: <broker message>` (kafkajs producer retries). */
const FAILED_SEND = 'Failed to send messages: ';

/**
 * The level grantline logs a kafkajs ERROR entry at: `debug` or `warn` when it reports one of the
 * routine conditions above (in its `error` field, as `Response Metadata(...)` lines carry it, or as
 * the message itself), `error` otherwise.
 */
export function kafkajsErrorLevel(message: string, error: unknown): 'error' | 'warn' | 'debug' {
  const reported = typeof error === 'string' ? error : message.startsWith(FAILED_SEND) ? message.slice(FAILED_SEND.length) : message;
  return ROUTINE.get(reported) ?? 'error';
}

/** The broker messages of the routine conditions, for tests. */
export function routineKafkaErrorMessages(): ReadonlyMap<string, 'debug' | 'warn'> {
  return ROUTINE;
}
