import { z } from 'zod';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;
const DURATION = /^(\d+)\s*([smhdw])$/;

/**
 * Parses a duration written in a catalog: a positive integer number of seconds (`14400`) or a number
 * with one unit (`30m`, `4h`, `7d`, `2w`). Returns null for anything else, so the schema can report it.
 */
export function parseDuration(value: string | number): number | null {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value > 0 ? value : null;
  }
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    return parseDuration(Number(trimmed));
  }
  const match = DURATION.exec(trimmed);
  if (!match) return null;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : null;
}

/** A positive duration in seconds; YAML may write it as `4h`, `7d`, `30m`, `90s` or plain seconds. */
export const DurationSeconds = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const seconds = parseDuration(value);
  if (seconds === null) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a positive duration such as 3600, "30m", "4h" or "7d", got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return seconds;
});
export type DurationSeconds = z.infer<typeof DurationSeconds>;

/** Writes seconds the way a person would read them on a ticket: `8h`, `7d`, `90m`, `45s`, `1d 2h`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return `${seconds}s`;
  const parts: string[] = [];
  let rest = Math.floor(seconds);
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(' ');
}
