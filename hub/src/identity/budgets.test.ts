import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestHub, adminToken, call, clientToken, startTestHub } from '../testing/harness.ts';

/** Request budgets an operator sets per API client, on both adapters. */
describe.each(['sqlite', 'postgres'] as const)('client request budgets on %s', (adapter) => {
  let hub: TestHub;
  let admin: string;
  let clock: number;

  beforeEach(async () => {
    clock = Date.parse('2026-12-07T12:00:00Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    admin = await adminToken(hub);
  });
  afterEach(() => hub.dispose());

  const create = (body: Record<string, unknown>) => call(hub, 'POST', '/api/v1/clients', { token: admin, body });
  const spend = async (token: string, count: number) => {
    const answers: { status: number; policy: string | null }[] = [];
    for (let i = 0; i < count; i++) {
      const response = await call(hub, 'GET', '/api/v1/products', { token });
      answers.push({ status: response.status, policy: response.headers.get('ratelimit-policy') });
    }
    return answers;
  };

  it('holds a client to its own budget and says so in the RateLimit headers', async () => {
    const created = await create({ name: 'flash-sale storefront', role: 'storefront', requestsPerSecond: 2, burst: 3 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ requestsPerSecond: 2, burst: 3 });
    const token = await clientToken(hub, created.body.clientId, created.body.clientSecret);
    const answers = await spend(token, 4);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429]);
    expect(answers[0]?.policy).toBe('3;w=2');
    clock += 1_000; // two requests' worth refilled
    expect((await spend(token, 3)).map((answer) => answer.status)).toEqual([200, 200, 429]);
    // Another client is not charged for this one's traffic.
    const other = await create({ name: 'other storefront', role: 'storefront' });
    const otherToken = await clientToken(hub, other.body.clientId, other.body.clientSecret);
    expect((await spend(otherToken, 1))[0]).toMatchObject({ status: 200, policy: '5000;w=10' });
  });

  it('changes a budget with PATCH, and null gives the hub default back', async () => {
    const created = await create({ name: 'storefront', role: 'storefront' });
    expect(created.body).toMatchObject({ requestsPerSecond: null, burst: null });
    const token = await clientToken(hub, created.body.clientId, created.body.clientSecret);
    const patched = await call(hub, 'PATCH', `/api/v1/clients/${created.body.clientId}`, {
      token: admin,
      body: { requestsPerSecond: 1 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ requestsPerSecond: 1, burst: 10 });
    expect((await spend(token, 11)).map((answer) => answer.status).at(-1)).toBe(429);
    const reset = await call(hub, 'PATCH', `/api/v1/clients/${created.body.clientId}`, {
      token: admin,
      body: { requestsPerSecond: null },
    });
    expect(reset.body).toMatchObject({ requestsPerSecond: null, burst: null });
    const listed = await call(hub, 'GET', '/api/v1/clients', { token: admin });
    expect(
      listed.body.items.find((client: { clientId: string }) => client.clientId === created.body.clientId),
    ).toMatchObject({
      requestsPerSecond: null,
    });
  });

  it('refuses a budget that cannot work, naming the field, and changes nothing', async () => {
    const below = await create({ name: 'x', role: 'storefront', requestsPerSecond: 10, burst: 5 });
    expect(below.status).toBe(422);
    expect(below.body.error).toMatchObject({ code: 'burst_below_rate', details: { field: 'burst' } });
    const zero = await create({ name: 'x', role: 'storefront', requestsPerSecond: 0 });
    expect(zero.status).toBe(400);
    expect(zero.body.error.details.issues[0].path).toBe('requestsPerSecond');
    const missing = await call(hub, 'PATCH', '/api/v1/clients/c-nobody', {
      token: admin,
      body: { requestsPerSecond: 5 },
    });
    expect(missing.status).toBe(404);
    const clients = await call(hub, 'GET', '/api/v1/clients', { token: admin });
    expect(clients.body.items.map((client: { name: string }) => client.name)).not.toContain('x');
  });
});
