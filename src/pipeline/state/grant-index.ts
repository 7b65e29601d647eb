/**
 * Which held ticket issued a grant, kept without the grant ids themselves (issue 15: bytes per
 * active grant). A grant id is about 50 characters, so a map keyed by it holds a 64-byte string per
 * active grant; this one is keyed by a 30-bit hash of the id (a small integer, no allocation) and
 * points at the ticket's key, which the partition holds anyway. Two ids may share a hash: the
 * caller confirms a candidate against the ticket's state (`HeldPartition.ticketOfGrant`).
 */
export class GrantIndex {
  /** Hash → the key of the ticket holding a grant with that hash, or several when they collide. */
  private readonly byHash = new Map<number, string | string[]>();
  private count = 0;

  /** Grants indexed. */
  get size(): number {
    return this.count;
  }

  add(grantId: string, key: string): void {
    const h = grantHash(grantId);
    const held = this.byHash.get(h);
    this.byHash.set(h, held === undefined ? key : [...(typeof held === 'string' ? [held] : held), key]);
    this.count += 1;
  }

  /** Removes one entry of `grantId` for `key`; nothing when there is none. */
  remove(grantId: string, key: string): void {
    const h = grantHash(grantId);
    const held = this.byHash.get(h);
    if (held === undefined) return;
    if (typeof held === 'string') {
      if (held !== key) return;
      this.byHash.delete(h);
    } else {
      const i = held.indexOf(key);
      if (i < 0) return;
      const rest = held.filter((_, j) => j !== i);
      this.byHash.set(h, rest.length === 1 ? (rest[0] as string) : rest);
    }
    this.count -= 1;
  }

  /** The tickets that may hold `grantId` (every ticket with a grant of the same hash). */
  candidates(grantId: string): readonly string[] {
    const held = this.byHash.get(grantHash(grantId));
    return held === undefined ? [] : typeof held === 'string' ? [held] : held;
  }
}

/** FNV-1a over the id's UTF-16 code units, cut to 30 bits so it stays a small integer in V8. */
export function grantHash(grantId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < grantId.length; i += 1) h = Math.imul(h ^ grantId.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}
