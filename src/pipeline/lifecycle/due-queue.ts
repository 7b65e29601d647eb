/**
 * When each ticket of one partition next needs the lifecycle, earliest first: a binary heap with
 * lazy deletion (a rescheduled ticket leaves its old entry behind, skipped when it surfaces).
 */
export class DueQueue {
  private readonly heap: { at: number; key: string }[] = [];
  private readonly dueAt = new Map<string, number>();

  get size(): number {
    return this.dueAt.size;
  }

  /** Schedules `key` at `at` (ms since the epoch); null: the ticket needs nothing. */
  set(key: string, at: number | null): void {
    if (at === null) {
      this.dueAt.delete(key);
      return;
    }
    if (this.dueAt.get(key) === at) return;
    this.dueAt.set(key, at);
    this.push({ at, key });
    // Stale entries are dropped as they surface; rebuild when they outnumber live ones.
    if (this.heap.length > 64 && this.heap.length > 4 * this.dueAt.size) this.rebuild();
  }

  /** When `key` is due, if it is scheduled. */
  get(key: string): number | undefined {
    return this.dueAt.get(key);
  }

  /** Removes and returns the keys due at or before `now`. */
  popDue(now: number): string[] {
    const out: string[] = [];
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > now) return out;
      this.pop();
      if (this.dueAt.get(top.key) !== top.at) continue;
      this.dueAt.delete(top.key);
      out.push(top.key);
    }
  }

  private rebuild(): void {
    this.heap.length = 0;
    for (const [key, at] of this.dueAt) this.push({ at, key });
  }

  private push(entry: { at: number; key: string }): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as { at: number }).at <= entry.at) break;
      h[i] = h[parent] as { at: number; key: string };
      i = parent;
    }
    h[i] = entry;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let at = last.at;
      if (l < h.length && (h[l] as { at: number }).at < at) {
        m = l;
        at = (h[l] as { at: number }).at;
      }
      if (r < h.length && (h[r] as { at: number }).at < at) m = r;
      if (m === i) break;
      h[i] = h[m] as { at: number; key: string };
      i = m;
    }
    h[i] = last;
  }
}
