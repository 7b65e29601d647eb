import { z } from 'zod';

/**
 * A whole number in [min, max]. A YAML value that came from `${env:…}` is a string; numbers
 * written as digits are accepted for it.
 */
export const integer = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
    z.number().int('expected a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`),
  );

/** A string that is not empty once trimmed (and is trimmed). */
export const nonEmpty = z.string({ error: 'expected a string' }).trim().min(1, 'must not be empty');
