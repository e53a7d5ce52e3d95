import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestHub, adminToken, call, clientToken, sofa, startTestHub } from '../testing/harness.ts';

/** Carrier tracking: scans in (duplicated, out of order), shipment and order status out. */
let hub: TestHub;
let admin: string;
let clock: number;

async function client(body: Record<string, unknown>): Promise<string> {
  const created = await call(hub, 'POST', '/api/v1/clients', { token: admin, body });
  expect(created.status).toBe(201);
  return clientToken(hub, created.body.clientId, created.body.clientSecret);
}

/** An order shipped by a 3PL through the API, with one DHL shipment. */
async function shippedOrder(threePl: string): Promise<{ orderId: string; shipmentId: string }> {
  const placed = await call(hub, 'POST', '/api/v1/orders', {
    token: admin,
    body: {
      customer: { email: 'ada@example.com', name: 'Ada Lovelace' },
      shippingAddress: { line1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' },
      lines: [{ sku: 'SOFA-1', quantity: 1 }],
    },
  });
  expect(placed.status).toBe(201);
  const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
    token: admin,
    body: { reference: 'psp-1' },
  });
  expect(paid.status).toBe(200);
  const fulfillmentId = paid.body.fulfillments[0].id;
  expect(
    (await call(hub, 'POST', `/api/v1/fulfillment-orders/${fulfillmentId}/accept`, { token: threePl, body: {} }))
      .status,
  ).toBe(200);
  const shipped = await call(hub, 'POST', `/api/v1/fulfillment-orders/${fulfillmentId}/ship`, {
    token: threePl,
    body: { carrier: 'DHL', trackingNumber: 'JD014600003812345678' },
  });
  expect(shipped.status).toBe(200);
  const order = await call(hub, 'GET', `/api/v1/orders/${placed.body.id}`, { token: admin });
  expect(order.body.status).toBe('shipped');
  return { orderId: placed.body.id, shipmentId: order.body.shipments[0].id };
}

const scan = (token: string, shipmentId: string, body: Record<string, unknown>) =>
  call(hub, 'POST', `/api/v1/shipments/${shipmentId}/events`, { token, body });

