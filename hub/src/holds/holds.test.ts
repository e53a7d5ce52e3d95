import { limits } from '@dovetail/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminToken,
  type Call,
  call,
  sofa,
  startSecondInstance,
  startTestHub,
  type TestHub,
} from '../testing/harness.ts';

// A thousand concurrent checkouts take seconds alone and much longer on a busy 2-core CI box: those
// tests carry their own generous timeout; nothing here asserts a duration.

/**
 * Checkout holds on both adapters: a flash sale never oversells, holds are all-or-nothing, and a
 * hold stops counting at its expiry for every reader, whatever the sweeper is doing.
 */
let hub: TestHub;
let token: string;
let clock: number;

const reserve = (body: unknown, headers: Record<string, string> = {}) =>
  call(hub, 'POST', '/api/v1/inventory/reserve', { token, body, headers });
const available = async (sku: string) =>
  (await call(hub, 'GET', `/api/v1/inventory/${sku}`, { token })).body.available as number;

async function stockThirdParty(target: TestHub, sku: string, onHand: number, warehouseId = 'TPL-1'): Promise<void> {
  const admin = await adminToken(target);
  await call(target, 'POST', '/api/v1/warehouses', {
    token: admin,
    body: { id: warehouseId, name: `3PL ${warehouseId}`, kind: '3pl', location: { lat: 51.9, lon: 4.5 } },
  });
  const stocked = await call(target, 'PUT', `/api/v1/warehouses/${warehouseId}/inventory/${sku}`, {
    token: admin,
    body: { onHand },
  });
  expect(stocked.status).toBe(200);
}

