import { limits } from '@dovetail/shared';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestHub, adapters, adminToken, call, clientToken, sofa, startTestHub } from '../testing/harness.ts';
import { sweepExpiredHolds } from './service.ts';

/**
 * The hold cap (docs/operations.md, "Hold cap"): units one client holds of one SKU at once, checked by
 * the statement that takes the hold (the SQLite group commit; `dovetail_reserve_many` and
 * `dovetail_reserve` on PostgreSQL), so a burst from one client stops at the cap exactly.
 */
describe.each(adapters)('hold cap per client and SKU on %s', (adapter) => {
  let hub: TestHub;
  let admin: string;
  let clock: number;

  beforeEach(async () => {
    clock = Date.parse('2026-12-07T12:00:00Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    admin = await adminToken(hub);
    for (const sku of ['SOFA-1', 'BED-1', 'LAMP-1'])
      expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa(sku) })).status).toBe(201);
    for (const id of ['TPL-A', 'TPL-B'])
      expect(
        (
          await call(hub, 'POST', '/api/v1/warehouses', {
            token: admin,
            body: { id, name: id, kind: '3pl', location: { lat: 51.9, lon: 4.5 } },
          })
        ).status,
      ).toBe(201);
    await stock('TPL-A', 'SOFA-1', 500);
    await stock('TPL-A', 'BED-1', 500);
    // Two warehouses: these holds are planned (dovetail_reserve on PostgreSQL), not batched; TPL-A
    // runs out within a burst, so one client's concurrent holds take different partitions.
    await stock('TPL-A', 'LAMP-1', 20);
    await stock('TPL-B', 'LAMP-1', 300);
  });
  afterEach(() => hub.dispose());

  async function stock(warehouseId: string, sku: string, onHand: number): Promise<void> {
    const response = await call(hub, 'PUT', `/api/v1/warehouses/${warehouseId}/inventory/${sku}`, {
      token: admin,
      body: { onHand },
    });
    expect(response.status).toBe(200);
  }

  async function storefront(body: Record<string, unknown> = {}) {
    const created = await call(hub, 'POST', '/api/v1/clients', {
      token: admin,
      body: { name: 'storefront', role: 'storefront', ...body },
    });
    expect(created.status).toBe(201);
    return {
      id: created.body.clientId as string,
      view: created.body,
      token: await clientToken(hub, created.body.clientId, created.body.clientSecret),
    };
  }

  const reserve = (token: string, sku: string, quantity: number, ttlSeconds = 600) =>
    call(hub, 'POST', '/api/v1/inventory/reserve', { token, body: { lines: [{ sku, quantity }], ttlSeconds } });

  const reservedUnits = async (sku: string) => {
    const rows = await hub.storage.db
      .selectFrom('stock_partitions')
      .select('reserved')
      .where('sku', '=', sku)
      .execute();
    return rows.reduce((sum, row) => sum + Number(row.reserved), 0);
  };

  const heldBy = async (clientId: string, sku: string) => {
    const rows = await hub.storage.db
      .selectFrom('hold_lines as l')
      .innerJoin('holds as h', 'h.id', 'l.hold_id')
      .select('l.quantity')
      .where('h.client_id', '=', clientId)
      .where('l.sku', '=', sku)
      .where('l.counted', '=', 1)
      .execute();
    return rows.reduce((sum, row) => sum + Number(row.quantity), 0);
  };

  /**
   * The counters the cap reads must equal the lines: SQLite keeps a row per client and SKU (0033's
   * triggers), PostgreSQL a row per client, SKU and warehouse (0035's statement triggers).
   */
  async function expectHeldUnitsKept(): Promise<void> {
    const kept = await (adapter === 'sqlite'
      ? sql<{ client_id: string; sku: string; units: number }>`
      select client_id, sku, units from client_held_units where units <> 0 order by client_id, sku`
      : sql<{ client_id: string; sku: string; units: number }>`
      select client_id, sku, sum(units) as units from client_partition_held
      group by client_id, sku having sum(units) <> 0 order by client_id, sku`
    ).execute(hub.storage.db);
    const summed = await sql<{ client_id: string; sku: string; units: number }>`
      select client_id, sku, sum(quantity) as units from hold_lines where counted = 1 and client_id is not null
      group by client_id, sku order by client_id, sku`.execute(hub.storage.db);
    expect(kept.rows.map((row) => ({ ...row, units: Number(row.units) }))).toEqual(
      summed.rows.map((row) => ({ ...row, units: Number(row.units) })),
    );
  }

  it("stops a storefront client at the hub's default; renewals count, releases and expiry free units", async () => {
    const shop = await storefront();
    expect(shop.view).toMatchObject({ holdUnitsPerSkuMax: null });
    const cap = limits.holdUnitsPerSkuMaxDefault;
    const first = await reserve(shop.token, 'SOFA-1', 30);
    expect(first.status).toBe(201);
    const before = await reservedUnits('SOFA-1');
    const over = await reserve(shop.token, 'SOFA-1', cap - 30 + 1);
    expect(over.status).toBe(409);
    expect(over.body.error).toMatchObject({
      code: 'hold_cap_exceeded',
      details: { sku: 'SOFA-1', cap, held: 30, requested: cap - 30 + 1 },
    });
    expect(over.body.error.message).toContain('SOFA-1');
    expect(over.body.error.message).toContain(String(cap));
    // A refused hold takes nothing.
    expect(await reservedUnits('SOFA-1')).toBe(before);
    expect((await reserve(shop.token, 'SOFA-1', cap - 30)).status).toBe(201);
    // Renewing (a new hold while the old ones are active) counts like any hold.
    expect((await reserve(shop.token, 'SOFA-1', 1)).body.error.code).toBe('hold_cap_exceeded');
    // Another SKU and another client have their own allowance.
    expect((await reserve(shop.token, 'BED-1', cap)).status).toBe(201);
    const other = await storefront();
    expect((await reserve(other.token, 'SOFA-1', cap)).status).toBe(201);
    // A release gives the units back to the allowance.
    const released = await call(hub, 'POST', '/api/v1/inventory/release', {
      token: shop.token,
      body: { holdId: first.body.id },
    });
    expect(released.status).toBe(200);
    expect((await reserve(shop.token, 'SOFA-1', 30)).status).toBe(201);
    expect((await reserve(shop.token, 'SOFA-1', 1)).status).toBe(409);
    // Expired holds no longer count.
    clock += 601_000;
    expect((await reserve(shop.token, 'SOFA-1', cap)).status).toBe(201);
    expect(await heldBy(shop.id, 'SOFA-1')).toBe(cap);
    await expectHeldUnitsKept();
  });

  it('keeps the counters equal to the lines through an order paid over a hold and the expiry sweeper', async () => {
    const shop = await storefront({ holdUnitsPerSkuMax: 10 });
    const held = await reserve(shop.token, 'SOFA-1', 6);
    expect(held.status).toBe(201);
    expect((await reserve(shop.token, 'BED-1', 4, 60)).status).toBe(201);
    await expectHeldUnitsKept();
    const placed = await call(hub, 'POST', '/api/v1/orders', {
      token: shop.token,
      body: {
        holdId: held.body.id,
        customer: { email: 'ines@example.com', name: 'Inès Laurent' },
        shippingAddress: { line1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' },
      },
    });
    expect(placed.status).toBe(201);
    const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
      token: admin,
      body: { reference: 'psp_1' },
    });
    expect(paid.status).toBe(200);
    // Paid: the hold's units are committed to the order, no longer held against the cap.
    expect(await heldBy(shop.id, 'SOFA-1')).toBe(0);
    expect((await reserve(shop.token, 'SOFA-1', 10)).status).toBe(201);
    await expectHeldUnitsKept();
    // The BED-1 hold expires and the sweeper settles it: the counter follows.
    clock += 61_000;
    await sweepExpiredHolds(hub.storage.db, adapter, clock);
    expect(await heldBy(shop.id, 'BED-1')).toBe(0);
    await expectHeldUnitsKept();
  });

  it("takes a client's own cap from POST and PATCH; null gives the default back; admins have none by default", async () => {
    const shop = await storefront({ holdUnitsPerSkuMax: 5 });
    expect(shop.view).toMatchObject({ holdUnitsPerSkuMax: 5 });
    expect((await reserve(shop.token, 'SOFA-1', 5)).status).toBe(201);
    expect((await reserve(shop.token, 'SOFA-1', 1)).body.error).toMatchObject({
      code: 'hold_cap_exceeded',
      details: { sku: 'SOFA-1', cap: 5, held: 5, requested: 1 },
    });
    const raised = await call(hub, 'PATCH', `/api/v1/clients/${shop.id}`, {
      token: admin,
      body: { holdUnitsPerSkuMax: 8 },
    });
    expect(raised.status).toBe(200);
    // The request budget is left as it was.
    expect(raised.body).toMatchObject({ holdUnitsPerSkuMax: 8, requestsPerSecond: null, burst: null });
    expect((await reserve(shop.token, 'SOFA-1', 3)).status).toBe(201);
    expect((await reserve(shop.token, 'SOFA-1', 1)).status).toBe(409);
    const reset = await call(hub, 'PATCH', `/api/v1/clients/${shop.id}`, {
      token: admin,
      body: { holdUnitsPerSkuMax: null },
    });
    expect(reset.body).toMatchObject({ holdUnitsPerSkuMax: null });
    expect((await reserve(shop.token, 'SOFA-1', limits.holdUnitsPerSkuMaxDefault - 8)).status).toBe(201);
    expect((await reserve(shop.token, 'SOFA-1', 1)).status).toBe(409);
    for (const bad of [0, -1, 1.5, limits.quantityMax + 1]) {
      const refused = await call(hub, 'PATCH', `/api/v1/clients/${shop.id}`, {
        token: admin,
        body: { holdUnitsPerSkuMax: bad },
      });
      expect(refused.status).toBe(400);
    }
    // The default is for storefront clients; an admin (operators, imports) holds what stock allows.
    expect((await reserve(admin, 'SOFA-1', 120)).status).toBe(201);
  });

  it('stops a concurrent burst from one client at the cap exactly, batched and planned', async () => {
    const shop = await storefront({ holdUnitsPerSkuMax: 37 });
    for (const sku of ['SOFA-1', 'LAMP-1']) {
      const answers = await Promise.all(Array.from({ length: 150 }, () => reserve(shop.token, sku, 1)));
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.filter((status) => status === 201)).toHaveLength(37);
      expect(statuses.filter((status) => status === 409)).toHaveLength(150 - 37);
      expect(
        answers
          .filter((answer) => answer.status === 409)
          .every((answer) => answer.body.error.code === 'hold_cap_exceeded'),
      ).toBe(true);
      expect(await heldBy(shop.id, sku)).toBe(37);
      expect(await reservedUnits(sku)).toBe(37);
    }
    const lampWarehouses = await hub.storage.db
      .selectFrom('hold_lines')
      .select('warehouse_id')
      .distinct()
      .where('sku', '=', 'LAMP-1')
      .execute();
    expect(lampWarehouses.map((row) => row.warehouse_id).sort()).toEqual(['TPL-A', 'TPL-B']);
    await expectHeldUnitsKept();
  });
});

