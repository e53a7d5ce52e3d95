import { describe, expect, it } from 'vitest';
import { adminToken, call, clientToken, startSecondInstance, startTestHub } from '../testing/harness.ts';
import { instanceShare } from './rate-limit.ts';

/**
 * Request budgets with several hub instances on one PostgreSQL (docs/operations.md, "Request
 * budgets"): buckets live in each instance's memory, so with `HUB_INSTANCES=N` each enforces 1/N of
 * a client's budget and the instances together allow it once. The clock is frozen: no refill, so
 * the counts are exact.
 */
describe('request budgets across hub instances (HUB_INSTANCES)', () => {
  it('gives each of N instances 1/N of a budget, at least one request of burst', () => {
    expect(instanceShare({ perSecond: 100, burst: 1_000 }, 1)).toEqual({ perSecond: 100, burst: 1_000 });
    expect(instanceShare({ perSecond: 100, burst: 1_000 }, 4)).toEqual({ perSecond: 25, burst: 250 });
    expect(instanceShare({ perSecond: 1, burst: 3 }, 4)).toEqual({ perSecond: 0.25, burst: 1 });
  });

  it("lets two PostgreSQL instances together allow a client's burst once, and says so in RateLimit-Policy", async () => {
    const clock = Date.parse('2026-12-07T12:00:00Z');
    const nowMs = () => clock;
    const first = await startTestHub('postgres', { nowMs, instances: 2 });
    const second = await startSecondInstance(first, { nowMs, instances: 2 });
    try {
      const admin = await adminToken(first);
      const created = await call(first, 'POST', '/api/v1/clients', {
        token: admin,
        body: { name: 'shop', role: 'storefront', requestsPerSecond: 1, burst: 10 },
      });
      expect(created.status).toBe(201);
      const token = await clientToken(first, created.body.clientId, created.body.clientSecret);
      const statuses: number[] = [];
      let policy: string | null = null;
      for (let n = 0; n < 12; n++) {
        const answer = await call(n % 2 === 0 ? first : second, 'GET', '/api/v1/products', { token });
        statuses.push(answer.status);
        policy ??= answer.headers.get('ratelimit-policy');
      }
      // Five a side: the burst of 10 once across both instances, then 429 on each.
      expect(statuses.filter((status) => status === 200)).toHaveLength(10);
      expect(statuses.slice(10)).toEqual([429, 429]);
      expect(policy).toBe('5;w=10');
    } finally {
      await second.close();
      await first.dispose();
    }
  });
});