describe.each(['sqlite', 'postgres'] as const)('checkout holds on %s', (adapter) => {
  beforeEach(async () => {
    clock = Date.parse('2026-11-23T12:00:00Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    token = await adminToken(hub);
    for (const sku of ['SOFA-1', 'BED-1'])
      expect((await call(hub, 'POST', '/api/v1/products', { token, body: sofa(sku) })).status).toBe(201);
  });
  afterEach(() => hub.dispose());

  it('sells a 100-unit flash sale to exactly 100 of 1,000 concurrent checkouts', async () => {
    await stockThirdParty(hub, 'SOFA-1', 100);
    const results = await Promise.all(
      Array.from({ length: 1_000 }, () => reserve({ lines: [{ sku: 'SOFA-1', quantity: 1 }], ttlSeconds: 600 })),
    );
    const statuses = results.map((result) => result.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(100);
    expect(statuses.filter((status) => status === 409)).toHaveLength(900);
    const refused = results.find((result) => result.status === 409) as Call;
    expect(refused.body.error).toMatchObject({
      code: 'insufficient_stock',
      details: { sku: 'SOFA-1', quantity: 1, available: 0 },
    });
    expect(await available('SOFA-1')).toBe(0);
    const view = await call(hub, 'GET', '/api/v1/inventory/SOFA-1', { token });
    expect(view.body).toMatchObject({ onHand: 100, reserved: 100, available: 0 });
  }, 180_000);

  it('holds all lines or none, naming the line that does not fit', async () => {
    await stockThirdParty(hub, 'SOFA-1', 5);
    await call(hub, 'PUT', '/api/v1/warehouses/TPL-1/inventory/BED-1', { token, body: { onHand: 1 } });
    const refused = await reserve({
      lines: [
        { sku: 'SOFA-1', quantity: 2 },
        { sku: 'BED-1', quantity: 2 },
      ],
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.details).toEqual({ sku: 'BED-1', quantity: 2, available: 1 });
    expect(await available('SOFA-1')).toBe(5);
    const held = await reserve({
      lines: [
        { sku: 'SOFA-1', quantity: 2 },
        { sku: 'BED-1', quantity: 1 },
      ],
    });
    expect(held.status).toBe(201);
    expect(held.body.lines).toEqual([
      { sku: 'SOFA-1', quantity: 2, warehouseId: 'TPL-1' },
      { sku: 'BED-1', quantity: 1, warehouseId: 'TPL-1' },
    ]);
    expect(await available('SOFA-1')).toBe(3);
  });

  it('allocates with the shared strategy: one warehouse holding every line, else a split', async () => {
    await stockThirdParty(hub, 'SOFA-1', 2, 'TPL-A');
    await stockThirdParty(hub, 'SOFA-1', 5, 'TPL-B');
    await call(hub, 'PUT', '/api/v1/warehouses/TPL-B/inventory/BED-1', { token, body: { onHand: 1 } });
    const whole = await reserve({
      lines: [
        { sku: 'SOFA-1', quantity: 2 },
        { sku: 'BED-1', quantity: 1 },
      ],
    });
    expect(whole.body.lines).toEqual([
      { sku: 'SOFA-1', quantity: 2, warehouseId: 'TPL-B' },
      { sku: 'BED-1', quantity: 1, warehouseId: 'TPL-B' },
    ]);
    const split = await reserve({ lines: [{ sku: 'SOFA-1', quantity: 5 }] });
    expect(split.status).toBe(201);
    const lines = split.body.lines as Array<{ quantity: number; warehouseId: string }>;
    expect(lines.reduce((total, line) => total + line.quantity, 0)).toBe(5);
    expect(new Set(lines.map((line) => line.warehouseId))).toEqual(new Set(['TPL-A', 'TPL-B']));
    expect(await available('SOFA-1')).toBe(0);
  });

  it('stops counting a hold at expiresAt exactly, before any sweeper ran', async () => {
    await stockThirdParty(hub, 'SOFA-1', 3);
    const held = await reserve({ lines: [{ sku: 'SOFA-1', quantity: 3 }], ttlSeconds: 60 });
    expect(held.body.expiresAt).toBe(new Date(clock + 60_000).toISOString());
    clock += 59_999;
    expect(await available('SOFA-1')).toBe(0);
    expect((await reserve({ lines: [{ sku: 'SOFA-1', quantity: 1 }] })).status).toBe(409);
    clock += 1;
    expect(await available('SOFA-1')).toBe(3);
    expect((await call(hub, 'GET', `/api/v1/inventory/holds/${held.body.id}`, { token })).body.status).toBe('expired');
    const again = await reserve({ lines: [{ sku: 'SOFA-1', quantity: 3 }] });
    expect(again.status).toBe(201);
    expect(await available('SOFA-1')).toBe(0);
  });

  it('returns a released hold at once; releasing twice answers the same', async () => {
    await stockThirdParty(hub, 'SOFA-1', 2);
    const held = await reserve({ lines: [{ sku: 'SOFA-1', quantity: 2 }] });
    const released = await call(hub, 'POST', '/api/v1/inventory/release', { token, body: { holdId: held.body.id } });
    expect(released.status).toBe(200);
    expect(released.body.status).toBe('released');
    expect(await available('SOFA-1')).toBe(2);
    const twice = await call(hub, 'POST', '/api/v1/inventory/release', { token, body: { holdId: held.body.id } });
    expect(twice.body).toEqual(released.body);
    expect(await available('SOFA-1')).toBe(2);
    expect((await call(hub, 'POST', '/api/v1/inventory/release', { token, body: { holdId: 'nope' } })).status).toBe(
      404,
    );
  });

  it('replays a reserve with the same Idempotency-Key instead of holding twice', async () => {
    await stockThirdParty(hub, 'SOFA-1', 5);
    const body = { lines: [{ sku: 'SOFA-1', quantity: 2 }] };
    const first = await reserve(body, { 'idempotency-key': 'cart-42-attempt-1' });
    const second = await reserve(body, { 'idempotency-key': 'cart-42-attempt-1' });
    expect(second.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    expect(await available('SOFA-1')).toBe(3);
    expect(
      (await reserve({ lines: [{ sku: 'SOFA-1', quantity: 1 }] }, { 'idempotency-key': 'cart-42-attempt-1' })).status,
    ).toBe(422);
  });

  it('refuses bad holds: unknown SKU 404, TTL out of bounds and repeated SKUs 400, changing nothing', async () => {
    await stockThirdParty(hub, 'SOFA-1', 5);
    expect((await reserve({ lines: [{ sku: 'NOPE-1', quantity: 1 }] })).body.error.code).toBe('unknown_sku');
    expect(
      (await reserve({ lines: [{ sku: 'SOFA-1', quantity: 1 }], ttlSeconds: limits.holdTtlSecondsMax + 1 })).status,
    ).toBe(400);
    expect(
      (
        await reserve({
          lines: [
            { sku: 'SOFA-1', quantity: 1 },
            { sku: 'SOFA-1', quantity: 1 },
          ],
        })
      ).status,
    ).toBe(400);
    expect((await reserve({ lines: [{ sku: 'SOFA-1', quantity: 1 }], reserved: 0 })).status).toBe(400);
    expect(await available('SOFA-1')).toBe(5);
  });

  it("never holds units that are in the edge's in-store quota", async () => {
    await stockThirdParty(hub, 'SOFA-1', 10);
    await hub.storage.db.updateTable('stock_partitions').set({ edge_quota: 4 }).where('sku', '=', 'SOFA-1').execute();
    expect(await available('SOFA-1')).toBe(6);
    expect((await reserve({ lines: [{ sku: 'SOFA-1', quantity: 7 }] })).status).toBe(409);
    expect((await reserve({ lines: [{ sku: 'SOFA-1', quantity: 6 }] })).status).toBe(201);
  });

  it('settles expired lines out of the counters when the sweeper passes', async () => {
    const { sweepExpiredHolds } = await import('./service.ts');
    await stockThirdParty(hub, 'SOFA-1', 4);
    await reserve({ lines: [{ sku: 'SOFA-1', quantity: 4 }], ttlSeconds: 10 });
    clock += 10_000;
    expect(await sweepExpiredHolds(hub.storage.db, hub.storage.dialect, clock)).toBe(1);
    const row = await hub.storage.db
      .selectFrom('stock_partitions')
      .select('reserved')
      .where('sku', '=', 'SOFA-1')
      .executeTakeFirstOrThrow();
    expect(Number(row.reserved)).toBe(0);
    expect(await available('SOFA-1')).toBe(4);
  });
});

describe('checkout holds with two hub instances on one PostgreSQL database', () => {
  it('sell 100 units to exactly 100 of 1,000 checkouts split across both instances', async () => {
    hub = await startTestHub('postgres');
    try {
      const second = await startSecondInstance(hub);
      try {
        token = await adminToken(hub);
        expect((await call(hub, 'POST', '/api/v1/products', { token, body: sofa('SOFA-1') })).status).toBe(201);
        await stockThirdParty(hub, 'SOFA-1', 100);
        const secondToken = await adminToken(second);
        const results = await Promise.all(
          Array.from({ length: 1_000 }, (_, i) =>
            i % 2 === 0
              ? reserve({ lines: [{ sku: 'SOFA-1', quantity: 1 }] })
              : call(second, 'POST', '/api/v1/inventory/reserve', {
                  token: secondToken,
                  body: { lines: [{ sku: 'SOFA-1', quantity: 1 }] },
                }),
          ),
        );
        expect(results.filter((result) => result.status === 201)).toHaveLength(100);
        expect(results.filter((result) => result.status === 409)).toHaveLength(900);
        expect(await available('SOFA-1')).toBe(0);
      } finally {
        await second.close();
      }
    } finally {
      await hub.dispose();
    }
  }, 180_000);
});