describe('hold cap on the planned PostgreSQL path', () => {
  it('serializes one client’s planned holds on different partitions of a SKU (the (client, sku) lock)', async () => {
    const hub = await startTestHub('postgres');
    try {
      const admin = await adminToken(hub);
      expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('LAMP-1') })).status).toBe(201);
      for (const id of ['TPL-A', 'TPL-B']) {
        await call(hub, 'POST', '/api/v1/warehouses', {
          token: admin,
          body: { id, name: id, kind: '3pl', location: { lat: 51.9, lon: 4.5 } },
        });
        await call(hub, 'PUT', `/api/v1/warehouses/${id}/inventory/LAMP-1`, { token: admin, body: { onHand: 500 } });
      }
      const created = await call(hub, 'POST', '/api/v1/clients', {
        token: admin,
        body: { name: 'storefront', role: 'storefront', holdUnitsPerSkuMax: 25 },
      });
      const clientId = created.body.clientId as string;
      const now = Date.now();
      // What reserveHold sends after planning, alternating the two warehouses, as concurrently as the pool allows.
      const outcomes = await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          sql`select dovetail_reserve(${`hold-${i}`}, ${clientId}, ${now}::bigint, ${now + 600_000}::bigint,
            ${[i % 2 === 0 ? 'TPL-A' : 'TPL-B']}::text[], ${['LAMP-1']}::text[], ${[1]}::bigint[], ${null}::bigint)`
            .execute(hub.storage.db)
            .then(
              () => 'taken',
              (error: { code?: string }) => error.code ?? 'error',
            ),
        ),
      );
      expect(outcomes.filter((outcome) => outcome === 'taken')).toHaveLength(25);
      expect(outcomes.filter((outcome) => outcome === 'DT429')).toHaveLength(95);
    } finally {
      await hub.dispose();
    }
  });
});