describe.each(['sqlite', 'postgres'] as const)('carrier tracking on %s', (adapter) => {
  let threePl: string;
  let dhl: string;

  beforeEach(async () => {
    clock = Date.parse('2026-12-01T09:00:00Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    admin = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') })).status).toBe(201);
    for (const id of ['TPL', 'TPL2']) {
      await call(hub, 'POST', '/api/v1/warehouses', {
        token: admin,
        body: { id, name: id, kind: '3pl', location: { lat: 52.37, lon: 4.89 } },
      });
    }
    await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/SOFA-1', { token: admin, body: { onHand: 5 } });
    threePl = await client({ name: 'partner', role: '3pl', warehouses: ['TPL'] });
    dhl = await client({ name: 'dhl tracking', role: 'carrier', carrier: 'DHL' });
  });
  afterEach(() => hub.dispose());

  it('places scans by time whatever order they arrive in, counts each carrier event once, and delivers the order', async () => {
    const { orderId, shipmentId } = await shippedOrder(threePl);
    const inTransit = {
      carrierEventId: 'dhl-2',
      status: 'in_transit',
      occurredAt: '2026-12-02T06:00:00Z',
      location: 'Venlo hub',
      estimatedDeliveryAt: '2026-12-04T18:00:00Z',
    };
    const first = await scan(dhl, shipmentId, inTransit);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'in_transit', estimatedDeliveryAt: '2026-12-04T18:00:00.000Z' });
    const late = await scan(dhl, shipmentId, {
      carrierEventId: 'dhl-1',
      status: 'pre_transit',
      occurredAt: '2026-12-01T12:00:00Z',
    });
    expect(late.body.status).toBe('in_transit'); // older than what is known: history only
    const repeat = await scan(dhl, shipmentId, inTransit);
    expect(repeat.status).toBe(200);
    expect(repeat.body.events).toHaveLength(2);

    const delivered = await scan(dhl, shipmentId, {
      carrierEventId: 'dhl-4',
      status: 'delivered',
      occurredAt: '2026-12-03T15:00:00Z',
      description: 'Delivered, signed by A. Lovelace',
    });
    expect(delivered.body).toMatchObject({ status: 'delivered', deliveredAt: '2026-12-03T15:00:00.000Z' });
    const stray = await scan(dhl, shipmentId, {
      carrierEventId: 'dhl-3',
      status: 'out_for_delivery',
      occurredAt: '2026-12-03T07:00:00Z',
    });
    expect(stray.body.status).toBe('delivered');

    const tracking = await call(hub, 'GET', `/api/v1/orders/${orderId}/tracking`, { token: admin });
    expect(tracking.status).toBe(200);
    expect(tracking.body).toMatchObject({ status: 'delivered', deliveredAt: '2026-12-03T15:00:00.000Z' });
    expect(tracking.body.estimatedDeliveryAt).toBeUndefined();
    expect(tracking.body.shipments[0]).toMatchObject({
      carrier: 'DHL',
      trackingNumber: 'JD014600003812345678',
      trackingUrl: expect.stringContaining('JD014600003812345678'),
    });
    expect(tracking.body.shipments[0].events.map((e: { carrierEventId: string }) => e.carrierEventId)).toEqual([
      'dhl-1',
      'dhl-2',
      'dhl-3',
      'dhl-4',
    ]);
    const order = await call(hub, 'GET', `/api/v1/orders/${orderId}`, { token: admin });
    expect(order.body.status).toBe('delivered');
    expect(order.body.history.at(-1)).toMatchObject({ event: 'delivered', from: 'shipped', to: 'delivered' });
    const stored = await hub.storage.db.selectFrom('shipment_events').selectAll().execute();
    expect(stored).toHaveLength(4);
  });

  it('lets a carrier report only its own shipments and a 3PL only its warehouses', async () => {
    const { shipmentId } = await shippedOrder(threePl);
    const ups = await client({ name: 'ups tracking', role: 'carrier', carrier: 'UPS' });
    const otherPartner = await client({ name: 'other partner', role: '3pl', warehouses: ['TPL2'] });
    const body = { carrierEventId: 'x-1', status: 'in_transit', occurredAt: '2026-12-02T06:00:00Z' };
    expect((await scan(ups, shipmentId, body)).status).toBe(404);
    expect((await scan(otherPartner, shipmentId, body)).status).toBe(404);
    expect((await scan(threePl, shipmentId, body)).status).toBe(201);
    expect((await hub.storage.db.selectFrom('shipment_events').selectAll().execute()).length).toBe(1);
    const storefront = await client({ name: 'shop', role: 'storefront' });
    expect((await scan(storefront, shipmentId, { ...body, carrierEventId: 'x-2' })).status).toBe(403);
  });

  it('refuses a scan it cannot place with a 400 naming the field, storing nothing', async () => {
    const { shipmentId } = await shippedOrder(threePl);
    const bad = await scan(dhl, shipmentId, { carrierEventId: 'e 1', status: 'lost', occurredAt: 'yesterday' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues.map((issue: { path: string }) => issue.path).sort()).toEqual([
      'carrierEventId',
      'occurredAt',
      'status',
    ]);
    expect(await hub.storage.db.selectFrom('shipment_events').selectAll().execute()).toEqual([]);
    expect(
      (
        await scan(dhl, 'no-such-shipment', {
          carrierEventId: 'e1',
          status: 'in_transit',
          occurredAt: '2026-12-02T06:00:00Z',
        })
      ).status,
    ).toBe(404);
  });

  it('records a shipment made by hand, tracked like the others, and lists an order’s shipments', async () => {
    const { orderId } = await shippedOrder(threePl);
    const made = await call(hub, 'POST', '/api/v1/shipments', {
      token: admin,
      body: { orderId, carrier: 'DHL', trackingNumber: 'JD0000REPLACEMENT1', lines: [{ sku: 'SOFA-1', quantity: 1 }] },
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ status: 'in_transit', warehouseId: 'TPL', events: [] });
    const listed = await call(hub, 'GET', `/api/v1/shipments/${orderId}`, { token: admin });
    expect(listed.body.items.map((s: { trackingNumber: string }) => s.trackingNumber)).toEqual([
      'JD014600003812345678',
      'JD0000REPLACEMENT1',
    ]);
    const shop = await client({ name: 'shop', role: 'storefront' });
    expect((await call(hub, 'GET', `/api/v1/shipments/${orderId}`, { token: shop })).status).toBe(404);
    expect((await call(hub, 'GET', `/api/v1/orders/${orderId}/tracking`, { token: shop })).status).toBe(404);
  });
});
