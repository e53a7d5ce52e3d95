// The token bucket lives in shared/ (the edge budgets its sessions with the same one).
import type { RatePolicy } from '@dovetail/shared';

export { type RateDecision, RateLimiter, type RatePolicy } from '@dovetail/shared';

/**
 * What one of `instances` hub instances enforces of a client's budget (`HUB_INSTANCES`): each holds
 * its buckets in memory, so N instances behind a balancer that spreads a client's requests evenly
 * together allow the whole budget, and a client pinned to one instance gets 1/N of it
 * (docs/operations.md, "Request budgets"). The burst keeps at least one request.
 */
export function instanceShare(policy: RatePolicy, instances: number): RatePolicy {
  if (instances <= 1) return policy;
  return { perSecond: policy.perSecond / instances, burst: Math.max(1, Math.floor(policy.burst / instances)) };
}
