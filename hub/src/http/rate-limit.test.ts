import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.ts';

/** The bucket itself; the budgets over HTTP are the "Rate limits" line of security-checklist.data.test.ts. */
describe('per-client rate limits', () => {
  it('refills a bucket at the configured rate', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 2, () => now);
    expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(limiter.take('b').ok).toBe(true);
    now += 500;
    expect(limiter.take('a').ok).toBe(true);
  });
});
