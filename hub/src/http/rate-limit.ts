// The token bucket lives in shared/ (the edge budgets its sessions with the same one).
export { type RateDecision, RateLimiter, type RatePolicy } from '@dovetail/shared';
