import { describe, expect, it } from 'vitest';
import { DueQueue } from '../../src/pipeline/lifecycle/due-queue.js';

/** A deterministic pseudo-random sequence (the same run every time). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32;
}

// The basic cases are in pipeline-owner-lifecycle.test.ts; this one checks every operation against a model.
describe('the lifecycle due queue', () => {
  it('agrees with a plain list over 20,000 random schedules, reschedules, removals and pops', () => {
    const random = lcg(7);
    const q = new DueQueue();
    const model = new Map<string, number>();
    let now = 0;
    for (let step = 0; step < 20_000; step += 1) {
      const key = `t${Math.floor(random() * 500)}`;
      const r = random();
      if (r < 0.55) {
        const at = now + Math.floor(random() * 1_000);
        q.set(key, at);
        model.set(key, at);
      } else if (r < 0.75) {
        q.set(key, null);
        model.delete(key);
      } else {
        now += Math.floor(random() * 300);
        const due = q.popDue(now);
        const expected = [...model].filter(([, at]) => at <= now);
        expect(new Set(due)).toEqual(new Set(expected.map(([k]) => k)));
        // Earliest first.
        const ats = due.map((k) => model.get(k) as number);
        expect(ats).toEqual([...ats].sort((a, b) => a - b));
        for (const k of due) model.delete(k);
      }
      expect(q.size).toBe(model.size);
      expect(q.get(key)).toBe(model.get(key));
    }
  });
});
