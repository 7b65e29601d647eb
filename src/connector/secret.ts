import { inspect } from 'node:util';
import { z } from 'zod';

const REDACTED = '[redacted]';

/**
 * A secret from config (token, password, webhook secret, private key). Printing, logging or
 * serializing it shows `[redacted]`; only `reveal()` gives the value, at the point of use.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** Zod schema for a secret field: a non-empty string in config, a `Secret` after parsing. */
export const SecretString = z
  .string({ error: 'expected a secret string (use ${env:NAME} or ${file:PATH})' })
  .min(1, 'must not be empty')
  .transform((value) => new Secret(value));
