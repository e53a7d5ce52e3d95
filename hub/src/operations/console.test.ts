import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminToken, call, sofa, startTestHub, type TestHub } from '../testing/harness.ts';
import {
  holdsForSku,
  orderCounts,
  shortagesOverview,
  stockHistory,
  stockRows,
  stuckOrders,
  syncLagHistory,
} from './console.ts';

/**
 * The operations console's read models on both adapters, over state made through the hub's API
 * (3PL warehouses, orders, payments, rejections, cancel requests) and, for the ledger charts, rows
 * of the replicated stock ledger as the sync session writes them.
 */
let hub: TestHub;
let token: string;
let clock: number;
const hour = 3_600_000;

const customer = { email: 'ines@example.com', name: 'Inès Laurent' };
const shippingAddress = {
  line1: 'Keizersgracht 1',
  city: 'Amsterdam',
  postalCode: '1015 CJ',
  country: 'NL',
  location: { lat: 52.37, lon: 4.89 },
};

async function warehouse(id: string, lat: number, stock: Record<string, number>): Promise<void> {
  const created = await call(hub, 'POST', '/api/v1/warehouses', {
    token,
    body: { id, name: id, kind: '3pl', location: { lat, lon: 4.89 } },
  });
  expect(created.status).toBe(201);
  for (const [sku, onHand] of Object.entries(stock)) {
    const put = await call(hub, 'PUT', `/api/v1/warehouses/${id}/inventory/${sku}`, { token, body: { onHand } });
    expect(put.status).toBe(200);
  }
}

async function placeOrder(sku: string, quantity: number): Promise<{ id: string; number: string }> {
  const placed = await call(hub, 'POST', '/api/v1/orders', {
    token,
    body: { customer, shippingAddress, lines: [{ sku, quantity }] },
  });
  expect(placed.status).toBe(201);
  return placed.body;
}

async function paidOrder(
  sku: string,
  quantity: number,
): Promise<{ id: string; number: string; fulfillmentId: string }> {
  const placed = await placeOrder(sku, quantity);
  const paid = await call(hub, 'POST', `/api/v1/orders/${placed.id}/payment`, {
    token,
    body: { reference: `psp-${placed.id}` },
  });
  expect(paid.status).toBe(200);
  return { ...placed, fulfillmentId: paid.body.fulfillments[0].id };
}

