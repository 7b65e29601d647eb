import { Writable } from 'node:stream';
import { logLevel } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { pinoLogCreator } from '../../src/kafka/client.js';

/** A pino logger at `level` whose lines are kept, and the kafkajs log function of grantline's bridge over it. */
function bridge(level: string): { lines: { level: number; msg: string }[]; log: (kafkajsLevel: logLevel, namespace: string, message: string, extra?: Record<string, unknown>) => void } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  const create = pinoLogCreator(pino({ level }, sink));
  return {
    lines,
    log: (kafkajsLevel, namespace, message, extra = {}) =>
      create(kafkajsLevel)({ namespace, level: kafkajsLevel, label: 'ERROR', log: { message, timestamp: 'x', logger: 'kafkajs', ...extra } }),
  };
}

// The broker's texts, as kafkajs puts them in the `error` field of a failed response.
const CONCURRENT_TRANSACTIONS = 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';
const LOADING = "The coordinator is loading and hence can't process requests for this group";
const NOT_COORDINATOR = 'This is not the correct coordinator for this group';
const NOT_LEADER = 'This server is not the leader for that topic-partition';
const REBALANCING = 'The group is rebalancing, so a rejoin is needed';
const DEBUG = 20;
const WARN = 40;
const ERROR = 50;

describe('kafkajs log levels in grantline', () => {
  it('logs routine, retried broker answers below error: transactions, coordinator moves, rebalances, leader changes', () => {
    const b = bridge('debug');
    b.log(logLevel.ERROR, 'Connection', 'Response AddOffsetsToTxn(key: 25, version: 1)', { error: CONCURRENT_TRANSACTIONS, correlationId: 7 });
    b.log(logLevel.ERROR, 'Connection', 'Response InitProducerId(key: 22, version: 1)', { error: LOADING });
    b.log(logLevel.ERROR, 'Connection', 'Response JoinGroup(key: 11, version: 2)', { error: NOT_COORDINATOR });
    b.log(logLevel.ERROR, 'Connection', 'Response Heartbeat(key: 12, version: 1)', { error: REBALANCING });
    b.log(logLevel.ERROR, 'Producer', `Failed to send messages: ${NOT_LEADER}`, { retryCount: 0 });
    b.log(logLevel.ERROR, 'Runner', 'The coordinator is not aware of this member, re-joining the group', { error: 'The coordinator is not aware of this member' });
    expect(b.lines.map((l) => l.level)).toEqual([DEBUG, DEBUG, DEBUG, WARN, WARN, WARN]);
  });

  it('keeps at error what is wrong: refused authorization, a crash, a broker nobody can reach', () => {
    const b = bridge('debug');
    b.log(logLevel.ERROR, 'Connection', 'Response Metadata(key: 3, version: 6)', { error: 'Not authorized to access topics: [Topic authorization failed]' });
    b.log(logLevel.ERROR, 'Consumer', 'Crash: KafkaJSNumberOfRetriesExceeded: Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    b.log(logLevel.ERROR, 'BrokerPool', 'Failed to connect to seed broker, trying another broker from the list: connect ECONNREFUSED');
    expect(b.lines.map((l) => l.level)).toEqual([ERROR, ERROR, ERROR]);
  });

  it('at log level error, a clean run\'s routine retries print nothing; warn and info entries keep their levels', () => {
    const b = bridge('error');
    b.log(logLevel.ERROR, 'Connection', 'Response EndTxn(key: 26, version: 1)', { error: CONCURRENT_TRANSACTIONS });
    b.log(logLevel.ERROR, 'Connection', 'Response Heartbeat(key: 12, version: 1)', { error: REBALANCING });
    expect(b.lines).toEqual([]);
    const w = bridge('info');
    w.log(logLevel.WARN, 'Producer', 'Limiting retries for the idempotent producer may invalidate EoS guarantees');
    w.log(logLevel.INFO, 'ConsumerGroup', 'Consumer has joined the group');
    expect(w.lines.map((l) => l.level)).toEqual([WARN, 30]);
  });
});
