/**
 * Runs one baseline in a process of its own, as grantline runs in its own process, so the
 * baseline does not share a thread with the stubs and the load generator of the benchmark
 * process. Started by scenarios/baselines.ts: `node --import tsx bench/baseline-child.ts SPEC.json`;
 * prints the result as JSON on its last line of stdout.
 */
import { readFileSync } from 'node:fs';
import { consumeProduceLoop, rawProduceBatched, rawProduceSingles, type BaselineSpec } from './baselines.js';
import { benchKafka } from './kafka.js';

async function run(spec: BaselineSpec): Promise<unknown> {
  const kafka = benchKafka(process.env.KAFKA_BROKERS as string, 'grantline-bench-baseline');
  switch (spec.kind) {
    case 'raw-batched':
      return rawProduceBatched(kafka, spec.topic, spec.count, spec.bytes, spec.batch);
    case 'raw-singles':
      return rawProduceSingles(kafka, spec.topic, spec.count, spec.bytes, spec.concurrency, spec.maxMs);
    case 'loop': {
      const id = (i: number): string => spec.ids[i % spec.ids.length] as string;
      const { reads, write } = spec;
      return consumeProduceLoop(kafka, {
        ...spec.options,
        ...(reads ? { reads: { urls: (i) => reads.urls.map((u) => u.replace('{id}', id(i))), headers: reads.headers } } : {}),
        ...(write ? { write: { url: (i) => write.url.replace('{id}', id(i)), body: write.body, headers: write.headers } } : {}),
      });
    }
  }
}

run(JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as BaselineSpec).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
