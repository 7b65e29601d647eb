/**
 * When each ticket of one partition next needs the lifecycle, earliest first: a binary heap that
 * knows where each ticket sits in it, so a rescheduled or finished ticket is moved or removed at
 * once and the heap never holds more than one entry per ticket.
 *
 * Kept small because it holds every active ticket (issue 15: bytes per active grant): the due times
 * are one array of doubles and the tickets one array of the keys the partition already holds, side
 * by side, and the position map's values are small integers. No object and no boxed number per
 * ticket.
 */
export class DueQueue {
  /** `at[i]` is when `keys[i]` is due (ms since the epoch); heap-ordered by `at`. */
  private readonly at: number[] = [];
  private readonly keys: string[] = [];
  private readonly position = new Map<string, number>();

  get size(): number {
    return this.keys.length;
  }

  /** Schedules `key` at `at` (ms since the epoch); null: the ticket needs nothing. */
  set(key: string, at: number | null): void {
    const i = this.position.get(key);
    if (at === null) {
      if (i !== undefined) this.removeAt(i);
      return;
    }
    if (i === undefined) {
      this.at.push(at);
      this.keys.push(key);
      this.position.set(key, this.keys.length - 1);
      this.up(this.keys.length - 1);
      return;
    }
    if (this.at[i] === at) return;
    this.at[i] = at;
    this.down(this.up(i));
  }

  /** When `key` is due, if it is scheduled. */
  get(key: string): number | undefined {
    const i = this.position.get(key);
    return i === undefined ? undefined : this.at[i];
  }

  /** Removes and returns the keys due at or before `now`, earliest first. */
  popDue(now: number): string[] {
    const out: string[] = [];
    while (this.keys.length > 0 && (this.at[0] as number) <= now) {
      out.push(this.keys[0] as string);
      this.removeAt(0);
    }
    return out;
  }

  private removeAt(i: number): void {
    const last = this.keys.length - 1;
    this.position.delete(this.keys[i] as string);
    const at = this.at.pop() as number;
    const key = this.keys.pop() as string;
    if (i === last) return;
    this.place(i, at, key);
    this.down(this.up(i));
  }

  private place(i: number, at: number, key: string): void {
    this.at[i] = at;
    this.keys[i] = key;
    this.position.set(key, i);
  }

  /** Moves the entry at `i` towards the root while it is due before its parent; returns where it ends. */
  private up(i: number): number {
    const at = this.at[i] as number;
    const key = this.keys[i] as string;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.at[parent] as number) <= at) break;
      this.place(i, this.at[parent] as number, this.keys[parent] as string);
      i = parent;
    }
    this.place(i, at, key);
    return i;
  }

  /** Moves the entry at `i` towards the leaves while a child is due before it. */
  private down(i: number): void {
    const n = this.keys.length;
    const at = this.at[i] as number;
    const key = this.keys[i] as string;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best = at;
      if (l < n && (this.at[l] as number) < best) {
        m = l;
        best = this.at[l] as number;
      }
      if (r < n && (this.at[r] as number) < best) m = r;
      if (m === i) break;
      this.place(i, this.at[m] as number, this.keys[m] as string);
      i = m;
    }
    this.place(i, at, key);
  }
}
