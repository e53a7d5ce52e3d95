import { limits } from '@dovetail/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hub, createHub } from '../hub.ts';
import { call } from '../testing/harness.ts';
import { RateLimiter } from './rate-limit.ts';

describe('per-client rate limits', () => {
  let clockMs = 1_000_000;
  let hub: Hub;
  const secret = 'rate-admin-secret-0123456789';

  const token = async (clientId: string, clientSecret: string) => {
    const response = await hub.app.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      }).toString(),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as { access_token: string },
    };
  };

  beforeAll(async () => {
    hub = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret: secret,
      nowMs: () => clockMs,
      rateLimit: { perSecond: 1, burst: 3 },
    });
  });
  afterAll(async () => {
    await hub?.close();
  });

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

  it('answers 429 with Retry-After and RateLimit headers past the budget, per client, over REST and tRPC', async () => {
    const admin = (await token('admin', secret)).body.access_token;
    const created = await call(hub, 'POST', '/api/v1/clients', {
      token: admin,
      body: { name: 'Storefront', role: 'storefront' },
    });
    expect(created.status).toBe(201);
    const first = await call(hub, 'GET', '/api/v1/products', { token: admin });
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('3;w=3');
    expect(first.headers.get('ratelimit')).toBe('limit=3, remaining=1');
    expect((await call(hub, 'GET', '/api/v1/products', { token: admin })).headers.get('ratelimit')).toBe(
      'limit=3, remaining=0',
    );
    const refused = await call(hub, 'GET', '/api/v1/products', { token: admin });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(refused.headers.get('retry-after')).toBe('1');
    const trpc = await hub.app.request('/trpc/catalog.list?input=%7B%7D', {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(trpc.status).toBe(429);
    expect(trpc.headers.get('retry-after')).toBe('1');
    // Another client's budget is its own.
    const storefront = (await token(created.body.clientId, created.body.clientSecret)).body.access_token;
    expect((await call(hub, 'GET', '/api/v1/products', { token: storefront })).status).toBe(200);
    clockMs += 1_000;
    expect((await call(hub, 'GET', '/api/v1/products', { token: admin })).status).toBe(200);
  });

  it('holds the token endpoint to a stricter budget per client id', async () => {
    clockMs += 60_000;
    const statuses: number[] = [];
    for (let index = 0; index <= limits.tokenRequestsBurst; index++)
      statuses.push((await token('admin', secret)).status);
    expect(statuses.slice(0, limits.tokenRequestsBurst).every((status) => status === 200)).toBe(true);
    const last = await token('admin', secret);
    expect(last.status).toBe(429);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
