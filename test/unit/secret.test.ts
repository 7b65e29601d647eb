import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Secret, SecretString } from '../../src/connector/secret.js';

describe('Secret', () => {
  it('never shows its value when printed, serialized or inspected', () => {
    const s = SecretString.parse('hunter2-token');
    const holder = { token: s };
    expect(JSON.stringify(holder)).not.toContain('hunter2');
    expect(inspect(holder)).not.toContain('hunter2');
    expect(`${s}`).not.toContain('hunter2');
    expect(s.reveal()).toBe('hunter2-token');
  });

  it('rejects an empty secret with a message that says what to do', () => {
    const r = SecretString.safeParse('');
    expect(r.success).toBe(false);
    expect(new Secret('x')).toBeInstanceOf(Secret);
  });
});