describe.each(['sqlite', 'postgres'] as const)('the operations console read models on %s', (adapter) => {
  beforeEach(async () => {
    clock = Date.parse('2026-11-23T12:00:00Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    token = await adminToken(hub);
    const product = {
      ...sofa('SOFA-1'),
      variants: [
        { sku: 'SOFA-1', options: { color: 'grey' } },
        { sku: 'SOFA-2', options: { color: 'sand' } },
      ],
    };
    expect((await call(hub, 'POST', '/api/v1/products', { token, body: product })).status).toBe(201);
    await warehouse('AMS', 52.37, { 'SOFA-1': 5, 'SOFA-2': 1 });
    await warehouse('PAR', 48.86, { 'SOFA-1': 2 });
  });
  afterEach(() => hub.dispose());

  it('lists stock per SKU and warehouse with every quantity, scoped and filtered', async () => {
    await placeOrder('SOFA-1', 2); // held at AMS, the nearest
    await paidOrder('SOFA-2', 1); // allocated at AMS
    const rows = await stockRows(hub.deps.db, {}, '*', clock);
    expect(rows).toEqual([
      expect.objectContaining({
        sku: 'SOFA-1',
        warehouseId: 'AMS',
        onHand: 5,
        reserved: 2,
        committed: 0,
        available: 3,
      }),
      expect.objectContaining({ sku: 'SOFA-1', warehouseId: 'PAR', onHand: 2, reserved: 0, available: 2 }),
      expect.objectContaining({ sku: 'SOFA-2', warehouseId: 'AMS', onHand: 1, committed: 1, available: 0 }),
    ]);
    expect((await stockRows(hub.deps.db, { skuPrefix: 'SOFA-2' }, '*', clock)).map((row) => row.sku)).toEqual([
      'SOFA-2',
    ]);
    expect((await stockRows(hub.deps.db, {}, ['PAR'], clock)).map((row) => row.warehouseId)).toEqual(['PAR']);
    expect(await stockRows(hub.deps.db, {}, [], clock)).toEqual([]);
  });

  it('shows the holds in force for a SKU and the allocations to paid orders, not expired holds', async () => {
    await placeOrder('SOFA-1', 2);
    const paid = await paidOrder('SOFA-1', 1);
    const inForce = await holdsForSku(hub.deps.db, 'SOFA-1', '*', clock);
    expect(inForce.holds).toEqual([expect.objectContaining({ warehouseId: 'AMS', quantity: 2 })]);
    expect(inForce.allocations).toEqual([
      expect.objectContaining({ orderNumber: paid.number, warehouseId: 'AMS', quantity: 1 }),
    ]);
    clock += 24 * hour; // every checkout hold has expired by now
    expect((await holdsForSku(hub.deps.db, 'SOFA-1', '*', clock)).holds).toEqual([]);
    expect((await holdsForSku(hub.deps.db, 'SOFA-1', ['PAR'], clock)).allocations).toEqual([]);
  });

  it('puts orders that need a person first: unallocated, fulfillment overdue, cancel requested', async () => {
    const late = await paidOrder('SOFA-1', 1);
    clock += 2 * hour;
    token = await adminToken(hub); // the first token expired meanwhile
    const canceling = await paidOrder('SOFA-1', 1);
    expect((await call(hub, 'POST', `/api/v1/orders/${canceling.id}/cancel`, { token, body: {} })).body.status).toBe(
      'cancel_requested',
    );
    // AMS refuses SOFA-2 and no other warehouse has one: the paid order waits with nothing allocated.
    const short = await paidOrder('SOFA-2', 1);
    const rejected = await call(hub, 'POST', `/api/v1/fulfillment-orders/${short.fulfillmentId}/reject`, {
      token,
      body: { reason: 'damaged in storage' },
    });
    expect(rejected.status).toBe(200);

    const stuck = await stuckOrders(hub.deps.db, clock, { fulfillmentOverdueMs: hour });
    expect(stuck.map((order) => [order.reason, order.orderNumber])).toEqual([
      ['paid_unallocated', short.number],
      ['fulfillment_overdue', late.number],
      ['cancel_requested', canceling.number],
    ]);
    expect(stuck[1]).toMatchObject({ warehouseId: 'AMS', since: clock - 2 * hour });
    // A longer threshold: the fulfillment is not late yet.
    const patient = await stuckOrders(hub.deps.db, clock, { fulfillmentOverdueMs: 3 * hour });
    expect(patient.map((order) => order.reason)).toEqual(['paid_unallocated', 'cancel_requested']);

    const { backorders } = await shortagesOverview(hub.deps.db, '*');
    expect(backorders).toEqual([expect.objectContaining({ orderNumber: short.number, sku: 'SOFA-2', quantity: 1 })]);
    expect((await shortagesOverview(hub.deps.db, ['PAR'])).backorders).toEqual([]);

    await placeOrder('SOFA-1', 1);
    const counts = await orderCounts(hub.deps.db, clock);
    expect(counts).toMatchObject({ pending_payment: 1, processing: 2, cancel_requested: 1, expired: 0 });
    clock += 24 * hour; // the unpaid order's hold lapses: it reads expired
    expect(await orderCounts(hub.deps.db, clock)).toMatchObject({ pending_payment: 0, expired: 1 });
  });

  it('draws on-hand per warehouse back through the ledger, and the scan-to-hub lag', async () => {
    const events = [
      {
        seq: 1,
        at: clock - 3 * hour,
        applied: clock - 3 * hour + 2_000,
        body: { sku: 'SOFA-1', type: 'receive', quantity: 3 },
      },
      {
        seq: 2,
        at: clock - hour,
        applied: clock - hour + 30_000,
        body: { sku: 'SOFA-1', type: 'transfer_out', quantity: 1, transferId: 'T-1', toWarehouseId: 'PAR' },
      },
      {
        seq: 3,
        at: clock - 30 * 60_000,
        applied: clock - 30 * 60_000 + 1_000,
        body: { sku: 'SOFA-1', type: 'move', quantity: 1, fromBin: 'A', toBin: 'B' },
      },
    ];
    for (const event of events) {
      await hub.deps.db
        .insertInto('stock_events')
        .values({
          warehouse_id: 'AMS',
          edge_id: 'edge-ams',
          edge_seq: event.seq,
          event_id: `evt-${event.seq}`,
          sku: 'SOFA-1',
          type: event.body.type,
          hlc: `${event.at}-0`,
          at_ms: event.at,
          event_json: JSON.stringify(event.body),
          applied_at: event.applied,
        })
        .execute();
    }
    const day = 24 * hour;
    const series = await stockHistory(hub.deps.db, '*', clock, { windowMs: day, eventsMax: 100 });
    // AMS holds 5 + 1 now; before the transfer out it held 7, before the receive 4.
    expect(series.find((one) => one.warehouseId === 'AMS')?.points).toEqual([
      { at: clock - day, value: 4 },
      { at: clock - 3 * hour, value: 4 },
      { at: clock - 3 * hour, value: 7 },
      { at: clock - hour, value: 7 },
      { at: clock - hour, value: 6 },
      { at: clock - 30 * 60_000, value: 6 },
      { at: clock - 30 * 60_000, value: 6 },
      { at: clock, value: 6 },
    ]);
    expect(series.find((one) => one.warehouseId === 'PAR')?.points).toEqual([
      { at: clock - day, value: 2 },
      { at: clock, value: 2 },
    ]);
    // Fewer events read than the ledger holds: the series starts at the oldest one read.
    const partial = await stockHistory(hub.deps.db, ['AMS'], clock, { windowMs: day, eventsMax: 2 });
    expect(partial.map((one) => one.warehouseId)).toEqual(['AMS']);
    expect(partial[0]?.points[0]).toEqual({ at: clock - hour, value: 7 });

    const lag = await syncLagHistory(hub.deps.db, '*', clock, { windowMs: day, eventsMax: 100, slots: 24 });
    expect(lag.map((one) => one.warehouseId)).toEqual(['AMS']);
    // One point per hour slot, the worst lag in it: the last two events share the last hour.
    expect(lag[0]?.points.map((point) => point.value)).toEqual([2, 30]);
  });
});
