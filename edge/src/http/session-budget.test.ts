import { afterEach, describe, expect, it } from 'vitest';
import { startTestEdge, stopTestEdge, type TestEdge } from '../test-support/node.ts';
import { sessionBudgetFromEnv } from './auth.ts';

let edge: TestEdge | undefined;
afterEach(async () => {
  if (edge) await stopTestEdge(edge);
  edge = undefined;
});

describe('the request budget of each signed-in account', () => {
  it('answers 429 with Retry-After past the budget, per account, and refills with time', async () => {
    const clock = { ms: Date.parse('2026-12-07T12:00:00Z') };
    edge = await startTestEdge({ nowMs: () => clock.ms, sessionBudget: { perSecond: 1, burst: 3 } });
    const lead = await edge.login();
    const created = await edge.call('POST', '/api/v1/staff', {
      token: lead,
      body: { username: 'picker', password: 'picker-password-1', role: 'warehouse_staff' },
    });
    expect(created.status).toBe(201);
    const picker = await edge.login('picker', 'picker-password-1');
    clock.ms += 10_000; // the set-up requests' budget is back

    const first = await edge.call('GET', '/api/v1/stock', { token: lead });
    expect(first.status).toBe(200);
    const statuses = [first.status];
    for (let i = 0; i < 2; i++) statuses.push((await edge.call('GET', '/api/v1/stock', { token: lead })).status);
    expect(statuses).toEqual([200, 200, 200]);
    const refused = await edge.call('GET', '/api/v1/stock', { token: lead });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    // Another account is not charged for this one's requests.
    expect((await edge.call('GET', '/api/v1/stock', { token: picker })).status).toBe(200);
    clock.ms += 1_000;
    expect((await edge.call('GET', '/api/v1/stock', { token: lead })).status).toBe(200);
  });

  it('reads the budget from the environment, refusing nonsense', () => {
    expect(sessionBudgetFromEnv({ EDGE_SESSION_REQUESTS_PER_SECOND: '5', EDGE_SESSION_REQUESTS_BURST: '50' })).toEqual({
      perSecond: 5,
      burst: 50,
    });
    expect(() => sessionBudgetFromEnv({ EDGE_SESSION_REQUESTS_BURST: '0' })).toThrow(/EDGE_SESSION_REQUESTS_BURST/);
    expect(() => sessionBudgetFromEnv({ EDGE_SESSION_REQUESTS_PER_SECOND: 'fast' })).toThrow(/PER_SECOND/);
  });
});
