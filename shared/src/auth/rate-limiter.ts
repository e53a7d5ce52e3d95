import * as limits from '../limits.ts';

export type RateDecision = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

/** A budget: `burst` requests at once, refilled at `perSecond`. */
export type RatePolicy = { perSecond: number; burst: number };

/**
 * A token bucket per key (per client, per session): `burst` requests at once, refilled at
 * `perSecond`. Kept in memory per process, bounded to `rateLimitedClientsTrackedMax` keys (the least
 * recently refilled go first), so N instances allow up to N times the rate — it is a guard, not an
 * accounting system. Time is passed in, so the hub, the edge and tests share it.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Charges one request to `key` under `policy` (a client's own budget; else this limiter's default). */
  take(key: string, policy: RatePolicy = this): RateDecision {
    const now = this.nowMs();
    const bucket = this.buckets.get(key) ?? { tokens: policy.burst, atMs: now };
    bucket.tokens = Math.min(policy.burst, bucket.tokens + ((now - bucket.atMs) / 1000) * policy.perSecond);
    bucket.atMs = now;
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > limits.rateLimitedClientsTrackedMax) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    if (bucket.tokens < 1)
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / policy.perSecond)) };
    bucket.tokens -= 1;
    return { ok: true, remaining: Math.floor(bucket.tokens) };
  }

  /** IETF RateLimit header draft: the policy, and what is left now. */
  headers(decision: RateDecision, budget: RatePolicy = this): Record<string, string> {
    const policy = `${budget.burst};w=${Math.ceil(budget.burst / budget.perSecond)}`;
    if (decision.ok)
      return { 'ratelimit-policy': policy, ratelimit: `limit=${budget.burst}, remaining=${decision.remaining}` };
    return {
      'ratelimit-policy': policy,
      ratelimit: `limit=${budget.burst}, remaining=0, reset=${decision.retryAfterSeconds}`,
      'retry-after': String(decision.retryAfterSeconds),
    };
  }
}
