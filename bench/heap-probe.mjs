// Loaded into the benchmarked grantline process only (`node --expose-gc --import bench/heap-probe.mjs`).
// On SIGUSR2 it runs a full garbage collection and writes the live heap size to
// GRANTLINE_HEAP_PROBE_FILE, so the benchmark can tell retained memory from V8 heap headroom.
import { writeFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';

const file = process.env.GRANTLINE_HEAP_PROBE_FILE;
let seq = 0;
if (file && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc();
    globalThis.gc();
    const stats = getHeapStatistics();
    seq += 1;
    writeFileSync(file, JSON.stringify({ seq, usedHeapBytes: stats.used_heap_size, totalHeapBytes: stats.total_heap_size }));
  });
}
