import { describe, expect, it } from 'vitest';
import { idempotencyKeySchema, invalidIdempotencyKey } from './idempotency-key.ts';
import * as limits from './limits.ts';

describe('Idempotency-Key', () => {
  it('is 1 to idempotencyKeyLengthMax printable ASCII characters without spaces', () => {
    const valid = (key: string) => idempotencyKeySchema.safeParse(key).success;
    expect(valid('scan-0001')).toBe(true);
    expect(valid('x'.repeat(limits.idempotencyKeyLengthMax))).toBe(true);
    expect(valid('')).toBe(false);
    expect(valid('x'.repeat(limits.idempotencyKeyLengthMax + 1))).toBe(false);
    expect(valid('two words')).toBe(false);
    expect(valid('clé')).toBe(false);
  });

  it('is refused with 400 invalid_idempotency_key', () => {
    expect(invalidIdempotencyKey()).toMatchObject({ kind: 'invalid_input', code: 'invalid_idempotency_key' });
  });
});
